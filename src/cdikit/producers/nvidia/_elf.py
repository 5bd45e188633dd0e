"""Read the DT_SONAME of an ELF shared object without loading it.

Only the program headers, the dynamic segment and one string are read, so even a
100 MB ``libcuda`` costs a few small reads. Anything that is not a well-formed
ELF file yields ``None`` (discovery then treats the file as having no SONAME).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

__all__ = ["read_soname"]

_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_STRTAB = 5
_DT_SONAME = 14
_MAX_DYN = 4096  # entries; real objects have a few dozen


def read_soname(path: str) -> str | None:
    """The SONAME recorded in the ELF file at ``path``, or ``None``."""
    try:
        with open(path, "rb") as f:
            return _read(f)
    except (OSError, struct.error, ValueError):
        return None


def _read(f: BinaryIO) -> str | None:
    ident = f.read(16)
    if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        return None
    is64 = ident[4] == 2
    end = "<" if ident[5] == 1 else ">"
    if is64:
        f.seek(0x20)
        (phoff,) = struct.unpack(end + "Q", f.read(8))
        f.seek(0x36)
        phentsize, phnum = struct.unpack(end + "HH", f.read(4))
        ph_fmt, dyn_fmt = end + "IIQQQQQQ", end + "qQ"
    else:
        f.seek(0x1C)
        (phoff,) = struct.unpack(end + "I", f.read(4))
        f.seek(0x2A)
        phentsize, phnum = struct.unpack(end + "HH", f.read(4))
        ph_fmt, dyn_fmt = end + "IIIIIIII", end + "iI"
    loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
    dynamic: tuple[int, int] | None = None  # (offset, filesz)
    for i in range(min(phnum, 256)):
        f.seek(phoff + i * phentsize)
        raw = struct.unpack(ph_fmt, f.read(struct.calcsize(ph_fmt)))
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = raw[:6]
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = raw[:5]
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_filesz, p_offset))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return None
    size = struct.calcsize(dyn_fmt)
    f.seek(dynamic[0])
    blob = f.read(min(dynamic[1], size * _MAX_DYN))
    strtab = soname = None
    for off in range(0, len(blob) - size + 1, size):
        tag, val = struct.unpack_from(dyn_fmt, blob, off)
        if tag == _DT_NULL:
            break
        if tag == _DT_STRTAB:
            strtab = val
        elif tag == _DT_SONAME:
            soname = val
    if strtab is None or soname is None:
        return None
    file_off = next((o + strtab - v for v, n, o in loads if v <= strtab < v + n), None)
    if file_off is None:
        return None
    f.seek(file_off + soname)
    name = f.read(256).split(b"\0", 1)[0]
    return name.decode("utf-8", "replace") or None
