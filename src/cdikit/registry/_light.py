"""What listing a registry needs, importable without the spec model (or typing).

Scanning (the walk :mod:`cdikit.registry.scan` documents) and the priority
and conflict rules of :class:`~cdikit.registry.Registry` live here so that
the registry and the lean ``cdi devices`` (:mod:`cdikit.cli._lean`), which
answers from the disk cache's index, apply the very same ones.
"""

from __future__ import annotations

import errno
import os
import stat

from cdikit._paths import SPEC_EXTENSIONS, has_spec_extension
from cdikit._text import go_errno_text, go_quote

TYPE_CHECKING = False  # not typing's: the lean listing path imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import TypeVar

    V = TypeVar("V")

__all__ = ["Scanned", "resolve_devices", "scan_raw"]

# (path as scanned, priority, error text when the entry could not even be examined)
Scanned = tuple[str, int, str | None]


def _os_error_text(op: str, path: str, err: OSError) -> str:
    # Go's *PathError text: "<op> <path>: <strerror>".
    return f"{op} {path}: {go_errno_text(err)}"


def _sorted_names(directory: str) -> list[tuple[str, bool]] | None:
    """Entry names of ``directory`` in Go's byte order, each with "is a real directory"."""
    try:
        with os.scandir(directory) as it:
            entries = [(e.name, _is_real_dir(e)) for e in it]
    except OSError:
        # Walk reports an unreadable root to the callback, which ignores it.
        return None
    # Code-point order is UTF-8 byte order, except for the surrogate escapes of undecodable bytes.
    if all(name.isascii() for name, _ in entries):
        entries.sort()
    else:
        entries.sort(key=lambda item: os.fsencode(item[0]))
    return entries


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _scan_one(directory: str, priority: int) -> Iterator[Scanned]:
    try:
        root = os.lstat(directory)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return
        yield (directory, priority, _os_error_text("lstat", directory, err))
        return
    if not stat.S_ISDIR(root.st_mode):
        # A file (or a symlink, even to a directory) given as a spec dir.
        if has_spec_extension(directory):
            yield (directory, priority, None)
        return
    names = _sorted_names(directory)
    if names is None:
        return
    # ``directory`` is clean and a name holds no "/", so Join is plain concatenation
    # except at "." (Join(".", "a") is "a") and "/" (no doubled slash).
    prefix = "" if directory == "." else directory if directory.endswith("/") else directory + "/"
    for name, is_dir in names:
        if not is_dir and name.endswith(SPEC_EXTENSIONS):
            yield (prefix + name, priority, None)


def scan_raw(spec_dirs: Sequence[str]) -> list[Scanned]:
    """Every candidate spec file of ``spec_dirs`` (already cleaned), in scan order."""
    found: list[Scanned] = []
    for priority, directory in enumerate(spec_dirs):
        found.extend(_scan_one(directory, priority))
    return found


def resolve_devices(
    specs: Iterable[tuple[str, int, Iterable[tuple[str, V]]]], record: Callable[..., None]
) -> tuple[dict[str, V], set[str]]:
    """The devices of ``specs`` (spec path, priority, (qualified name, value) pairs; scan order).

    A later (higher) priority wins; the same name twice at one priority is a
    conflict: ``record(message, *paths)`` is told against both files, and the
    name is dropped everywhere. Returns the devices and the conflicting names.
    """
    devices: dict[str, V] = {}
    owners: dict[str, tuple[int, str]] = {}
    conflicts: set[str] = set()
    for path, priority, named in specs:
        for qualified, value in named:
            old = owners.get(qualified)
            if old is not None:
                old_prio, old_path = old
                if priority < old_prio:
                    continue
                if priority == old_prio:
                    # The stored definition stays for further comparisons; the name is dropped at the end.
                    record(
                        f"conflicting device {go_quote(qualified)} (specs {go_quote(path)}, {go_quote(old_path)})",
                        path,
                        old_path,
                    )
                    conflicts.add(qualified)
                    continue
            devices[qualified] = value
            owners[qualified] = (priority, path)
    for qualified in conflicts:
        devices.pop(qualified, None)
    return devices, conflicts
