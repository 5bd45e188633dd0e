"""Which files of the spec directories are candidate spec files.

Mirrors ``scanSpecDirs`` of the Go reference (``pkg/cdi/spec-dirs.go``), which
drives ``filepath.Walk`` over each directory:

* a missing directory is skipped silently;
* the root is ``lstat``-ed, so a spec directory that is itself a symlink is
  not descended into (it is then a candidate file, like a regular file given
  as a spec directory);
* subdirectories are skipped, never recursed into;
* only names whose extension is exactly ``.json`` or ``.yaml`` are candidates;
* entries come in lexical (byte) order;
* paths stay exactly as the caller spelled them, ``filepath.Clean``-ed, so a
  relative spec directory yields relative spec paths.

One deliberate difference: an ``lstat`` failure other than "not found" makes
Walk abort the scan of every remaining directory; cdikit records it against
that one path instead (a broken entry never hides good specs).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from cdikit._paths import SPEC_EXTENSIONS, go_clean, has_spec_extension
from cdikit._text import go_errno_text

__all__ = ["SPEC_EXTENSIONS", "Candidate", "go_clean", "go_join", "has_spec_extension", "scan_spec_dirs"]


class Candidate(NamedTuple):
    """One scanned entry: a spec file path (as scanned) and its priority.

    ``error`` is set when the entry could not even be examined (an ``lstat``
    failure other than "not found"); the path then carries that error.
    """

    path: str
    priority: int
    error: str | None = None


def go_join(*parts: str) -> str:
    """``filepath.Join``: join the non-empty parts, then Clean."""
    kept = [p for p in parts if p]
    return go_clean("/".join(kept)) if kept else ""


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


def _scan_one(directory: str, priority: int) -> Iterable[Candidate]:
    try:
        root = os.lstat(directory)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return
        yield Candidate(directory, priority, _os_error_text("lstat", directory, err))
        return
    if not stat.S_ISDIR(root.st_mode):
        # A file (or a symlink, even to a directory) given as a spec dir.
        if has_spec_extension(directory):
            yield Candidate(directory, priority)
        return
    names = _sorted_names(directory)
    if names is None:
        return
    # ``directory`` is clean and a name holds no "/", so Join is plain concatenation
    # except at "." (Join(".", "a") is "a") and "/" (no doubled slash).
    prefix = "" if directory == "." else directory if directory.endswith("/") else directory + "/"
    for name, is_dir in names:
        if not is_dir and name.endswith(SPEC_EXTENSIONS):
            yield Candidate(prefix + name, priority)


def scan_spec_dirs(spec_dirs: Sequence[str]) -> list[Candidate]:
    """Every candidate spec file of ``spec_dirs`` (already cleaned), in scan order.

    The priority of a file is the index of its directory in ``spec_dirs``.
    """
    found: list[Candidate] = []
    for priority, directory in enumerate(spec_dirs):
        found.extend(_scan_one(directory, priority))
    return found
