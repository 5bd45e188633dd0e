"""JSON round trips that keep every number exactly as it was written.

Python's :mod:`json` turns ``1e999`` into ``inf`` and writes it back as
``Infinity`` (not JSON: runc rejects it), ``1.10`` into ``1.1``, ``-0`` into
``0``, and refuses integers over 4300 digits. A program that edits a
document someone else owns (the shim and the bundle's ``config.json``) must
change only what it means to change. :func:`loads` keeps every float, every
``-0``, every huge integer and the non-standard constants as a
:class:`RawNumber` holding the original text; :func:`dumps` writes that text
back verbatim. Ordinary integers stay ``int`` (their text is already
canonical), objects keep their key order, and strings their value (escapes
may be spelled differently, the decoded string is the same).
"""

from __future__ import annotations

import os

from cdikit import _cjson  # json's own C code, without json's import of re (container start path)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["RawNumber", "dumps", "loads"]

_MAX_INT_DIGITS = 4000  # below CPython's int/str conversion limit (4300)


class RawNumber:
    """A JSON number (or NaN/Infinity constant) kept as its source text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawNumber({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _int(text: str) -> int | RawNumber:
    if len(text) > _MAX_INT_DIGITS or text == "-0":
        return RawNumber(text)
    return int(text)


def loads(data: bytes | str) -> Any:
    """Parse JSON, numbers kept exactly (raises ValueError like :func:`json.loads`)."""
    return _cjson.loads(data, parse_float=RawNumber, parse_int=_int, parse_constant=RawNumber)


def dumps(doc: Any) -> bytes:
    """Compact JSON of ``doc``, every :class:`RawNumber` written as its original text."""
    raws: list[str] = []
    # A placeholder string no document can forge (random per call), swapped for the text afterwards.
    token = os.urandom(8).hex()

    def default(obj: object) -> str:
        if isinstance(obj, RawNumber):
            raws.append(obj.text)
            return f"\0{token}:{len(raws) - 1}\0"
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    text = _cjson.dumps(doc, default=default)
    if raws:
        parts = text.split(f'"\\u0000{token}:')
        out = [parts[0]]
        for part in parts[1:]:
            index, _, rest = part.partition('\\u0000"')
            out.append(raws[int(index)] + rest)
        text = "".join(out)
    return text.encode()
