"""``cdi configure``: planned config files for docker, containerd, cri-o and podman."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from cdikit.cli._configure import register
from cdikit.integrations.consumers.configure import (
    BACKUP_SUFFIX,
    ConfigureError,
    apply_change,
    plan_containerd,
    plan_crio,
    plan_docker,
    plan_podman,
)

SHIM = "/usr/local/bin/cdi-runtime"
CRI17 = ("plugins", "io.containerd.grpc.v1.cri")
CRI2 = ("plugins", "io.containerd.cri.v1.runtime")


def _dig(doc: dict[str, object], *keys: str) -> object:
    node: object = doc
    for key in keys:
        assert isinstance(node, dict), (keys, node)
        node = node[key]
    return node


@pytest.mark.parametrize(
    ("existing", "expect"),
    [
        (None, {"features": {"cdi": True}, "runtimes": {"cdi": {"path": SHIM}}}),
        ('{"log-level": "warn", "features": {"buildkit": true}}',
         {"log-level": "warn", "features": {"buildkit": True, "cdi": True}, "runtimes": {"cdi": {"path": SHIM}}}),
        ('{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}',
         {"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}, "cdi": {"path": SHIM}},
          "features": {"cdi": True}}),
        ("", {"features": {"cdi": True}, "runtimes": {"cdi": {"path": SHIM}}}),
    ],
)  # fmt: skip
def test_docker(tmp_path: Path, existing: str | None, expect: dict[str, object]) -> None:
    path = tmp_path / "daemon.json"
    if existing is not None:
        path.write_text(existing, encoding="utf-8")
    change = plan_docker(str(path), runtime_path=SHIM)
    assert change.changed
    assert json.loads(change.new) == expect
    assert '+    "features"' in change.diff() or '"cdi": true' in change.diff()
    path.write_text(change.new, encoding="utf-8")
    assert not plan_docker(str(path), runtime_path=SHIM).changed  # idempotent


def test_docker_spec_dirs_and_default(tmp_path: Path) -> None:
    change = plan_docker(
        str(tmp_path / "d.json"), runtime_path=SHIM, spec_dirs=["/opt/cdi"], set_default=True
    )
    doc = json.loads(change.new)
    assert doc["cdi-spec-dirs"] == ["/opt/cdi"]
    assert doc["default-runtime"] == "cdi"


@pytest.mark.parametrize(("text", "message"), [("{", "not valid JSON"), ("[]", "not a JSON object"),
                                               ('{"features": 1}', "'features' is not an object")])  # fmt: skip
def test_docker_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigureError, match=message):
        plan_docker(str(path), runtime_path=SHIM)


CONTAINERD_EXISTING = """\
version = 2
# keep this comment
root = "/var/lib/containerd"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  enable_cdi = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
"""


@pytest.mark.parametrize("existing", [None, CONTAINERD_EXISTING])
def test_containerd_16_registers_the_runtime(tmp_path: Path, existing: str | None) -> None:
    path = tmp_path / "config.toml"
    if existing is not None:
        path.write_text(existing, encoding="utf-8")
    change = plan_containerd(str(path), version="1.6.20", runtime_path=SHIM, set_default=True)
    doc = tomllib.loads(change.new)
    runtime = _dig(doc, *CRI17, "containerd", "runtimes", "cdi")
    assert runtime == {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": SHIM}}
    assert _dig(doc, *CRI17, "containerd", "default_runtime_name") == "cdi"
    assert doc["version"] == 2
    if existing is not None:
        assert "# keep this comment" in change.new
        assert _dig(doc, *CRI17, "enable_cdi") is False  # 1.6: untouched, it has no such thing
        assert _dig(doc, *CRI17, "containerd", "runtimes", "runc", "runtime_type") == "io.containerd.runc.v2"
    path.write_text(change.new, encoding="utf-8")
    assert not plan_containerd(str(path), version="1.6.20", runtime_path=SHIM, set_default=True).changed


def test_containerd_17_enables_native_cdi(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONTAINERD_EXISTING, encoding="utf-8")
    change = plan_containerd(str(path), version="1.7.2", spec_dirs=["/etc/cdi", "/opt/cdi"])
    doc = tomllib.loads(change.new)
    assert _dig(doc, *CRI17, "enable_cdi") is True
    assert _dig(doc, *CRI17, "cdi_spec_dirs") == ["/etc/cdi", "/opt/cdi"]
    assert _dig(doc, *CRI17, "sandbox_image") == "registry.k8s.io/pause:3.6"
    assert "-  enable_cdi = false" in change.diff()
    assert "+  enable_cdi = true" in change.diff()


def test_containerd_2_uses_the_new_plugin(tmp_path: Path) -> None:
    change = plan_containerd(str(tmp_path / "config.toml"), version="2.1.0")
    doc = tomllib.loads(change.new)
    assert doc["version"] == 3
    assert _dig(doc, *CRI2, "enable_cdi") is True


def test_containerd_refusals(tmp_path: Path) -> None:
    with pytest.raises(ConfigureError, match="has no CDI support"):
        plan_containerd(str(tmp_path / "c.toml"), version="1.6.20", native=True)
    with pytest.raises(ConfigureError, match="nothing to configure"):
        plan_containerd(str(tmp_path / "c.toml"), version="1.6.20")
    dotted = tmp_path / "dotted.toml"
    dotted.write_text(
        'version = 2\nplugins."io.containerd.grpc.v1.cri".enable_cdi = false\n', encoding="utf-8"
    )
    with pytest.raises(ConfigureError, match="set by hand"):
        plan_containerd(str(dotted), version="1.7.0")
    old = tmp_path / "v1.toml"
    old.write_text("[plugins.cri]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ConfigureError, match="config version 1"):
        plan_containerd(str(old), version="1.7.0")


@pytest.mark.skipif(shutil.which("containerd") is None, reason="containerd is not installed")
def test_real_containerd_accepts_the_file(tmp_path: Path) -> None:
    """containerd itself parses the generated config and sees the cdi runtime."""
    path = tmp_path / "config.toml"
    path.write_text(CONTAINERD_EXISTING, encoding="utf-8")
    change = plan_containerd(str(path), runtime_path=SHIM)  # version asked from the installed containerd
    path.write_text(change.new, encoding="utf-8")
    dump = subprocess.run(["containerd", "--config", str(path), "config", "dump"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert dump.returncode == 0, dump.stderr
    assert f'BinaryName = "{SHIM}"' in dump.stdout
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cdi]' in dump.stdout


def test_crio_drop_in(tmp_path: Path) -> None:
    change = plan_crio(str(tmp_path / "99-cdikit.conf"), runtime_path=SHIM, spec_dirs=["/etc/cdi"])
    doc = tomllib.loads(change.new)
    assert doc["crio"]["runtime"]["cdi_spec_dirs"] == ["/etc/cdi"]
    assert doc["crio"]["runtime"]["runtimes"]["cdi"]["runtime_path"] == SHIM


def test_podman_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "containers.conf"
    path.write_text('[containers]\ndefault_ulimits = ["nofile=20000:20000"]\n\n[engine]\n# my runtime\n'
                    'runtime = "runc"\n', encoding="utf-8")  # fmt: skip
    change = plan_podman(str(path), runtime_path=SHIM)
    doc = tomllib.loads(change.new)
    assert doc["engine"]["cdi_spec_dirs"] == ["/etc/cdi", "/var/run/cdi"]
    assert doc["engine"]["runtime"] == "runc"
    assert doc["engine"]["runtimes"]["cdi"] == [SHIM]
    assert doc["containers"]["default_ulimits"] == ["nofile=20000:20000"]
    assert "# my runtime" in change.new


def test_apply_keeps_mode_and_backup(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}', encoding="utf-8")
    path.chmod(0o600)
    change = plan_docker(str(path), runtime_path=SHIM)
    backup = apply_change(change)
    assert backup == str(path) + BACKUP_SUFFIX
    assert Path(backup).read_text(encoding="utf-8") == '{"debug": true}'
    assert json.loads(path.read_text(encoding="utf-8"))["features"] == {"cdi": True}
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert apply_change(plan_docker(str(path), runtime_path=SHIM)) is None  # nothing to do


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cdi")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_dry_run_then_apply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "daemon.json"
    path.write_text("{}", encoding="utf-8")
    assert _cli(["configure", "docker", "--config", str(path), "--runtime-path", SHIM]) == 0
    out = capsys.readouterr().out
    assert f"+++ {path}" in out and "dry run" in out
    assert path.read_text(encoding="utf-8") == "{}"  # dry run: untouched
    assert _cli(["configure", "docker", "--config", str(path), "--runtime-path", SHIM, "--apply"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert json.loads(path.read_text(encoding="utf-8"))["runtimes"]["cdi"]["path"] == SHIM
    assert _cli(["configure", "docker", "--config", str(path), "--runtime-path", SHIM]) == 0
    assert "already configured" in capsys.readouterr().out


def test_cli_containerd_16_auto_registers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    rc = _cli(["configure", "containerd", "--config", str(path), "--containerd-version", "1.6.20",
               "--runtime-path", SHIM, "--apply", "--no-backup"])  # fmt: skip
    assert rc == 0
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert _dig(doc, *CRI17, "containerd", "runtimes", "cdi", "options", "BinaryName") == SHIM
    assert _cli(["configure", "containerd", "--config", str(path), "--containerd-version", "1.6",
                 "--runtime", "no"]) == 1  # fmt: skip
    assert "nothing to configure" in capsys.readouterr().err
