"""The grammar of ``AMD_VISIBLE_DEVICES`` (ROCm's runtime), one home for the generator and the shim.

Light on purpose (no spec model): the runtime shim reads it on a container's
create path. :func:`cdikit.producers.amd.parse_visible_devices` turns the
entries into GPU indices of a host; the shim turns them into ``amd.com/gpu``
names.
"""

from __future__ import annotations

__all__ = ["ALL_VALUES", "VAR", "Entry", "entries", "uid_digits", "unique_id_name"]

VAR = "AMD_VISIBLE_DEVICES"
ALL_VALUES = ("all", "All", "ALL")
_HEX = frozenset("0123456789abcdefABCDEF")

# (kind, first, last, item as written): kind "index" (first == last), "range", "uid" (see
# uid_digits) or "invalid".
Entry = tuple[str, int, int, str]


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in _HEX for c in text)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone takes "²", which int() refuses


def entries(value: str) -> list[Entry]:
    """The comma-separated entries of a value other than ``all``, classified as ROCm does.

    A unique id is ``0x…`` or more than 8 hex digits (any case); a range is
    ``a-b`` with ``a <= b``; an index is a decimal number; anything else is
    ``invalid``.
    """
    out: list[Entry] = []
    for item in value.split(","):
        if item[:2] in ("0x", "0X") or (len(item) > 8 and _is_hex(item)):
            out.append(("uid" if _is_hex(uid_digits(item)) else "invalid", 0, 0, item))
        elif "-" in item:
            start, _, end = item.partition("-")
            if _is_number(start) and _is_number(end) and int(start) <= int(end):
                out.append(("range", int(start), int(end), item))
            else:
                out.append(("invalid", 0, 0, item))
        elif _is_number(item):
            out.append(("index", int(item), int(item), item))
        else:
            out.append(("invalid", 0, 0, item))
    return out


def uid_digits(item: str) -> str:
    """The hex digits of a unique-id entry, lower-case, without ``0x``."""
    return (item[2:] if item[:2] in ("0x", "0X") else item).lower()


def unique_id_name(digits: str) -> str:
    """The device name ``cdi generate amd`` gives a unique id: ``0x`` and upper-case hex, no leading zeros."""
    return "0x" + (digits.lstrip("0") or "0").upper()
