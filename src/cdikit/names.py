"""The CDI qualified-name grammar: ``vendor/class=name``.

Behaviour and error texts follow ``pkg/parser`` of the Go reference library
exactly, including its byte-versus-rune quirks: the first and last characters
are checked as single *bytes* of the UTF-8 encoding, the characters in
between as runes of the byte slice that cuts the last UTF-8 sequence (so a
name ending in ``ë`` is reported as containing ``'\\ufffd'``).

The one deliberate difference: Go panics on one-character vendor or class
names (it slices ``name[1:0]``); cdikit raises :class:`InvalidNameError` with
``go_panics=True`` instead, because such names crash Go CDI consumers.

Valid names take a fast path of set-membership checks (no :mod:`re`: it is
the costliest import of a warm container start); the byte-level logic below
only runs to compose the error message of an invalid name.
"""

from __future__ import annotations

from cdikit._text import go_quote
from cdikit.errors import InvalidNameError

__all__ = [
    "is_qualified_name",
    "parse_device",
    "parse_qualified_name",
    "parse_qualifier",
    "qualified_name",
    "validate_class_name",
    "validate_device_name",
    "validate_vendor_name",
]

# The grammar, as Go's regular expressions would spell it (ASCII only, never \w or str.isalnum):
#   vendor, class: [A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]
#   device name:   [A-Za-z0-9](?:[A-Za-z0-9_.:\-]*[A-Za-z0-9])?
# A valid vendor holds neither "/" nor "=", and a valid class no "=", so the
# whole Go split-then-validate pipeline collapses into one split for valid input.
_LETTER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ALNUM_CHARS = _LETTER_CHARS | frozenset("0123456789")


def _is_vendor_or_class(name: str) -> bool:
    return (
        len(name) >= 2
        and name[0] in _LETTER_CHARS
        and name[-1] in _ALNUM_CHARS
        and all(c in _VC_MIDDLE for c in name[1:-1])
    )


def _is_device_name(name: str) -> bool:
    return (
        name != ""
        and name[0] in _ALNUM_CHARS
        and name[-1] in _ALNUM_CHARS
        and all(c in _DEVICE_MIDDLE for c in name[1:-1])
    )


def _split_qualified(device: str) -> tuple[str, str, str] | None:
    """``(vendor, class, name)`` of a valid qualified name, else None."""
    vendor, sep, rest = device.partition("/")
    if not sep:
        return None
    cls, sep, name = rest.partition("=")
    if sep and _is_vendor_or_class(vendor) and _is_vendor_or_class(cls) and _is_device_name(name):
        return vendor, cls, name
    return None


_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_VC_MIDDLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_DEVICE_MIDDLE = _VC_MIDDLE | {":"}

_PANIC_NOTE = (
    "one-character vendor/class names crash Go CDI consumers (slice bounds out of range) -- rejected"
)


def _utf8(s: str) -> bytes:
    # Lone surrogates (possible in str, impossible in a Go string) become the
    # three bytes Go would then see and reject as invalid UTF-8.
    return s.encode("utf-8", "surrogatepass")


def _first_bad_rune(middle: bytes, allowed: frozenset[str]) -> str | None:
    """The first rune of ``middle`` outside ``allowed``, decoded as Go's range does."""
    # Any invalid UTF-8 (a cut sequence, a surrogate) decodes to U+FFFD, which is
    # what Go's range yields for it; only the first offending rune matters.
    for ch in middle.decode("utf-8", "replace"):
        if ch not in allowed:
            return ch
    return None


def _vendor_or_class_error(name: str) -> tuple[str, bool] | None:
    """Go's ``validateVendorOrClassName``: (message, go_panics) or None when valid."""
    if _is_vendor_or_class(name):
        return None
    if name == "":
        return "empty name", False
    raw = _utf8(name)
    if raw[0] not in _LETTERS:
        return f"{go_quote(name)}, should start with letter", False
    if len(raw) == 1:
        return f"{go_quote(name)}: {_PANIC_NOTE}", True
    bad = _first_bad_rune(raw[1:-1], _VC_MIDDLE)
    if bad is not None:
        return f"invalid character '{bad}' in name {go_quote(name)}", False
    return f"{go_quote(name)}, should end with a letter or digit", False


