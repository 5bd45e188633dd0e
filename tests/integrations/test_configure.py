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
from tests.e2e.consumers._containerd import DEBIAN_CONFIG as DEBIAN_CONTAINERD

SHIM = "/usr/local/bin/cdi-runtime"
CRI17 = ("plugins", "io.containerd.grpc.v1.cri")
CRI2 = ("plugins", "io.containerd.cri.v1.runtime")


@pytest.fixture(autouse=True)
def _runtime_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cdi-runtime's config file, written next to the engine's (never /etc/cdikit)."""
    path = tmp_path / "cdikit" / "runtime.toml"
    monkeypatch.setenv("CDIKIT_RUNTIME_CONFIG", str(path))
    return path


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
    apply_change(change, backup=False)
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
    assert runtime == {
        "runtime_type": "io.containerd.runc.v2",
        "container_annotations": ["cdi.k8s.io/*"],
        "options": {"BinaryName": SHIM},
    }
    # runc stays defined: a file naming any runtime replaces containerd's built-in list
    assert _dig(doc, *CRI17, "containerd", "runtimes", "runc") == {"runtime_type": "io.containerd.runc.v2"}
    assert _dig(doc, *CRI17, "containerd", "default_runtime_name") == "cdi"
    assert doc["version"] == 2
    if existing is not None:
        assert "# keep this comment" in change.new
        assert _dig(doc, *CRI17, "enable_cdi") is False  # 1.6: untouched, it has no such thing
        assert _dig(doc, *CRI17, "containerd", "runtimes", "runc", "runtime_type") == "io.containerd.runc.v2"
    apply_change(change, backup=False)
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
    change = plan_podman(str(path), runtime_path=SHIM, version=(5, 6, 0))
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
    assert (
        _cli(["configure", "docker", "--config", str(path), "--runtime", "yes", "--runtime-path", SHIM]) == 0
    )
    out = capsys.readouterr().out
    assert f"+++ {path}" in out and "dry run" in out
    assert path.read_text(encoding="utf-8") == "{}"  # dry run: untouched
    assert _cli(["configure", "docker", "--config", str(path), "--runtime", "yes", "--runtime-path", SHIM,
                 "--apply"]) == 0  # fmt: skip
    assert "wrote" in capsys.readouterr().out
    assert json.loads(path.read_text(encoding="utf-8"))["runtimes"]["cdi"]["path"] == SHIM
    assert (
        _cli(["configure", "docker", "--config", str(path), "--runtime", "yes", "--runtime-path", SHIM]) == 0
    )
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


# The runc entry of `containerd config default` (1.6), with SystemdCgroup switched on.
DEFAULT_RUNC = """\
version = 2
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          base_runtime_spec = ""
          container_annotations = []
          privileged_without_host_devices = false
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            BinaryName = "/usr/sbin/runc"
            IoGid = 0
            SystemdCgroup = true
