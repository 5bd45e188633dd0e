"""Loading a driver library from the driver root into this process, with a sanity check first.

NVML, nvsandboxutils and dxcore are C libraries that nvidia-ctk (and cdikit)
``dlopen`` from the driver root. The dynamic loader trusts what it maps: a
truncated or stub file (a fake root's placeholder, a half-written upgrade) can
crash the whole process instead of failing. :func:`load_library` therefore
first checks, with a few bounded reads, that the file is an ELF shared object
of this machine with a dynamic symbol table and a hash table, and raises
``OSError`` otherwise, as a failed ``dlopen`` would.
"""

from __future__ import annotations

import ctypes
import os
import struct

__all__ = ["load_library"]

_ET_DYN = 3
_PT_DYNAMIC = 2
_DT_NULL, _DT_HASH, _DT_SYMTAB, _DT_GNU_HASH = 0, 4, 6, 0x6FFFFEF5
_MAX_DYN = 4096
_MACHINES = {"x86_64": 62, "aarch64": 183, "arm64": 183, "ppc64le": 21, "s390x": 22, "riscv64": 243}


def _check(path: str) -> str | None:
    """Why ``path`` is not a loadable shared object of this machine, or ``None``."""
    with open(path, "rb") as f:
        ident = f.read(64)
        if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] not in (1, 2):
            return "not a 64-bit ELF file"
        end = "<" if ident[5] == 1 else ">"
        e_type, e_machine = struct.unpack_from(end + "HH", ident, 16)
        machine = _MACHINES.get(os.uname().machine)
        if e_type != _ET_DYN:
            return "not a shared object"
        if machine is not None and e_machine != machine:
            return f"built for another machine (e_machine {e_machine})"
        (phoff,) = struct.unpack_from(end + "Q", ident, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", ident, 0x36)
        dynamic = None
        for i in range(min(phnum, 256)):
            f.seek(phoff + i * phentsize)
            raw = f.read(56)
            if len(raw) < 56:
                return "truncated program headers"
            p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(end + "IIQQQQ", raw)
            if p_type == _PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            return "no dynamic segment"
        f.seek(dynamic[0])
        blob = f.read(min(dynamic[1], 16 * _MAX_DYN))
    tags = set()
    for off in range(0, len(blob) - 15, 16):
        (tag,) = struct.unpack_from(end + "q", blob, off)
        if tag == _DT_NULL:
            break
        tags.add(tag)
    if _DT_SYMTAB not in tags or not tags & {_DT_HASH, _DT_GNU_HASH}:
        return "no dynamic symbol or hash table"
    return None


def load_library(path: str) -> ctypes.CDLL:
    """``ctypes.CDLL(path)`` (``RTLD_LOCAL``) after the check; ``OSError`` if either fails."""
    try:
        problem = _check(path)
    except (OSError, struct.error) as exc:
        raise OSError(f"{path}: {exc}") from exc
    if problem is not None:
        raise OSError(f"{path}: {problem}")
    return ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
