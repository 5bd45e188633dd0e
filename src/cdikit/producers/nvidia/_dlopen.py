"""Loading a driver library from the driver root into this process, with a sanity check first.

NVML, nvsandboxutils and dxcore are C libraries that nvidia-ctk (and cdikit)
``dlopen`` from the driver root. The dynamic loader trusts what it maps: a
truncated or stub file (a fake root's placeholder, a half-written upgrade) can
crash the whole process instead of failing. :func:`load_library` therefore
first checks, with a few bounded reads (:mod:`cdikit._elf`), that the file is an
ELF shared object of this machine with a dynamic symbol table and a hash table,
and raises ``OSError`` otherwise, as a failed ``dlopen`` would.
"""

from __future__ import annotations

import os

from cdikit._elf import dynamic_tags

TYPE_CHECKING = False  # not typing's: `cdi generate nvidia` start-up time
if TYPE_CHECKING:
    import ctypes

__all__ = ["check_library", "load_library"]

_ET_DYN = 3
_DT_HASH, _DT_SYMTAB, _DT_GNU_HASH = 4, 6, 0x6FFFFEF5
_MACHINES = {"x86_64": 62, "aarch64": 183, "arm64": 183, "ppc64le": 21, "s390x": 22, "riscv64": 243}


def _check(path: str) -> str | None:
    """Why ``path`` is not a loadable shared object of this machine, or ``None``."""
    found = dynamic_tags(path)
    if found is None:
        return "not an ELF shared object with a dynamic segment"
    e_type, e_machine, tags = found
    machine = _MACHINES.get(os.uname().machine)
    if e_type != _ET_DYN:
        return "not a shared object"
    if machine is not None and e_machine != machine:
        return f"built for another machine (e_machine {e_machine})"
    if _DT_SYMTAB not in tags or not tags & {_DT_HASH, _DT_GNU_HASH}:
        return "no dynamic symbol or hash table"
    return None


def check_library(path: str) -> None:
    """``OSError`` unless ``path`` is a loadable shared object of this machine (see above)."""
    problem = _check(path)
    if problem is not None:
        raise OSError(f"{path}: {problem}")


def load_library(path: str) -> ctypes.CDLL:
    """``ctypes.CDLL(path)`` (``RTLD_LOCAL``) after the check; ``OSError`` if either fails."""
    import ctypes

    check_library(path)
    return ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
