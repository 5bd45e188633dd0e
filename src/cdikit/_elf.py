"""Reading ELF files without loading them, every read bounded.

Both callers read files they do not trust: driver discovery reads libraries
under a driver root, and the ``enable-cuda-compat`` hook reads the
``libcuda.so.*`` an *image* ships, as root, at container start. Nothing here
reads a file whole or trusts a size, count or offset from it:

* files over :data:`MAX_FILE` bytes (or not regular files) are refused;
* the program and section header tables are read in one ``pread`` each, at
  most :data:`_MAX_TABLE` bytes, with entry sizes checked against the format;
* note sections are read only inside the file, each byte range once, at most
  :data:`_MAX_NOTE_BYTES` in all, and at most :data:`_MAX_NOTES` notes kept;
* the dynamic segment at most :data:`_MAX_DYN` entries, a string 256 bytes.

So a crafted file (thousands of overlapping note sections, sizes of 2**64)
costs a few small reads, never time or memory in proportion to its claims.
Anything malformed yields ``None``/``[]``, never an exception.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # not typing's: `cdi generate` and the hooks read ELF files at start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Literal, TypeVar

    _T = TypeVar("_T")

__all__ = ["MAX_FILE", "dynamic_tags", "has_interpreter", "read_notes", "read_soname"]

MAX_FILE = 1 << 30  # 1 GiB: real libcuda builds are ~100 MB
_MAX_TABLE = 1 << 20  # bytes of one header table
_MAX_NOTE_BYTES = 1 << 20  # bytes of note sections read in all
_MAX_NOTES = 1024
_MAX_DYN = 4096  # dynamic entries; real objects have a few dozen
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_SHT_NOTE = 7
_DT_NULL, _DT_STRTAB, _DT_SONAME = 0, 5, 14


class _Header:
    __slots__ = (
        "end",
        "fd",
        "is64",
        "order",
        "phentsize",
        "phnum",
        "phoff",
        "shentsize",
        "shnum",
        "shoff",
        "size",
    )

    def __init__(self, fd: int, size: int, raw: bytes) -> None:
        self.fd = fd
        self.size = size
        self.is64 = raw[4] == 2
        self.end = "<" if raw[5] == 1 else ">"
        self.order: Literal["little", "big"] = "little" if raw[5] == 1 else "big"
        # int.from_bytes, not struct: what has_interpreter (the update-ldcache hook) reads needs no more
        word, at = (8, 0x20) if self.is64 else (4, 0x1C)
        self.phoff, self.shoff = self.uint(raw, at, word), self.uint(raw, at + word, word)
        at += 2 * word + 6  # past e_flags and e_ehsize: the four 16-bit table fields
        self.phentsize, self.phnum, self.shentsize, self.shnum = (
            self.uint(raw, at + 2 * k, 2) for k in range(4)
        )

    def uint(self, data: bytes, offset: int, size: int) -> int:
        """The unsigned ``size``-byte integer at ``offset`` of ``data`` (ValueError past its end)."""
        if offset < 0 or offset + size > len(data):
            raise ValueError("outside the data")
        return int.from_bytes(data[offset : offset + size], self.order)

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``, or ValueError when that is not inside the file."""
        if offset < 0 or size < 0 or offset + size > self.size:
            raise ValueError("outside the file")
        data = os.pread(self.fd, size, offset)
        if len(data) != size:
            raise ValueError("short read")
        return data

    def table(self, offset: int, count: int, entsize: int, minsize: int) -> bytes:
        if count == 0:
            return b""
        if entsize < minsize or count * entsize > _MAX_TABLE:
            raise ValueError("bad header table")
        return self.read(offset, count * entsize)


def _malformed() -> tuple[type[Exception], ...]:
    """What reading a malformed file raises (struct imported only where it is used, and so was)."""
    import struct

    return (OSError, ValueError, struct.error)


def _header(fd: int) -> _Header | None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
        return None
    raw = os.pread(fd, 64, 0)
    if len(raw) < 52 or raw[:4] != b"\x7fELF" or raw[4] not in (1, 2) or raw[5] not in (1, 2):
        return None
    if raw[4] == 2 and len(raw) < 64:
        return None
    return _Header(fd, st.st_size, raw)


def _segments(h: _Header) -> list[tuple[int, int, int, int]]:
    """(type, offset, vaddr, filesz) of every program header."""
    import struct

    fmt = h.end + ("IIQQQQ" if h.is64 else "IIIII")
    minsize = 56 if h.is64 else 32
    blob = h.table(h.phoff, h.phnum, h.phentsize, minsize)
    out = []
    for i in range(h.phnum):
        if h.is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
                fmt, blob, i * h.phentsize
            )
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(fmt, blob, i * h.phentsize)
        out.append((p_type, p_offset, p_vaddr, p_filesz))
    return out


