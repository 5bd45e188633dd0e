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

from collections.abc import Sequence
from typing import NamedTuple

from cdikit._paths import SPEC_EXTENSIONS, go_clean, has_spec_extension
from cdikit.registry._light import scan_raw

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


def scan_spec_dirs(spec_dirs: Sequence[str]) -> list[Candidate]:
    """Every candidate spec file of ``spec_dirs`` (already cleaned), in scan order.

    The priority of a file is the index of its directory in ``spec_dirs``.
    """
    return [Candidate(*found) for found in scan_raw(spec_dirs)]
