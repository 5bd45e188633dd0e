"""Filling device nodes from the host (reference ``container-edits_unix.go``), on real inodes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdikit.errors import InjectionError
from cdikit.oci import FilledNode, HostDevice, fill_device_node, lookup_host_device
from cdikit.spec.types import DeviceNode


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch dir (the cwd) with a FIFO (0640 and 04751), a file, a dir and a symlink to the FIFO."""
    os.mkfifo(tmp_path / "fifo")
    os.chmod(tmp_path / "fifo", 0o640)
    os.mkfifo(tmp_path / "suid-fifo")
    os.chmod(tmp_path / "suid-fifo", 0o4751)
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    os.symlink("fifo", tmp_path / "link")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# (id, node, expected FilledNode); relative host paths resolve against the scratch cwd.
FILL_CASES = [
    ("fifo-from-host", DeviceNode(path="/dev/f", host_path="fifo"), FilledNode("p", 0, 0, 0o640)),
    ("path-used-when-no-hostpath", DeviceNode(path="fifo"), FilledNode("p", 0, 0, 0o640)),
    ("special-bits-kept", DeviceNode(path="/dev/f", host_path="suid-fifo"), FilledNode("p", 0, 0, 0o4751)),
    (
        "explicit-mode-kept",
        DeviceNode(path="/dev/f", host_path="fifo", file_mode=0o600),
        FilledNode("p", 0, 0, 0o600),
    ),
    ("explicit-type-p", DeviceNode(path="/dev/f", host_path="fifo", type="p"), FilledNode("p", 0, 0, 0o640)),
    (
        "minimal-over-file-untouched",
        DeviceNode(path="file", type="c", major=5, minor=1),
        FilledNode("c", 5, 1, None),
    ),
    ("minimal-over-dir-untouched", DeviceNode(path="dir", type="p"), FilledNode("p", 0, 0, None)),
    (
        "minimal-missing-untouched",
        DeviceNode(path="nope", type="b", major=8, file_mode=1),
        FilledNode("b", 8, 0, 1),
    ),
    (
        "minimal-over-fifo-gets-mode",
        DeviceNode(path="fifo", type="c", major=3, minor=4),
        FilledNode("c", 3, 4, 0o640),
    ),
]


@pytest.mark.parametrize(("node", "expected"), [c[1:] for c in FILL_CASES], ids=[c[0] for c in FILL_CASES])
def test_fill(host: Path, node: DeviceNode, expected: FilledNode) -> None:
    before = DeviceNode(**{f: getattr(node, f) for f in node.__struct_fields__})
    assert fill_device_node(node) == expected
    assert node == before  # never written back


FAIL_CASES = [
    ("missing", DeviceNode(path="nope"), 'failed to stat CDI host device "nope": no such file or directory'),
    (
        "missing-type-no-major",
        DeviceNode(path="nope", type="c"),
        'failed to stat CDI host device "nope": no such file or directory',
    ),
    (
        "missing-major-no-type",
        DeviceNode(path="nope", major=3),
        'failed to stat CDI host device "nope": no such file or directory',
    ),
    (
        "regular-file",
        DeviceNode(path="/x", host_path="file"),
        'failed to stat CDI host device "file": not a device node',
    ),
    ("directory", DeviceNode(path="dir"), 'failed to stat CDI host device "dir": not a device node'),
    (
        "symlink-not-followed",
        DeviceNode(path="link"),
        'failed to stat CDI host device "link": not a device node',
    ),
    (
        "not-a-directory",
        DeviceNode(path="file/x"),
        'failed to stat CDI host device "file/x": not a directory',
    ),
    (
        "type-mismatch",
        DeviceNode(path="/d", host_path="fifo", type="c"),
        'CDI device ("/d", "fifo"), host type mismatch (c, p)',
    ),
    (
        "u-never-matches",
        DeviceNode(path="fifo", type="u"),
        'CDI device ("fifo", "fifo"), host type mismatch (u, p)',
    ),
    (
        "quoted-path",
        DeviceNode(path='a"b\n'),
        'failed to stat CDI host device "a\\"b\\n": no such file or directory',
    ),
]


@pytest.mark.parametrize(("node", "message"), [c[1:] for c in FAIL_CASES], ids=[c[0] for c in FAIL_CASES])
def test_fill_errors(host: Path, node: DeviceNode, message: str) -> None:
    with pytest.raises(InjectionError) as info:
        fill_device_node(node)
    assert str(info.value) == message


def test_lookup_char_device() -> None:
    st = os.lstat("/dev/null")
    assert lookup_host_device("/dev/null") == HostDevice(
        "c", os.major(st.st_rdev), os.minor(st.st_rdev), st.st_mode & 0o7777
    )


def test_char_device_numbers_filled_when_major_is_zero() -> None:
    st = os.lstat("/dev/null")
    filled = fill_device_node(DeviceNode(path="/dev/null", minor=99))
    assert filled == FilledNode("c", os.major(st.st_rdev), os.minor(st.st_rdev), st.st_mode & 0o7777)
    kept = fill_device_node(DeviceNode(path="/dev/null", type="c", major=42, minor=99))
    assert kept == FilledNode("c", 42, 99, st.st_mode & 0o7777)
