"""``cdi spec install/remove`` and ``cdi monitor`` through real processes."""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tests.cli._helpers import GPU_SPEC, NIC_SPEC, SRC, default_sigint, dirs_args, names_of, run_cdi, write


def test_install_writes_into_highest_priority_dir(tmp_path: Path) -> None:
    low, high = tmp_path / "low", tmp_path / "high"
    source = write(tmp_path / "vendor-gpu.yaml", GPU_SPEC)
    result = run_cdi(*dirs_args(low, high), "spec", "install", str(source), "-o", "json")
    assert result.rc == 0, result.err
    data = json.loads(result.out)
    assert data["path"] == str(high / "vendor-gpu.yaml")
    assert data["devices"] == ["vendor.com/gpu=gpu0", "vendor.com/gpu=gpu1"]
    assert (high / "vendor-gpu.yaml").exists() and not low.exists()
    assert not [p for p in os.listdir(high) if p.endswith(".tmp")]
    devices = json.loads(run_cdi(*dirs_args(low, high), "devices", "-o", "json").out)
    assert len(names_of(devices)) == 2


@pytest.mark.parametrize(
    ("version", "expected"), [("keep", "0.5.0"), ("minimum", "0.3.0"), ("0.4.0", "0.4.0")]
)
def test_install_cdi_version(tmp_path: Path, version: str, expected: str) -> None:
    source = write(tmp_path / "g.yaml", GPU_SPEC)
    result = run_cdi(*dirs_args(tmp_path / "cdi"), "spec", "install", "--cdi-version", version, str(source))
    assert result.rc == 0, result.err
    specs = json.loads(run_cdi(*dirs_args(tmp_path / "cdi"), "specs", "-o", "json").out)
    assert specs[0]["cdiVersion"] == expected


def test_install_renames_yml_and_honours_name(tmp_path: Path) -> None:
    source = write(tmp_path / "g.yml", GPU_SPEC)
    assert run_cdi(*dirs_args(tmp_path / "cdi"), "spec", "install", str(source)).rc == 0
    assert (tmp_path / "cdi" / "g.yaml").exists()
    nic = write(tmp_path / "n.json", NIC_SPEC)
    assert run_cdi(*dirs_args(tmp_path / "cdi"), "spec", "install", "--name", "nic.json", str(nic)).rc == 0
    assert (tmp_path / "cdi" / "nic.json").exists()


def test_install_refuses_invalid_and_conflicting(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "cdiVersion: 0.3.0\nkind: vendor.com/gpu\nbogus: 1\n")
    result = run_cdi(*dirs_args(tmp_path / "cdi"), "spec", "install", str(bad))
    assert result.rc == 1
    assert "bad.yaml" in result.err
    assert not (tmp_path / "cdi").exists()
    write(tmp_path / "cdi" / "existing.yaml", GPU_SPEC)
    dup = write(tmp_path / "dup.yaml", GPU_SPEC)
    result = run_cdi(*dirs_args(tmp_path / "cdi"), "spec", "install", str(dup))
    assert result.rc == 1
    assert "vendor.com/gpu=gpu0 is already defined by" in result.err
    assert not (tmp_path / "cdi" / "dup.yaml").exists()


def test_install_missing_file_is_usage_error(tmp_path: Path) -> None:
    result = run_cdi(*dirs_args(tmp_path), "spec", "install", str(tmp_path / "absent.yaml"))
    assert result.rc == 2


@pytest.mark.parametrize("name", ["vendor-gpu", "vendor-gpu.yaml"])
def test_remove(spec_dir: Path, tmp_path: Path, name: str) -> None:
    result = run_cdi(*dirs_args(tmp_path / "low", spec_dir), "spec", "remove", name)
    assert result.rc == 0, result.err
    assert result.out == f"removed {spec_dir / 'vendor-gpu.yaml'}\n"
    assert not (spec_dir / "vendor-gpu.yaml").exists()
    assert (spec_dir / "other-nic.json").exists()


@pytest.mark.parametrize(("name", "rc"), [("absent", 1), ("../escape", 2)])
def test_remove_errors(spec_dir: Path, name: str, rc: int) -> None:
    result = run_cdi(*dirs_args(spec_dir), "spec", "remove", name)
    assert result.rc == rc
    assert result.err.startswith("cdi: error:")


