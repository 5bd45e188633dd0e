"""``enable-cuda-compat``: use the image's CUDA forward-compat driver when the host's is older.

The decision reads the container's ``<compat root>/libcuda.so.<version>``
file *name*, and the JSON ELF note NVIDIA puts in newer compat libraries,
by parsing the file's bytes: no container code is ever loaded or run on the
host. When the compat library is to be used, the compat directory is written
to ``/etc/ld.so.conf.d/00-cdikit-compat.conf`` (sorting before the
``update-ldcache`` drop-in, which must run after this hook, as in the
reference).

Decision, as the reference makes it:

* note present with a ``driver`` list: use compat iff the host driver's major
  is in the list and the compat version is newer than the host driver;
  with only ``cuda`` in the note: iff that CUDA version is newer than the
  host's (when given);
* no note: with a host CUDA version given, don't; else iff the host driver's
  major is older than the compat library's.
"""

from __future__ import annotations

import os
import stat
import struct

from cdikit.integrations.hooks._errors import HookError
from cdikit.integrations.hooks._ldcache import _write_file
from cdikit.integrations.hooks._rootfs import ContainerRoot

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMPAT_DROP_IN", "compat_decision", "enable_cuda_compat", "read_elf_notes"]

COMPAT_DROP_IN = "00-cdikit-compat.conf"
_PREFIX = "libcuda.so."
_MAX_ELF = 256 << 20


def _version(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(p) for p in text.strip().split("."))
    except ValueError:
        return None


def read_elf_notes(data: bytes) -> list[tuple[str, int, bytes]]:
    """(name, type, descriptor) of every note in the ELF section headers of ``data``."""
    if data[:4] != b"\x7fELF" or len(data) < 64:
        return []
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    try:
        if is64:
            (shoff,) = struct.unpack_from(end + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
        else:
            (shoff,) = struct.unpack_from(end + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
        notes: list[tuple[str, int, bytes]] = []
        for i in range(min(shnum, 4096)):
            base = shoff + i * shentsize
            if is64:
                (sh_type,) = struct.unpack_from(end + "I", data, base + 4)
                offset, size = struct.unpack_from(end + "QQ", data, base + 0x18)
            else:
                (sh_type,) = struct.unpack_from(end + "I", data, base + 4)
                offset, size = struct.unpack_from(end + "II", data, base + 0x10)
            if sh_type != 7:  # SHT_NOTE
                continue
            pos, stop = offset, min(offset + size, len(data))
            while pos + 12 <= stop:
                namesz, descsz, ntype = struct.unpack_from(end + "III", data, pos)
                pos += 12
                name = data[pos : pos + namesz].rstrip(b"\0").decode(errors="replace")
                pos += (namesz + 3) & ~3
                desc = data[pos : pos + descsz]
                pos += (descsz + 3) & ~3
                notes.append((name, ntype, desc))
        return notes
    except struct.error:
        return []


def _compat_note(data: bytes) -> dict[str, Any] | None:
    for _, _, desc in read_elf_notes(data):
        text = desc.rstrip(b"\0")
        if not text.startswith(b"{"):
            continue
        try:
            from cdikit._cjson import loads

            doc = loads(text)
        except ValueError:
            continue
        if isinstance(doc, dict) and ("driver" in doc or "cuda" in doc):
            return doc
    return None


def compat_decision(
    compat_version: str, note: dict[str, Any] | None, host_driver: str | None, host_cuda: str | None
) -> bool:
    """Whether the compat library should be used (see the module docstring)."""
    compat = _version(compat_version)
    driver = _version(host_driver)
    cuda = _version(host_cuda)
    if note is not None:
        drivers = note.get("driver")
        if compat is not None and driver is not None and isinstance(drivers, list):
            majors = {_version(str(d)) for d in drivers}
            return (driver[0],) in majors and compat > driver
        note_cuda = _version(str(note.get("cuda"))) if note.get("cuda") is not None else None
        return note_cuda is not None and cuda is not None and note_cuda > cuda
    if cuda is not None:
        return False
    return compat is not None and driver is not None and driver[0] < compat[0]


def enable_cuda_compat(
    root: ContainerRoot,
    *,
    host_driver_version: str | None,
    host_cuda_version: str | None = None,
    compat_root: str = "/usr/local/cuda/compat",
) -> bool:
    """Write the compat drop-in when the compat library should be used; returns whether it was."""
    if not host_driver_version and not host_cuda_version:
        return False
    try:
        dir_fd = root.open_dir(compat_root)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise HookError(f"cannot open {compat_root} in {root.path}: {e.strerror}", path=compat_root) from e
    try:
        listing = os.open(f"/proc/self/fd/{dir_fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            names = [
                n
                for n in os.listdir(listing)
                if n.startswith(_PREFIX)
                and "." in n[len(_PREFIX) :]
                and stat.S_ISREG(os.stat(n, dir_fd=listing, follow_symlinks=False).st_mode)
            ]
            if len(names) != 1:
                return False  # none, or ambiguous: leave the image as it is
            fd = os.open(names[0], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=listing)
            try:
                data = os.read(fd, _MAX_ELF)
            finally:
                os.close(fd)
        finally:
            os.close(listing)
    finally:
        os.close(dir_fd)
    if not compat_decision(
        names[0][len(_PREFIX) :], _compat_note(data), host_driver_version, host_cuda_version
    ):
        return False
    try:
        conf = root.open_dir("/etc/ld.so.conf.d", create=True)
        try:
            _write_file(conf, COMPAT_DROP_IN, (compat_root.rstrip("/") + "\n").encode())
        finally:
            os.close(conf)
    except OSError as e:
        raise HookError(f"cannot write {COMPAT_DROP_IN} in {root.path}: {e.strerror}", path=root.path) from e
    return True
