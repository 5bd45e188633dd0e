"""The bounded ELF reader (:mod:`cdikit._elf`): real objects, crafted ones, and limits."""

from __future__ import annotations

import os
import struct
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdikit import _elf
from cdikit._elf import has_interpreter, read_soname
from tests._elfcraft import elf_with_note, note_bomb, notes_of


def test_note_is_read() -> None:
    assert notes_of(elf_with_note(b'{"cuda": "12.4"}')) == [("NVIDIA", 1, b'{"cuda": "12.4"}')]


def test_note_bomb_is_bounded() -> None:
    """The issue's 1.3 MB crafted libcuda: 4096 note sections over the whole file.

    Unbounded, that is ~450 million notes (over 60 s, 3 GB); bounded, each byte
    range is read once, at most 1 MiB in all, at most 1024 notes kept.
    """
    data = note_bomb()
    assert len(data) >= 1_300_000
    tracemalloc.start()
    try:
        notes = notes_of(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 0 < len(notes) <= _elf._MAX_NOTES
    assert peak < 16 << 20


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x7fELF",
        b"not an elf at all" * 10,
        elf_with_note(b"{}")[:80],  # truncated section table
        b"\x7fELF" + bytes([3, 1, 1]) + b"\0" * 100,  # bad class
        # section table offset 2**64-1
        b"\x7fELF\x02\x01\x01"
        + b"\0" * 9
        + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, 2**64 - 1, 0, 64, 0, 0, 64, 9, 0),
        # entry size too small for the format
        b"\x7fELF\x02\x01\x01"
        + b"\0" * 9
        + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, 64, 0, 64, 0, 0, 8, 9, 0),
    ],
)
def test_malformed_files_give_nothing(data: bytes) -> None:
    assert notes_of(data) == []


def test_oversized_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_elf, "MAX_FILE", 100)
    assert notes_of(elf_with_note(b'{"cuda": "12.4"}' * 10)) == []


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "libcuda.so.1.2"
    os.mkfifo(fifo)
    assert read_soname(str(fifo)) is None  # does not block on open or read
    assert has_interpreter(str(fifo)) is None


def test_interpreter_of_real_binaries() -> None:
    assert has_interpreter(sys.executable) in (True, False)
    assert has_interpreter("/nonexistent") is None
    if os.path.exists("/sbin/ldconfig"):
        assert has_interpreter("/sbin/ldconfig") is False  # static on glibc distributions


@settings(max_examples=300, derandomize=True, database=None)
@given(
    data=st.binary(max_size=2048),
    patch=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 2**64 - 1)), max_size=8),
)
def test_any_bytes_are_bounded(data: bytes, patch: list[tuple[int, int]]) -> None:
    """Any file (an ELF64 header with random fields poked in): no exception, bounded output."""
    buf = bytearray(elf_with_note(b'{"driver": [1]}') + data)
    for offset, value in patch:
        if offset + 8 <= len(buf):
            buf[offset : offset + 8] = value.to_bytes(8, "little")
    notes = notes_of(bytes(buf))
    assert len(notes) <= _elf._MAX_NOTES
    assert sum(len(d) for _, _, d in notes) <= len(buf)


@settings(max_examples=300)
@given(st.binary(min_size=64, max_size=64), st.sampled_from([1, 2]), st.sampled_from([1, 2]))
def test_header_fields_are_structs(raw: bytes, klass: int, data: int) -> None:
    """The header's fields, read with int.from_bytes (no struct on the hook path), are struct's."""
    raw = b"\x7fELF" + bytes([klass, data]) + raw[6:]
    h = _elf._Header(-1, 1 << 20, raw)
    end = "<" if data == 1 else ">"
    if klass == 2:
        expected = struct.unpack_from(end + "QQ", raw, 0x20) + struct.unpack_from(end + "HHHH", raw, 0x36)
    else:
        expected = struct.unpack_from(end + "II", raw, 0x1C) + struct.unpack_from(end + "HHHH", raw, 0x2A)
    assert (h.phoff, h.shoff, h.phentsize, h.phnum, h.shentsize, h.shnum) == expected