class _Monitor:
    """A running ``cdi monitor``; stdout and stderr are drained by threads so reads can time out."""

    def __init__(self, spec_dir: Path, *extra: str) -> None:
        env = dict(os.environ, PYTHONPATH=SRC)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cdikit",
                *dirs_args(spec_dir),
                "monitor",
                "-v",
                "--interval",
                "0.2",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=default_sigint,
            text=True,
            env=env,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=_drain, args=(stream, sink), daemon=True).start()

    def read_until(self, wanted: str, *, stderr: bool = False, limit: float = 30.0) -> list[str]:
        sink = self.err if stderr else self.out
        lines: list[str] = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                line = sink.get(timeout=0.5)
            except queue.Empty:
                continue
            lines.append(line)
            if wanted in line:
                return lines
        raise AssertionError(f"{wanted!r} never printed; got {lines}")

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def stderr_text(self) -> str:
        lines = []
        while not self.err.empty():
            lines.append(self.err.get())
        return "\n".join(lines)


def _drain(stream: IO[str] | None, sink: queue.Queue[str]) -> None:
    assert stream is not None
    for line in stream:
        sink.put(line.rstrip("\n"))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_monitor_prints_changes_until_interrupted(spec_dir: Path, stop: signal.Signals) -> None:
    monitor = _Monitor(spec_dir, "devices")
    try:
        initial = monitor.read_until("= device vendor.com/gpu=gpu1")
        assert "= device other.org/nic=eth0" in initial
        monitor.read_until("watching", stderr=True)
        write(spec_dir / "more.json", NIC_SPEC.replace("eth0", "eth1"))
        monitor.read_until("+ device other.org/nic=eth1")
        (spec_dir / "vendor-gpu.yaml").unlink()
        removed = monitor.read_until("- device vendor.com/gpu=gpu1")
        assert "- device vendor.com/gpu=gpu0" in removed
    finally:
        rc = monitor.stop(stop)
    assert rc == 0
    assert "Traceback" not in monitor.stderr_text()


def test_monitor_json_lines_and_errors_view(spec_dir: Path) -> None:
    monitor = _Monitor(spec_dir, "-o", "json")
    try:
        monitor.read_until('"item": "vendor.com/gpu=gpu1"')
        monitor.read_until("watching", stderr=True)
        write(spec_dir / "broken.json", "{oops")
        lines = monitor.read_until('"view": "errors"')
        event = json.loads(lines[-1])
        assert event["change"] == "added" and "broken.json" in event["item"]
    finally:
        assert monitor.stop() == 0


def test_monitor_picks_up_a_dir_created_later(tmp_path: Path) -> None:
    monitor = _Monitor(tmp_path / "later", "devices")
    try:
        monitor.read_until("does not exist (yet)", stderr=True)
        monitor.read_until("watching", stderr=True)
        write(tmp_path / "later" / "g.yaml", GPU_SPEC)
        monitor.read_until("+ device vendor.com/gpu=gpu0")
    finally:
        assert monitor.stop(signal.SIGTERM) == 0


def test_monitor_rejects_unknown_view(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "monitor", "gadgets")
    assert result.rc == 2
    assert "unknown view 'gadgets'" in result.err


ANNOTATED = """\
cdiVersion: 0.6.0
kind: vendor.com/gpu
annotations:
  owner: me
devices:
- name: gpu0
  containerEdits:
    env: [GPU=0]
"""


def test_install_defaults_minimum_version_and_world_readable(tmp_path: Path) -> None:
    source = write(tmp_path / "g.yaml", GPU_SPEC)  # declares 0.5.0, needs 0.3.0
    os.chmod(source, 0o600)
    result = run_cdi(*dirs_args(tmp_path / "cdi"), "spec", "install", str(source), "-o", "json")
    assert result.rc == 0, result.err
    data = json.loads(result.out)
    assert data["cdiVersion"] == "0.3.0"  # the library's write_spec default, too
    assert stat.S_IMODE(os.stat(data["path"]).st_mode) == 0o644


def test_install_without_dirs_targets_etc_cdi() -> None:
    from cdikit.cli._spec import target_dir

    given = argparse.Namespace(spec_dirs=["/a", "/b"], spec_dirs_given=True)
    assert target_dir(given) == (["/a", "/b"], 1)
    default = argparse.Namespace(spec_dirs=["/etc/cdi", "/var/run/cdi"], spec_dirs_given=False)
    assert target_dir(default) == (["/etc/cdi", "/var/run/cdi"], 0)


