"""Library directories listed in a root's ``/etc/ld.so.cache`` (glibc 1.1 format).

The reference falls back to ld.so.cache when the standard directories hold no
match; cdikit reads the same file but only takes the *directories* of its 64-bit
entries, which then join the library search (symlinks are still resolved inside the
root by the caller).
"""

from __future__ import annotations

import struct

__all__ = ["ld_so_cache_dirs"]

_MAGIC = b"glibc-ld.so.cache1.1"
_HEADER = 48  # magic+version (20), nlibs, len_strings, flags+pad, extension offset, 3 unused
_ENTRY = struct.Struct("<iIIIQ")  # flags, key, value, osversion, hwcap
_LIBC6 = 0x0003
_ARCH_64 = (0x0300, 0x0A00, 0x0500)  # x86-64, aarch64, ppc64le (as the reference)


def ld_so_cache_dirs(path: str) -> list[str]:
    """Unique directories of the 64-bit libraries in the cache at ``path``; [] if unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    base = data.find(_MAGIC)
    if base < 0 or len(data) < base + _HEADER:
        return []
    (nlibs,) = struct.unpack_from("<I", data, base + 20)
    out: list[str] = []
    for i in range(nlibs):
        off = base + _HEADER + i * _ENTRY.size
        if off + _ENTRY.size > len(data):
            break
        flags, _key, value, _os, _hwcap = _ENTRY.unpack_from(data, off)
        if flags & 0xFF != _LIBC6 or flags & 0xFF00 not in _ARCH_64:
            continue
        end = data.find(b"\0", base + value)
        if end < 0:
            continue
        lib = data[base + value : end].decode("utf-8", "replace")
        directory = lib.rsplit("/", 1)[0] if "/" in lib else ""
        if directory.startswith("/") and directory not in out:
            out.append(directory)
    return out
