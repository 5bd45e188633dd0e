"""Atomic writes: readers see the old or the new file, never a torn one, and no temp file stays."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cdikit import _atomic
from cdikit._atomic import atomic_remove, atomic_write
from cdikit.errors import WriteError


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(("mode", "size"), [(0o600, 0), (0o644, 10), (0o640, 3 << 20)])
def test_writes_content_and_mode(tmp_path: Path, mode: int, size: int) -> None:
    target = tmp_path / "a" / "b" / "spec.yaml"
    data = os.urandom(size)
    atomic_write(str(target), data, mode=mode)
    assert target.read_bytes() == data
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert _names(target.parent) == ["spec.yaml"]


def test_overwrites_and_replaces_a_symlink_not_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(str(link), b"new")
    assert real.read_bytes() == b"old"
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"


def test_no_parents_when_not_asked(tmp_path: Path) -> None:
    with pytest.raises(WriteError) as info:
        atomic_write(str(tmp_path / "missing" / "x.json"), b"{}", make_parents=False)
    assert info.value.path == str(tmp_path / "missing" / "x.json")
    assert not (tmp_path / "missing").exists()


def test_rename_failure_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "dir.json"
    target.mkdir()  # os.replace of a file over a directory fails
    with pytest.raises(WriteError, match=r"dir\.json"):
        atomic_write(str(target), b"data")
    assert _names(tmp_path) == ["dir.json"]
    assert target.is_dir()


def test_fsync_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "spec.json"
    target.write_bytes(b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(_atomic.os, "fsync", broken_fsync)
    with pytest.raises(WriteError, match="Input/output error"):
        atomic_write(str(target), b"new")
    assert target.read_bytes() == b"old"
    assert _names(tmp_path) == ["spec.json"]


def test_interrupt_mid_write_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "spec.json"
    target.write_bytes(b"old")

    def interrupted(fd: int, data: bytes) -> None:
        os.write(fd, bytes(data[:10]))
        raise KeyboardInterrupt

    monkeypatch.setattr(_atomic, "_write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(str(target), b"x" * 100)
    assert target.read_bytes() == b"old"
    assert _names(tmp_path) == ["spec.json"]


def test_disk_full_midway_never_tears_the_file(tmp_path: Path) -> None:
    """A real short write: RLIMIT_FSIZE makes write() fail with EFBIG half way through."""
    target = tmp_path / "spec.yaml"
    target.write_bytes(b"old content")
    script = f"""
import resource, signal, sys
from cdikit.errors import WriteError
from cdikit._atomic import atomic_write
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    atomic_write({str(target)!r}, b"n" * 100000)
except WriteError as err:
    print("WriteError:", err)
    sys.exit(0)
sys.exit(1)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "File too large" in proc.stdout
    assert target.read_bytes() == b"old content"
    assert _names(tmp_path) == ["spec.yaml"]


def test_concurrent_readers_never_see_partial_content(tmp_path: Path) -> None:
    target = tmp_path / "spec.json"
    versions = [bytes([65 + i]) * (1 << 20) for i in range(4)]
    atomic_write(str(target), versions[0])
    stop = threading.Event()
    seen: set[bytes] = set()
    torn: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            data = target.read_bytes()
            if data in versions:
                seen.add(data[:1])
            else:
                torn.append(len(data))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(60):
            atomic_write(str(target), versions[i % len(versions)])
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert torn == []
    assert len(seen) >= 2
    assert _names(tmp_path) == ["spec.json"]


def test_remove(tmp_path: Path) -> None:
    target = tmp_path / "spec.json"
    target.write_bytes(b"{}")
    atomic_remove(str(target))
    assert not target.exists()
    atomic_remove(str(target))  # missing is fine


def test_remove_error_names_path(tmp_path: Path) -> None:
    target = tmp_path / "d.json"
    (target / "child").mkdir(parents=True)
    with pytest.raises(WriteError) as info:
        atomic_remove(str(target))
    assert info.value.path == str(target)
    assert target.is_dir()


@pytest.mark.parametrize("durable", [True, False])
def test_durable_decides_the_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool) -> None:
    calls: list[int] = []
    real = _atomic.os.fsync
    monkeypatch.setattr(_atomic.os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    target = tmp_path / "config.json"
    target.write_bytes(b"old")
    _atomic.atomic_write(str(target), b"new", durable=durable)
    assert target.read_bytes() == b"new"
    assert len(calls) == (2 if durable else 0)
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
