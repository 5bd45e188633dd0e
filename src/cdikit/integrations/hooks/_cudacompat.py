"""``enable-cuda-compat``: use the image's CUDA forward-compat driver when the host's is older.

The decision reads the container's ``<compat root>/libcuda.so.<version>``
file *name*, and the JSON ELF note NVIDIA puts in newer compat libraries,
by parsing the file's bytes with the bounded reader of :mod:`cdikit._elf`
(a crafted library costs a few small reads): no container code is ever
loaded or run on the host. When the compat library is to be used, the compat directory is written
to ``/etc/ld.so.conf.d/00-cdikit-compat.conf`` (sorting before the
``update-ldcache`` drop-in, which must run after this hook, as in the
reference).

Decision, as nvidia-cdi-hook 1.20 makes it (``cudacompat``; versions are
semver, ``580.65.06`` = 580.65.6):

* the note is the first note of an ``NVIDIA Corporation`` owner whose
  descriptor is a JSON object ``{"format": 1, "CUDA version": "12.9",
  "driver": [535, ...], "device": [...]}`` (keys matched case-insensitively,
  as Go's ``encoding/json`` does; a wrongly typed value means "no note");
* note present: if the compat or host driver version is unknown, use compat
  iff the note's CUDA version is newer than the host CUDA version (when given);
  else iff the host driver's major is in ``driver`` and the compat version is
  newer than the host driver;
* no note: with a host CUDA version given, don't; else iff the host driver's
  major is older than the compat library's.
"""

from __future__ import annotations

import os

from cdikit._rootfs import ContainerRoot
from cdikit.integrations.hooks._errors import HookError
from cdikit.integrations.hooks._ldcache import _write_file

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from typing import Any

__all__ = ["COMPAT_DROP_IN", "compat_decision", "decode_compat_note", "enable_cuda_compat"]

COMPAT_DROP_IN = "00-cdikit-compat.conf"
_PREFIX = "libcuda.so."
_MAX_ENTRIES = 4096  # a compat dir holds a dozen files


def _version(text: str | None) -> tuple[int, ...] | None:
    """Masterminds' loose semver as the hook uses it: ``v``, one to three numbers, ``-pre``, ``+build``.

    Returns ``(major, minor, patch, 1)`` for a release and ``(major, minor, patch, 0)``
    for a pre-release (which sorts before its release); ``None`` when not a version.
    """
    if not text:
        return None
    core = text.strip().removeprefix("v").split("+", 1)[0]
    core, dash, _pre = core.partition("-")
    parts = core.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return (*numbers, 0 if dash else 1)


def _compat_note(fd: int) -> dict[str, Any] | None:
    """The compat note: the first note owned by ``NVIDIA Corporation`` (bounded reads, :mod:`cdikit._elf`)."""
    from cdikit._elf import read_notes

    for owner, _, desc in read_notes(fd):
        if owner == "NVIDIA Corporation":
            return decode_compat_note(desc)
    return None


_NOTE_FIELDS = {"format": int, "cuda version": str, "driver": list, "device": list}


def decode_compat_note(desc: bytes) -> dict[str, Any] | None:
    """The JSON descriptor of the compat note, keys lower-cased; ``None`` if it is not one.

    Go decodes it into ``{Format int; CUDAVersion string "CUDA Version";
    Driver, Device []int}``: keys match case-insensitively, unknown keys are
    ignored, and a value of the wrong type is an error (the hook then
    proceeds as if there were no note).
    """
    try:
        from cdikit._cjson import loads  # json's C scanner without json's import of re

        doc = loads(desc.strip(b"\0"))
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    out: dict[str, Any] = {}
    for key, value in doc.items():
        field = key.lower()
        kind = _NOTE_FIELDS.get(field)
        if kind is None or value is None:
            continue
        if kind is int and (type(value) is not int):
            return None
        if kind is list and not (isinstance(value, list) and all(type(v) is int for v in value)):
            return None
        if kind is str and not isinstance(value, str):
            return None
        out[field] = value
    return out


def _compat_libraries(dir_fd: int) -> list[str] | None:
    """The ``libcuda.so.<version>`` regular files in the directory; None past :data:`_MAX_ENTRIES` entries."""
    names: list[str] = []
    with os.scandir(dir_fd) as entries:
        for count, entry in enumerate(entries):
            if count >= _MAX_ENTRIES:
                return None  # the image's directory, so its size is the image's choice: bounded
            name = entry.name
            if (
                name.startswith(_PREFIX)
                and "." in name[len(_PREFIX) :]
                and entry.is_file(follow_symlinks=False)
            ):
                names.append(name)
    return names


def compat_decision(
    compat_version: str, note: dict[str, Any] | None, host_driver: str | None, host_cuda: str | None
) -> bool:
    """Whether the compat library should be used (see the module docstring)."""
    compat = _version(compat_version)
    driver = _version(host_driver)
    cuda = _version(host_cuda)
    if note is not None:
        if compat is None or driver is None:
            note_cuda = _version(note.get("cuda version"))
            return note_cuda is not None and cuda is not None and note_cuda > cuda
        return driver[0] in (note.get("driver") or []) and compat > driver
    if host_cuda:
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
            names = _compat_libraries(listing)
            if names is None or len(names) != 1:
                return False  # none, ambiguous or a flooded directory: leave the image as it is
            fd = os.open(names[0], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=listing)
            try:
                note = _compat_note(fd)  # bounded reads (cdikit._elf), never the whole file
            finally:
                os.close(fd)
        finally:
            os.close(listing)
    finally:
        os.close(dir_fd)
    if not compat_decision(names[0][len(_PREFIX) :], note, host_driver_version, host_cuda_version):
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
