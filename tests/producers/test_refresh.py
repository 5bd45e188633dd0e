"""The refresh service: write-only-when-changed, MIG and driver changes, removal."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cdikit.cli import _refresh
from cdikit.producers.nvidia.refresh import RefreshOutcome, fingerprint, refresh_once, watch
from tests._polling import wait_until
from tests.producers import fakeroot
from tests.producers.conftest import OptionsFactory


@pytest.fixture
def fake_nvml(nvml_json: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CDIKIT_FAKE_NVML", str(nvml_json))
    return nvml_json


def _edit_nvml(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    desc = json.loads(path.read_text())
    change(desc)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(desc))
    os.replace(tmp, path)


def test_refresh_writes_only_when_changed(tmp_path: Path, options: OptionsFactory, fake_nvml: Path) -> None:
    out = tmp_path / "cdi" / "nvidia.yaml"
    first = refresh_once(options(), str(out))
    assert first.written and first.error is None
    assert out.stat().st_mode & 0o777 == 0o644
    inode = out.stat().st_ino
    second = refresh_once(options(), str(out))
    assert not second.written
    assert out.stat().st_ino == inode  # not even replaced by an identical copy


def test_fingerprint_follows_mig_layout(fake_nvml: Path) -> None:
    before = fingerprint()
    _edit_nvml(fake_nvml, lambda d: d["gpus"][1]["mig_devices"].pop())  # type: ignore[index]
    assert fingerprint() != before


def test_fingerprint_without_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "nvml.json"
    bad.write_text(json.dumps({"init_error": "Driver Not Loaded"}))
    monkeypatch.setenv("CDIKIT_FAKE_NVML", str(bad))
    assert fingerprint() == "no-nvml"


@pytest.fixture
def watcher(
    tmp_path: Path, options: OptionsFactory, fake_nvml: Path
) -> Iterator[tuple[Path, list[tuple[RefreshOutcome, str]]]]:
    out = tmp_path / "cdi" / "nvidia.yaml"
    events: list[tuple[RefreshOutcome, str]] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(options(), str(out)),
        kwargs={"interval": 0.2, "stop": stop, "on_refresh": lambda o, r: events.append((o, r))},
    )
    thread.start()
    try:
        wait_until(lambda: out.exists())
        yield out, events
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_watch_regenerates_on_mig_reconfiguration(
    watcher: tuple[Path, list[tuple[RefreshOutcome, str]]], fake_nvml: Path
) -> None:
    out, events = watcher
    assert fakeroot.MIG_B in out.read_text()

    def drop_mig_b(d: dict[str, object]) -> None:
        gpu1 = d["gpus"][1]  # type: ignore[index]
        gpu1["mig_devices"] = gpu1["mig_devices"][:1]

    _edit_nvml(fake_nvml, drop_mig_b)
    # The watcher reports an outcome after acting on the file: wait for the report.
    wait_until(lambda: any(reason == "NVML state changed" and o.written for o, reason in events))
    assert fakeroot.MIG_B not in out.read_text()
    assert fakeroot.MIG_A in out.read_text()


def test_watch_regenerates_on_driver_file_change(
    watcher: tuple[Path, list[tuple[RefreshOutcome, str]]], nvidia_root: fakeroot.FakeRoot
) -> None:
    out, _events = watcher
    name = f"libnvidia-fbc.so.{fakeroot.VERSION}"
    fakeroot.make_lib(nvidia_root.path / fakeroot.LIBDIR, name, "libnvidia-fbc.so.1")
    wait_until(lambda: name in out.read_text())


def test_watch_removes_spec_when_driver_goes_away(
    watcher: tuple[Path, list[tuple[RefreshOutcome, str]]], fake_nvml: Path
) -> None:
    out, events = watcher
    _edit_nvml(fake_nvml, lambda d: d.update(init_error="Driver Not Loaded"))
    # The watcher reports an outcome after acting on the file: wait for the report.
    wait_until(lambda: any(o.removed for o, _ in events))
    assert not out.exists()
    _edit_nvml(fake_nvml, lambda d: d.pop("init_error"))
    wait_until(lambda: out.exists())


def test_refresh_main_once(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot, fake_nvml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nvidia.json"
    argv = ["--driver-root", str(nvidia_root.path), "--sysfs-root", str(nvidia_root.path),
            "--procfs-root", str(nvidia_root.path), "--output", str(out)]  # fmt: skip
    assert _refresh.main(argv) == 0
    assert out.read_bytes().startswith(b'{"cdiVersion":"0.7.0"')
    assert _refresh.main(argv) == 0
    assert "up to date" in capsys.readouterr().err
