"""Hand-built ELF files for the reader's tests, the fuzz corpus and the e2e attack."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import TypeVar

from cdikit._elf import read_notes

__all__ = ["elf_with_note", "in_memfd", "note_bomb", "notes_of"]

_T = TypeVar("_T")


def in_memfd(data: bytes, read: Callable[[int], _T]) -> _T:
    """``read(fd)`` of a file holding ``data`` (an anonymous memory file)."""
    fd = os.memfd_create("elf")
    try:
        os.write(fd, data)
        return read(fd)
    finally:
        os.close(fd)


def notes_of(data: bytes) -> list[tuple[str, int, bytes]]:
    """``read_notes`` of a file holding ``data``."""
    return in_memfd(data, read_notes)


def elf_with_note(desc: bytes, name: bytes = b"NVIDIA\0") -> bytes:
    """A minimal little-endian ELF64 with one SHT_NOTE section (null section first)."""
    note = struct.pack("<III", len(name), len(desc), 1) + name.ljust((len(name) + 3) & ~3, b"\0")
    note += desc.ljust((len(desc) + 3) & ~3, b"\0")
    header_size, shentsize = 64, 64
    note_off = header_size
    shoff = note_off + len(note)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, shoff, 0, header_size, 0, 0, shentsize, 2, 0
    )
    null_sh = b"\0" * shentsize
    note_sh = struct.pack("<IIQQQQIIQQ", 0, 7, 0, 0, note_off, len(note), 0, 0, 4, 0)
    return header + note + null_sh + note_sh


def note_bomb(size: int = 1_300_000, sections: int = 4096) -> bytes:
    """The issue's crafted ``libcuda.so.*``: every section a SHT_NOTE over the whole file.

    The file is all empty notes (12 zero bytes each), so each section claims
    ~100k notes; a reader without bounds parses sections x notes of them.
    """
    shentsize = 64
    shoff = 64
    body_end = max(size, shoff + sections * shentsize)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header = ident + struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, shoff, 0, 64, 0, 0, shentsize, sections, 0)
    table = b"".join(
        struct.pack("<IIQQQQIIQQ", 0, 7, 0, 0, 0, body_end + i, 0, 0, 4, 0) for i in range(sections)
    )
    data = header + table
    return data + b"\0" * (body_end - len(data))
