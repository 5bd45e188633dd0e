"""Text helpers shared by every layer: Go-compatible quoting for error messages."""

from __future__ import annotations

import os

__all__ = ["go_errno_text", "go_quote"]

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