"""


@pytest.mark.parametrize(
    ("base", "runc", "cdi_options", "runtime"),
    [
        (DEBIAN_CONTAINERD, {"runtime_type": "io.containerd.runc.v2"}, {"BinaryName": SHIM}, None),
        (DEFAULT_RUNC, None, {"BinaryName": SHIM, "IoGid": 0, "SystemdCgroup": True}, ["/usr/sbin/runc"]),
    ],
)  # fmt: skip
def test_containerd_16_keeps_runc_and_copies_its_options(
    tmp_path: Path,
    _runtime_config: Path,
    base: str,
    runc: dict[str, object] | None,
    cdi_options: dict[str, object],
    runtime: list[str] | None,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(base, encoding="utf-8")
    before = tomllib.loads(base)
    change = plan_containerd(str(path), version="1.6.20", runtime_path=SHIM, spec_dirs=["/opt/cdi"])
    doc = tomllib.loads(change.new)
    runtimes = _dig(doc, *CRI17, "containerd", "runtimes")
    assert isinstance(runtimes, dict)
    expected_runc = runc or _dig(before, *CRI17, "containerd", "runtimes", "runc")
    assert runtimes["runc"] == expected_runc
    assert runtimes["cdi"]["options"] == cdi_options
    assert runtimes["cdi"]["container_annotations"] == ["cdi.k8s.io/*"]
    assert runtimes["cdi"]["runtime_type"] == "io.containerd.runc.v2"
    # --spec-dir reaches the shim through its config file, with runc's own binary
    apply_change(change, backup=False)
    shim = tomllib.loads(_runtime_config.read_text(encoding="utf-8"))
    assert shim["spec-dirs"] == ["/opt/cdi"]
    assert shim.get("runtime") == runtime
    from cdikit.integrations.runtime._config import load_config

    assert load_config(str(_runtime_config)).spec_dirs == ["/opt/cdi"]


def test_runtime_config_keeps_other_keys(tmp_path: Path) -> None:
    from cdikit.integrations.consumers.configure import plan_runtime_config

    path = tmp_path / "runtime.toml"
    path.write_text('# mine\nlog-level = "debug"\n', encoding="utf-8")
    change = plan_runtime_config(str(path), spec_dirs=["/a", "/b"])
    assert change.new.startswith("# mine\n")
    assert tomllib.loads(change.new) == {"log-level": "debug", "spec-dirs": ["/a", "/b"]}
    apply_change(change, backup=False)
    # no dirs given and some already set: untouched
    assert not plan_runtime_config(str(path)).changed


@pytest.mark.parametrize(
    ("consumer", "version", "expected"),
    [
        ("docker", (29, 7, 2), False), ("docker", (24, 0, 9), True), ("docker", None, False),
        ("containerd", (1, 6, 20), True), ("containerd", (1, 7, 0), False), ("containerd", (2, 3, 4), False),
        ("podman", (4, 3, 1), False), ("crio", (1, 30, 0), False),
    ],
)  # fmt: skip
def test_runtime_only_where_cdi_is_not_native(consumer: str, version: tuple[int, int, int] | None,
                                              expected: bool) -> None:  # fmt: skip
    from cdikit.integrations.consumers.configure import wants_runtime

    assert wants_runtime(consumer, version) is expected


def test_cli_docker_29_is_native_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "daemon.json"
    assert _cli(["configure", "docker", "--config", str(path), "--engine-version", "29.7.2", "--apply"]) == 0
    assert json.loads(path.read_text(encoding="utf-8")) == {"features": {"cdi": True}}
    assert "runtime" not in capsys.readouterr().out


def test_podman_before_55_ignores_cdi_spec_dirs(tmp_path: Path) -> None:
    path = tmp_path / "containers.conf"
    change = plan_podman(str(path), version=(4, 3, 1))
    assert not change.changed  # nothing podman 4.3 would read
    assert any("cdiVersion 0.5.0" in n for n in change.notes)
    assert not change.changed and not path.exists()
    assert not plan_podman(str(path), version=(4, 3, 1), spec_dirs=["/var/run/cdi", "/etc/cdi"]).changed
    with pytest.raises(ConfigureError, match="only from /etc/cdi and /var/run/cdi"):
        plan_podman(str(path), version=(4, 3, 1), spec_dirs=["/opt/cdi"])


@pytest.mark.skipif(shutil.which("containerd") is None, reason="containerd is not installed")
def test_real_containerd_keeps_runc_on_the_debian_config(tmp_path: Path) -> None:
    """The installed containerd, on Debian's shipped file configured by cdikit, still has runc."""
    path = tmp_path / "config.toml"
    path.write_text(DEBIAN_CONTAINERD, encoding="utf-8")
    apply_change(plan_containerd(str(path), runtime_path=SHIM), backup=False)
    dump = subprocess.run(["containerd", "--config", str(path), "config", "dump"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert dump.returncode == 0, dump.stderr
    doc = tomllib.loads(dump.stdout)
    version = subprocess.run(["containerd", "--version"], capture_output=True, text=True, check=True).stdout
    cri = CRI2 if " v2." in version or " 2." in version else CRI17
    runtimes = _dig(doc, *cri, "containerd", "runtimes")
    assert isinstance(runtimes, dict)
    assert {"runc", "cdi"} <= set(runtimes)
    assert runtimes["cdi"]["container_annotations"] == ["cdi.k8s.io/*"]


@pytest.mark.parametrize("consumer", ["docker", "crio", "podman"])
def test_runtime_registration_carries_spec_dirs_to_the_shim(
    tmp_path: Path, _runtime_config: Path, consumer: str
) -> None:
    """Whatever engine starts cdi-runtime, --spec-dir reaches it through its config file."""
    from cdikit.integrations.consumers.configure import plan

    change = plan(consumer, path=str(tmp_path / "engine.conf"), runtime_path=SHIM, spec_dirs=["/opt/cdi"],
                  version="5.6.0" if consumer == "podman" else None)  # fmt: skip
    assert [c.path for c in change.companions] == [str(_runtime_config)]
    assert f"+++ {_runtime_config}" in change.diff()
    apply_change(change, backup=False)
    assert tomllib.loads(_runtime_config.read_text(encoding="utf-8"))["spec-dirs"] == ["/opt/cdi"]
    assert not plan(consumer, path=str(tmp_path / "engine.conf"), runtime_path=SHIM, spec_dirs=["/opt/cdi"],
                    version="5.6.0" if consumer == "podman" else None).changed  # fmt: skip
