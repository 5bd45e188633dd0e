"""Go's ``filepath.Match`` for the CLI: it lives in :mod:`cdikit._gomatch` (producers use it too)."""

from cdikit._gomatch import BadPatternError, has_magic, match

__all__ = ["BadPatternError", "has_magic", "match"]
