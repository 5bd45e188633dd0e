"""Text helpers shared by every layer: Go-compatible quoting for error messages."""

from __future__ import annotations

import os

__all__ = ["go_errno_text", "go_fold", "go_quote"]

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _printable(ch: str) -> bool:
    # Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    import unicodedata  # only for non-ASCII text; ASCII takes go_quote's fast path

    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def go_errno_text(err: OSError) -> str:
    """An OS error as Go words it: glibc's ``strerror`` text with a lower-case first letter."""
    text = os.strerror(err.errno) if err.errno else str(err)
    return text[:1].lower() + text[1:]


def go_quote(text: str) -> str:
    """``strconv.Quote``: the form Go's ``%q`` gives, so messages match the reference."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch == "\ufffd" or _printable(ch):
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x80:
                out.append(f"\\x{cp:02x}")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def go_fold(key: str) -> str:
    """encoding/json's ``foldName`` for matching keys to ASCII field names case-insensitively.

    ASCII letters are upper-cased; other runes map to the least rune of their simple
    case-folding orbit, so only the long s U+017F (-> ``S``) and the Kelvin sign U+212A
    (-> ``K``) can join an ASCII letter. The ligature U+FB01 or a dotless i U+0131 match
    nothing (``str.casefold`` would match both: full Unicode folding is not Go's).
    """
    if key.isascii():
        return key.upper()
    return "".join(
        "S" if c == "\u017f" else "K" if c == "\u212a" else c.upper() if c.isascii() else c for c in key
    )