def _device_name_error(name: str) -> str | None:
    """Go's ``ValidateDeviceName``: the message, or None when valid."""
    if _is_device_name(name):
        return None
    if name == "":
        return "invalid (empty) device name"
    raw = _utf8(name)
    # The wording "invalid class" is Go's own (a copy-paste slip kept for fidelity).
    if raw[0] not in _ALNUM:
        return f"invalid class {go_quote(name)}, should start with a letter or digit"
    if len(raw) == 1:
        return None
    bad = _first_bad_rune(raw[1:-1], _DEVICE_MIDDLE)
    if bad is not None:
        return f"invalid character '{bad}' in device name {go_quote(name)}"
    return f"invalid name {go_quote(name)}, should end with a letter or digit"


def validate_vendor_name(vendor: str) -> None:
    """Raise :class:`InvalidNameError` unless ``vendor`` is a valid CDI vendor name."""
    problem = _vendor_or_class_error(vendor)
    if problem is not None:
        raise InvalidNameError(f"invalid vendor. {problem[0]}", go_panics=problem[1], field="vendor")


def validate_class_name(cls: str) -> None:
    """Raise :class:`InvalidNameError` unless ``cls`` is a valid CDI class name."""
    problem = _vendor_or_class_error(cls)
    if problem is not None:
        raise InvalidNameError(f"invalid class. {problem[0]}", go_panics=problem[1], field="class")


def validate_device_name(name: str) -> None:
    """Raise :class:`InvalidNameError` unless ``name`` is a valid CDI device name."""
    problem = _device_name_error(name)
    if problem is not None:
        raise InvalidNameError(problem, field="name")


def parse_qualifier(kind: str) -> tuple[str, str]:
    """Split a kind ``vendor/class`` at the first ``/``; ``("", kind)`` on failure."""
    vendor, sep, cls = kind.partition("/")
    if not sep or not vendor or not cls:
        return "", kind
    return vendor, cls


def parse_device(device: str) -> tuple[str, str, str]:
    """Split ``vendor/class=name`` without validating; ``("", "", device)`` on failure."""
    if not device or device[0] == "/":
        return "", "", device
    kind, sep, name = device.partition("=")
    if not sep or not kind or not name:
        return "", "", device
    vendor, cls = parse_qualifier(kind)
    if not vendor:
        return "", "", device
    return vendor, cls, name


def parse_qualified_name(device: str) -> tuple[str, str, str]:
    """Split and validate a qualified name into ``(vendor, class, name)``.

    Raises :class:`InvalidNameError` with the Go reference's message.
    """
    parts = _split_qualified(device)
    if parts is not None:
        return parts
    vendor, cls, name = parse_device(device)
    quoted = go_quote(device)
    # parse_device reports every split failure as an empty vendor, so Go's
    # "missing class" / "missing device name" branches are unreachable.
    if not vendor:
        raise InvalidNameError(f"unqualified device {quoted}, missing vendor", device=device)
    for part, validate in (
        (vendor, validate_vendor_name),
        (cls, validate_class_name),
        (name, validate_device_name),
    ):
        try:
            validate(part)
        except InvalidNameError as err:
            raise InvalidNameError(
                f"invalid device {quoted}: {err}", go_panics=err.go_panics, device=device, field=err.field
            ) from None
    # Unreachable: the fast path accepts exactly what the three validators accept.
    raise AssertionError(f"qualified-name grammar out of sync for {device!r}")


def is_qualified_name(device: str) -> bool:
    """Whether ``device`` is a valid qualified name (Go-panicking names are not)."""
    return _split_qualified(device) is not None


def qualified_name(vendor: str, cls: str, name: str) -> str:
    """Join the parts into ``vendor/class=name`` (no validation, as in Go)."""
    return f"{vendor}/{cls}={name}"