def test_install_warns_about_shadowing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cdikit.cli._spec import cmd_install

    low, high = tmp_path / "etc-cdi", tmp_path / "run-cdi"
    write(high / "gpu.yaml", GPU_SPEC)
    source = write(tmp_path / "g.yaml", GPU_SPEC)
    args = argparse.Namespace(
        spec_dirs=[str(low), str(high)], spec_dirs_given=False, file=str(source), name=None,
        cdi_version="minimum", buildkit_autoallow=False, schema=None, output=None,
    )  # fmt: skip
    assert cmd_install(args) == 0
    assert (low / "g.yaml").exists()  # no -d: the first (persistent) dir
    err = capsys.readouterr().err
    assert f"vendor.com/gpu=gpu0 stays defined by {high / 'gpu.yaml'} (higher priority)" in err


@pytest.mark.parametrize(
    ("extra", "spec_level", "device_level"),
    [((), {"org.mobyproject.buildkit.device.autoallow": "true", "owner": "me"}, None),
     (("--device", "gpu0"), {"owner": "me"}, {"org.mobyproject.buildkit.device.autoallow": "true"})],
)  # fmt: skip
def test_autoallow(
    tmp_path: Path, extra: tuple[str, ...], spec_level: dict[str, str], device_level: dict[str, str] | None
) -> None:
    cdi = tmp_path / "cdi"
    assert run_cdi(*dirs_args(cdi), "spec", "install", str(write(tmp_path / "g.yaml", ANNOTATED))).rc == 0
    result = run_cdi(*dirs_args(cdi), "spec", "autoallow", "g", *extra, "-o", "json")
    assert result.rc == 0, result.err
    assert json.loads(result.out)["cdiVersion"] == "0.6.0"
    specs = json.loads(run_cdi(*dirs_args(cdi), "specs", "-o", "json").out)
    from cdikit.specfile import read_spec

    spec = read_spec(specs[0]["path"]).spec
    assert spec.annotations == spec_level
    assert spec.devices is not None and spec.devices[0].annotations == device_level
    assert stat.S_IMODE(os.stat(specs[0]["path"]).st_mode) == 0o644
    # and the real policy now allows it without --allow
    from cdikit.registry import Registry
    from cdikit.requests.policy import AllowPolicy
    from cdikit.requests.resolve import merged_annotations

    def allowed() -> bool:
        device = Registry([str(cdi)], auto_refresh=False).get_device("vendor.com/gpu=gpu0")
        return AllowPolicy().is_auto_allowed("vendor.com/gpu=gpu0", merged_annotations(device))

    assert allowed()
    off = run_cdi(*dirs_args(cdi), "spec", "autoallow", "g", *extra, "--off")
    assert off.rc == 0, off.err
    assert not allowed()


def test_autoallow_errors(tmp_path: Path) -> None:
    cdi = tmp_path / "cdi"
    result = run_cdi(*dirs_args(cdi), "spec", "autoallow", "nope")
    assert result.rc == 1 and "no single spec file nope" in result.err
    run_cdi(*dirs_args(cdi), "spec", "install", str(write(tmp_path / "g.yaml", GPU_SPEC)))
    result = run_cdi(*dirs_args(cdi), "spec", "autoallow", "g", "--device", "gpu9")
    assert result.rc == 2 and "no device gpu9" in result.err


def test_install_warns_when_an_installed_consumer_cannot_load(tmp_path: Path) -> None:
    from cdikit.integrations.consumers.versions import detect, max_spec_version

    podman = detect("podman")
    if podman is None or max_spec_version("podman", podman.version) != "0.5.0":
        pytest.skip("needs a podman that loads cdiVersion 0.5.0 at most (Debian 12's 4.3.1)")
    result = run_cdi(
        *dirs_args(tmp_path / "cdi"), "spec", "install", str(write(tmp_path / "a.yaml", ANNOTATED))
    )
    assert result.rc == 0
    assert "podman 4.3.1" in result.err and "loads cdiVersion 0.5.0 at most" in result.err
    quiet = run_cdi(
        *dirs_args(tmp_path / "cdi2"), "spec", "install", str(write(tmp_path / "g.yaml", GPU_SPEC))
    )
    assert "warning" not in quiet.err
