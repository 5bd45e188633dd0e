"""Go's ``path/filepath.Match``, ported line for line (Unix flavour).

The upstream ``cdi inject`` expands its arguments with ``filepath.Match``
against the device list, so ``vendor.com/gpu=*`` means "every gpu". Python's
:mod:`fnmatch` differs in ways that matter here: its ``*`` crosses ``/`` (Go's
does not, so a bare ``*`` matches no qualified name), it negates classes with
``!`` (Go uses ``^``) and it never reports a malformed pattern (Go does).
"""

from __future__ import annotations

__all__ = ["BadPatternError", "has_magic", "match"]

_SEPARATOR = "/"
_MAGIC = frozenset("*?[\\")


class BadPatternError(ValueError):
    """The pattern is malformed (Go's ``filepath.ErrBadPattern``)."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"syntax error in pattern {pattern!r}")
        self.pattern = pattern


def has_magic(pattern: str) -> bool:
    """True when ``pattern`` holds a character that Match treats specially."""
    return any(ch in _MAGIC for ch in pattern)


def match(pattern: str, name: str) -> bool:
    """Whether ``name`` matches the shell pattern; raises :class:`BadPatternError`."""
    try:
        return _match(pattern, name)
    except _Bad:
        raise BadPatternError(pattern) from None


class _Bad(Exception):
    pass


def _match(pattern: str, name: str) -> bool:
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            # A trailing * matches the rest of the name unless it holds a separator.
            return _SEPARATOR not in name
        rest, ok = _match_chunk(chunk, name)
        # The last chunk must exhaust the name, otherwise a later star position may still match.
        if ok and (not rest or pattern):
            name = rest
            continue
        if star:
            # Try the chunk after skipping i+1 characters; a star never skips a separator.
            i = 0
            matched = False
            while i < len(name) and name[i] != _SEPARATOR:
                rest, ok = _match_chunk(chunk, name[i + 1 :])
                if ok:
                    if not pattern and rest:
                        i += 1
                        continue
                    name = rest
                    matched = True
                    break
                i += 1
            if matched:
                continue
        # Before answering "no", check the rest of the pattern is well-formed (as Go does).
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _match_chunk(chunk: str, s: str) -> tuple[str, bool]:
    # After a mismatch keep walking the chunk (without reading s) so that a
    # malformed pattern is reported whatever the name.
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        head = chunk[0]
        if head == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = chunk.startswith("^")
            if negated:
                chunk = chunk[1:]
            matched = False
            ranges = 0
            while True:
                if chunk.startswith("]") and ranges > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if not failed and lo <= r <= hi:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif head == "?":
            if not failed:
                if s[0] == _SEPARATOR:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise _Bad
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    if failed:
        return "", False
    return s, True


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise _Bad
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise _Bad
    r, rest = chunk[0], chunk[1:]
    if not rest:
        raise _Bad
    return r, rest