def _with_elf(path: str, read: Callable[[_Header], _T]) -> _T | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        h = _header(fd)
        return None if h is None else read(h)
    except _malformed():  # evaluated only once something was raised
        return None
    finally:
        os.close(fd)


def read_soname(path: str) -> str | None:
    """The SONAME recorded in the ELF file at ``path``, or ``None``."""
    return _with_elf(path, _soname)


def _dynamic(h: _Header, segments: list[tuple[int, int, int, int]]) -> list[tuple[int, int]] | None:
    """(tag, value) of the dynamic segment's entries up to DT_NULL; None without one."""
    dynamic = next(((off, size) for t, off, _v, size in segments if t == _PT_DYNAMIC), None)
    if dynamic is None:
        return None
    import struct

    dyn_fmt = h.end + ("qQ" if h.is64 else "iI")
    entsize = struct.calcsize(dyn_fmt)
    blob = h.read(dynamic[0], min(dynamic[1], entsize * _MAX_DYN, h.size - dynamic[0]))
    out = []
    for off in range(0, len(blob) - entsize + 1, entsize):
        tag, val = struct.unpack_from(dyn_fmt, blob, off)
        if tag == _DT_NULL:
            break
        out.append((tag, val))
    return out


def dynamic_tags(path: str) -> tuple[int, int, frozenset[int]] | None:
    """``(e_type, e_machine, dynamic tags)`` of the ELF file at ``path``; None if it is not one."""

    def read(h: _Header) -> tuple[int, int, frozenset[int]] | None:
        e_type, e_machine = (h.uint(h.read(16, 4), k, 2) for k in (0, 2))
        entries = _dynamic(h, _segments(h))
        return None if entries is None else (e_type, e_machine, frozenset(tag for tag, _ in entries))

    return _with_elf(path, read)


def _soname(h: _Header) -> str | None:
    segments = _segments(h)
    entries = _dynamic(h, segments)
    if entries is None:
        return None
    strtab = soname = None
    for tag, val in entries:
        if tag == _DT_STRTAB:
            strtab = val
        elif tag == _DT_SONAME:
            soname = val
    if strtab is None or soname is None:
        return None
    loads = [(v, n, o) for t, o, v, n in segments if t == _PT_LOAD]
    file_off = next((o + strtab - v for v, n, o in loads if v <= strtab < v + n), None)
    if file_off is None or file_off + soname >= h.size:
        return None
    name = h.read(file_off + soname, min(256, h.size - file_off - soname)).split(b"\0", 1)[0]
    return name.decode("utf-8", "replace") or None


def has_interpreter(path: str) -> bool | None:
    """Whether the ELF file at ``path`` names a program interpreter (is dynamically linked).

    ``None`` when it is not a readable ELF file.
    """

    def read(h: _Header) -> bool:
        minsize = 56 if h.is64 else 32
        blob = h.table(h.phoff, h.phnum, h.phentsize, minsize)
        return any(h.uint(blob, i * h.phentsize, 4) == _PT_INTERP for i in range(h.phnum))  # p_type

    return _with_elf(path, read)


def read_notes(fd: int) -> list[tuple[str, int, bytes]]:
    """(name, type, descriptor) of the notes in the SHT_NOTE sections of the ELF file open at ``fd``.

    Bounded as the module says; ``[]`` for anything that is not a sane ELF file.
    """
    try:
        h = _header(fd)
        return [] if h is None else _notes(h)
    except _malformed():  # evaluated only once something was raised
        return []


def _notes(h: _Header) -> list[tuple[str, int, bytes]]:
    import struct

    minsize = 64 if h.is64 else 40
    blob = h.table(h.shoff, h.shnum, h.shentsize, minsize)
    ranges: dict[tuple[int, int], None] = {}
    for i in range(h.shnum):
        base = i * h.shentsize
        (sh_type,) = struct.unpack_from(h.end + "I", blob, base + 4)
        if sh_type != _SHT_NOTE:
            continue
        if h.is64:
            offset, size = struct.unpack_from(h.end + "QQ", blob, base + 0x18)
        else:
            offset, size = struct.unpack_from(h.end + "II", blob, base + 0x10)
        if offset < h.size:
            ranges[(offset, min(size, h.size - offset))] = None
    notes: list[tuple[str, int, bytes]] = []
    budget = _MAX_NOTE_BYTES
    for offset, size in ranges:
        size = min(size, budget)
        budget -= size
        data = h.read(offset, size)
        pos = 0
        while pos + 12 <= size and len(notes) < _MAX_NOTES:
            namesz, descsz, ntype = struct.unpack_from(h.end + "III", data, pos)
            pos += 12
            name = data[pos : pos + namesz].rstrip(b"\0").decode(errors="replace")
            pos += (namesz + 3) & ~3
            desc = data[pos : pos + descsz]
            pos += (descsz + 3) & ~3
            notes.append((name, ntype, desc))
        if budget <= 0 or len(notes) >= _MAX_NOTES:
            break
    return notes
