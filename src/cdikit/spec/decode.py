"""Decoding CDI spec bytes (JSON or YAML) into the wire model, exactly as the reference does.

The reference reads every spec file, JSON included, as YAML 1.1 (``sigs.k8s.io/yaml``
over go-yaml v2), converts the YAML tree to JSON (turning scalars back into strings
where the Go field is a string) and decodes that with ``encoding/json`` in strict
mode: unknown fields rejected, keys matched case-insensitively, duplicate keys an
error, only the first YAML document used.

Two paths give the same answers:

* the **fast path** decodes with C/Rust decoders straight into typed structs
  (msgspec for JSON, yaml-rs for YAML) and is taken only when the bytes contain
  nothing on which YAML 1.1 and the fast decoders could disagree;
* the **faithful path** composes YAML nodes with PyYAML (so every value has a
  line and column), resolves plain scalars with go-yaml v2's rules, and applies
  ``encoding/json``'s field matching and type checks, reporting the first error
  in document order like Go does.

Any doubt or failure on the fast path falls through to the faithful path, which
alone decides about errors.
"""

from __future__ import annotations

import math
import re
from typing import Any

import msgspec

from cdikit._text import go_fold, go_quote
from cdikit.errors import ParseError
from cdikit.spec._goyaml import (
    GoUint,
    YamlError,
    YMap,
    YSeq,
    check_buffer_bom,
    compose,
    decode_text,
    go_key_text,
    go_reads,
    to_go,
)
from cdikit.spec.types import Spec

__all__ = ["parse_spec"]

_PREFIX = "failed to unmarshal CDI Spec: "
_json_decoder = msgspec.json.Decoder(Spec)
_json_encoder = msgspec.json.Encoder()

# Where go-yaml v2 (YAML 1.1) and yaml-rs (YAML 1.2) read a plain scalar differently
# and the fast path would still convert it (anything else fails conversion there and
# goes to the faithful path): 1.1 booleans (yes/no/on/off/y/n), and numbers written
# with a leading zero (octal in 1.1), underscores or a 0b prefix; plus constructs the
# fast path leaves alone. Python's ``re`` scans at ~2 ns a byte even with a literal
# prefix and walking the decoded tree costs half as much as yaml-rs itself, so the
# checks fold the text into a few byte classes with ``bytes.translate`` (one C pass)
# and then need only ``bytes.find`` and one ``split`` + set test, about nine passes
# over the bytes at memchr speed.


def _classes(mapping: dict[bytes, int], default: int) -> bytes:
    table = bytearray([default]) * 256
    for chars, target in mapping.items():
        for char in chars:
            table[char] = target
    return bytes(table)


_CONTROL_CHARS = bytes(range(0x09)) + b"\x09\x0b\x0c" + bytes(range(0x0E, 0x20)) + b"\x7f"
# Numbers and constructs: digits fold to 0 (zero) or 1 (other), scalar openers to a
# space, signs to "-"; every character the fast path refuses (control characters and
# tabs, which go-yaml v2 rejects; tags "!", anchors "&", aliases "*", directives "%",
# merge keys "<<", block scalars "|" and ">" whose edge cases the parsers disagree on,
# "?" complex keys, and backslashes: go-yaml v2 knows no "\/" escape, takes "\'", and
# refuses surrogate pairs that yaml-rs combines) folds to "!".
_NUMBER_CLASSES = _classes(
    {
        b"0": ord("0"),
        b"123456789": ord("1"),
        b"bB": ord("b"),
        b"_": ord("_"),
        b" \r\n[,{": ord(" "),
        b"+-": ord("-"),
        b'"': ord('"'),
        b":": ord(":"),
        _CONTROL_CHARS + b"!&*%<|>?\\": ord("!"),
    },
    ord("a"),
)
# In class space: a zero that starts a plain scalar (after an opener, maybe signed).
_ZERO_NEEDLES = (b" 0", b" -0", b'":0', b'":-0')
_AFTER_LEADING_ZERO = frozenset(b"01_b")
# Words: digits deleted, separators folded to spaces, letters and quotes kept, so a
# risky plain scalar is a whole token: "yes", "[on," -> "on"; "1_000" -> "_".
_KEPT = bytes(range(ord("a"), ord("z") + 1)) + bytes(range(ord("A"), ord("Z") + 1)) + b"_-+\"'"
_WORD_CLASSES = bytes(
    char if char in _KEPT else ord(" ") if char in b" \t\r\n,[]{}:#" else ord(".") for char in range(256)
)
_YAML11_WORDS = (
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
)
_RISKY_TOKENS = frozenset(
    [word.encode() for word in _YAML11_WORDS]
    + [(sign + "_" * k).encode() for sign in ("", "-", "+") for k in range(1, 33)]
)
_C1_OR_BREAK = re.compile(rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]")


# JSON the fast path leaves to the faithful one: DEL (YAML 1.1 rejects it), \u escapes
# (surrogates and control characters are YAML errors, not JSON ones), and whitespace
# before a colon (YAML wants an implicit key on one line; it would also hide keys from
# the duplicate-key count).
_JSON_DECLINE = (b"\x7f", b"\\u", b"\\/", b" :", b"\t:", b"\n:", b"\r:")
_WS_TO_SPACE = bytes.maketrans(b"\t\n\r", b"   ")


def _json_declines(data: bytes) -> bool:
    """``any(seq in data for seq in _JSON_DECLINE)``, in two passes instead of seven.

    A two-byte search costs as much as decoding the file; one-byte checks are
    ``memchr``, and whitespace before a colon is one search once every
    whitespace byte reads as a space.
    """
    if b"\x7f" in data or (b"\\" in data and (b"\\u" in data or b"\\/" in data)):
        return True
    return b" :" in data.translate(_WS_TO_SPACE)


# go-yaml v2 drops a simple key longer than this (then fails): long keys go the faithful way.
_MAX_FAST_KEY = 1000
# Flow-context spellings yaml-rs reads where go-yaml v2 fails (": :b", "[:b", "b:}").
_YAML_DECLINE = (b":}", b":]", b":,")


def _non_ascii_risky(data: bytes) -> bool:
    """C1 controls (which YAML 1.1 rejects), NEL/LS/PS line breaks, BOMs, non-characters."""
    return not data.isascii() and _C1_OR_BREAK.search(data) is not None


def _leading_document_marker(data: bytes) -> bool:
    """Whether the only ``---`` line is the first document's start, after comments only
    (the header comment producers write): then the document is the same to both parsers."""
    at = data.find(b"\n---")
    if data.find(b"\n---", at + 1) >= 0 or data[at + 4 : at + 5] not in (b"\n", b"\r"):
        return False
    return all(not line.strip() or line.lstrip().startswith(b"#") for line in data[:at].split(b"\n"))


def _yaml_fast_ok(data: bytes) -> bool:
    """Whether yaml-rs + strict conversion give exactly go-yaml v2's result for ``data``."""
    text = data.translate(_NUMBER_CLASSES)
    if b"!" in text or b"\n..." in data or data.startswith(b"...") or _non_ascii_risky(data):
        return False
    if b"\n---" in data and not _leading_document_marker(data):
        return False
    # In flow context go-yaml v2 reads ":" after a blank or an opener as an indicator.
    if b" :" in text or any(seq in data for seq in _YAML_DECLINE):
        return False
    head = text[:3].lstrip(b"-")
    if head[:1] == b"0" and head[1:2] and head[1] in _AFTER_LEADING_ZERO:
        return False
    for needle in _ZERO_NEEDLES:
        at = text.find(needle)
        while at >= 0:
            nxt = at + len(needle)
            if nxt < len(text) and text[nxt] in _AFTER_LEADING_ZERO:
                return False
            at = text.find(needle, nxt)
    return _RISKY_TOKENS.isdisjoint(data.translate(_WORD_CLASSES, b"0123456789").split())


def parse_spec(data: bytes, *, path: str | None = None) -> Spec | None:
    """Decode spec bytes; ``None`` for an empty document (empty, comments only, ``null``, ``---``).

    Raises :class:`ParseError` (message ``failed to unmarshal CDI Spec: ...``, with
    ``line``/``column`` where known) for anything the reference would not decode.
    """
    spec = _fast(data)
    if spec is not None:
        return spec
    return _faithful(data, path)


def _long_keys(spec: Spec) -> bool:
    """Annotation keys are the only free-form keys a decoded spec can hold."""
    maps = [spec.annotations] + [device.annotations for device in spec.devices or ()]
    return any(len(key) >= _MAX_FAST_KEY for m in maps if m for key in m)


def _fast(data: bytes) -> Spec | None:
    """The typed fast path; None when it declines (the faithful path then decides)."""
    stripped = data.strip()
    head = stripped[:1]
    if head == b"{":
        if _json_declines(data) or _non_ascii_risky(data):
            return None
        # Tabs before or after the document are block context for YAML: go-yaml v2 fails.
        if b"\t" in data[: data.index(b"{")] or b"\t" in data[len(data.rstrip()) :]:
            return None
        try:
            spec = _json_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            return None
        # Duplicate keys silently collapse in msgspec; Go rejects them. With no whitespace
        # before any colon (_JSON_DECLINE), every input key reads '":'. Re-encoding the
        # typed result gives every key back unless one was repeated or held its default
        # value (omitted); only then is the input decoded again untyped, which keeps every
        # distinct key, zero values included, to tell the two apart.
        keys = data.count(b'":')
        if _json_encoder.encode(spec).count(b'":') != keys and (
            _json_encoder.encode(msgspec.json.decode(data)).count(b'":') != keys
        ):
            return None
        return None if _long_keys(spec) else spec
    if not head or not _yaml_fast_ok(data):
        return None
    try:
        import yaml_rs

        tree = yaml_rs.loads(data.decode("utf-8"))
    except Exception:  # any syntax/encoding doubt: the faithful path reports it
        return None
    if not isinstance(tree, dict):
        return None
    try:
        spec = msgspec.convert(tree, Spec)
    except msgspec.ValidationError:
        return None
    return None if _long_keys(spec) else spec


# ---------------------------------------------------------------------------
# The faithful path
# ---------------------------------------------------------------------------

# Go field kinds of the specs-go structs, used to convert and type-check like
# sigs.k8s.io/yaml + encoding/json. Struct names map to {json key: kind}.
_STR = "string"
_BOOL = "bool"
_INT64 = "int64"
_INT = "int"
_UINT32 = "uint32"
_FILEMODE = "fs.FileMode"
_LIMITS = {
    _INT64: (-(2**63), 2**63 - 1),
    _INT: (-(2**63), 2**63 - 1),
    _UINT32: (0, 2**32 - 1),
    _FILEMODE: (0, 2**32 - 1),
}

_STRUCTS: dict[str, dict[str, Any]] = {
    "Spec": {
        "cdiVersion": _STR,
        "kind": _STR,
        "annotations": ("map", _STR),
        "devices": ("list", ("struct", "Device")),
        "containerEdits": ("struct", "ContainerEdits"),
    },
    "Device": {
        "name": _STR,
        "annotations": ("map", _STR),
        "containerEdits": ("struct", "ContainerEdits"),
    },
    "ContainerEdits": {
        "env": ("list", _STR),
        "deviceNodes": ("list", ("ptr", ("struct", "DeviceNode"))),
        "netDevices": ("list", ("ptr", ("struct", "LinuxNetDevice"))),
        "hooks": ("list", ("ptr", ("struct", "Hook"))),
        "mounts": ("list", ("ptr", ("struct", "Mount"))),
        "intelRdt": ("ptr", ("struct", "IntelRdt")),
        "additionalGids": ("list", _UINT32),
    },
    "DeviceNode": {
        "path": _STR,
        "hostPath": _STR,
        "type": _STR,
        "major": _INT64,
        "minor": _INT64,
        "fileMode": ("ptr", _FILEMODE),
        "permissions": _STR,
        "uid": ("ptr", _UINT32),
        "gid": ("ptr", _UINT32),
    },
    "Mount": {"hostPath": _STR, "containerPath": _STR, "options": ("list", _STR), "type": _STR},
    "Hook": {
        "hookName": _STR,
        "path": _STR,
        "args": ("list", _STR),
        "env": ("list", _STR),
        "timeout": ("ptr", _INT),
    },
    "IntelRdt": {
        "closID": _STR,
        "l3CacheSchema": _STR,
        "memBwSchema": _STR,
        "schemata": ("list", _STR),
        "enableMonitoring": _BOOL,
    },
    "LinuxNetDevice": {"hostInterfaceName": _STR, "name": _STR},
}


_FOLDED = {name: {go_fold(key): key for key in fields} for name, fields in _STRUCTS.items()}


class _Fail(Exception):
    """First decode error, carrying the node position (1-based line and column)."""

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.message = message
        mark = getattr(node, "start_mark", None)
        self.line = mark.line + 1 if mark is not None else None
        self.column = mark.column + 1 if mark is not None else None


# ---------------------------------------------------------------------------
# Go's number formatting
# ---------------------------------------------------------------------------


def _digits(text: str) -> tuple[str, int]:
    """Shortest decimal digits and decimal point position of a positive number's text."""
    from decimal import Decimal

    _, digits, exponent = Decimal(text).normalize().as_tuple()
    assert isinstance(exponent, int)
    body = "".join(map(str, digits))
    return body, len(body) + exponent


def _to_float32(value: float) -> float:
    import struct

    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def _shortest32(value: float) -> str:
    for precision in range(1, 10):
        text = f"{value:.{precision - 1}e}"
        if _to_float32(float(text)) == value:
            return text
    return f"{value:.8e}"


def _go_format_g(value: float, bits: int) -> str:
    """``strconv.FormatFloat(value, 'g', -1, bits)``."""
    if bits == 32:
        value = _to_float32(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    neg = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return neg + "0"
    digits, dp = _digits(_shortest32(abs(value)) if bits == 32 else repr(abs(value)))
    exp = dp - 1
    if exp < -4 or exp >= 6:  # shortest formatting decides with precision 6
        return neg + _format_e(digits, exp)
    return neg + _format_f(digits, dp)


def _format_e(digits: str, exp: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _format_f(digits: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def _go_json_float(value: float) -> str:
    """How encoding/json writes a float64 (shortest digits, 'e' outside [1e-6, 1e21))."""
    neg = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return neg + "0"
    digits, dp = _digits(repr(abs(value)))
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        text = _format_e(digits, dp - 1)
        return neg + re.sub(r"e-0(\d)$", r"e-\1", text)
    return neg + _format_f(digits, dp)


def _go_float_text(value: float) -> str:
    """A float as sigs.k8s.io/yaml turns it into a string: FormatFloat(v, 'g', -1, 32)."""
    return _go_format_g(value, 32)


# ---------------------------------------------------------------------------
# The faithful path: go-yaml v2 values -> JSON tree (sigs.k8s.io/yaml) -> Go structs (encoding/json)
# ---------------------------------------------------------------------------


class _JMap:
    """A JSON object after sigs.k8s.io/yaml's conversion: key -> (key node, value node, value)."""

    __slots__ = ("entries", "node")

    def __init__(self, node: Any, entries: dict[str, tuple[Any, Any, Any]]) -> None:
        self.node = node
        self.entries = entries


class _JSeq:
    __slots__ = ("items", "node")

    def __init__(self, node: Any, items: list[tuple[Any, Any]]) -> None:
        self.node = node
        self.items = items


def _go_type_name(value: Any) -> str:
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, GoUint):
        return "uint64"
    return "float64" if isinstance(value, float) else type(value).__name__


def _struct_field(name: str, key: str) -> str | None:
    fields = _STRUCTS[name]
    return key if key in fields else _FOLDED[name].get(go_fold(key))


def _target(kind: Any) -> Any:
    while isinstance(kind, tuple) and kind[0] == "ptr":
        kind = kind[1]
    return kind


def _jsonable(value: Any, kind: Any) -> Any:
    """sigs.k8s.io/yaml's convertToJSONableObject: string keys, numbers into string fields as text."""
    kind = _target(kind)
    if isinstance(value, YMap):
        entries: dict[str, tuple[Any, Any, Any]] = {}
        for go_key, key_node, value_node, item in value.entries.values():
            key = _key_string(key_node, go_key)
            sub: Any = None
            if isinstance(kind, tuple) and kind[0] == "struct":
                field = _struct_field(kind[1], key)
                sub = _STRUCTS[kind[1]][field] if field is not None else None
            elif isinstance(kind, tuple) and kind[0] == "map":
                sub = kind[1]
            converted = _jsonable(item, sub)
            if key in entries:
                if _same_to_go(entries[key][2], converted, sub):
                    continue  # either one: Go's random pick cannot matter
                # Go keeps one of the two at random (its map order): refused here (policy rule 6).
                raise YamlError(
                    f"unmarshal errors:\n  line {key_node.start_mark.line + 1}: key {go_key_text(key)} already set in map"
                    " (as another key written differently, with another value)",
                    key_node,
                )
            entries[key] = (key_node, value_node, converted)
        return _JMap(value.node, entries)
    if isinstance(value, YSeq):
        sub = kind[1] if isinstance(kind, tuple) and kind[0] == "list" else None
        return _JSeq(value.node, [(node, _jsonable(item, sub)) for node, item in value.items])
    if kind == _STR and value is not None and not isinstance(value, str):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return _go_float_text(value)
        return str(value)
    return value


def _same_to_go(a: Any, b: Any, kind: Any) -> bool:
    """Whether two converted values give the same Go value (``null`` and ``""`` both give
    ``""`` in a string map), so that Go's random pick between them cannot matter."""
    if _json_text(a) == _json_text(b):
        return True
    if kind is None:
        return False
    first, second = _Unmarshal(), _Unmarshal()
    value_a = first.value(a, None, kind, "", _zero(kind))
    value_b = second.value(b, None, kind, "", _zero(kind))
    return first.first_error is None and second.first_error is None and value_a == value_b


def _json_text(value: Any) -> str:
    """What json.Marshal writes for a converted value (to tell two values apart)."""
    import json

    if isinstance(value, _JMap):
        return (
            "{"
            + ",".join(json.dumps(k) + ":" + _json_text(value.entries[k][2]) for k in sorted(value.entries))
            + "}"
        )
    if isinstance(value, _JSeq):
        return "[" + ",".join(_json_text(item) for _, item in value.items) + "]"
    if isinstance(value, float):
        return _go_json_float(value) if math.isfinite(value) else repr(value)
    return json.dumps(value)


def _key_string(key_node: Any, key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        text = _go_float_text(key)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
    if isinstance(key, int) and not isinstance(key, GoUint):
        return str(key)
    shown = "<nil>" if key is None else f"0x{key:x}"
    raise _Fail(f"unsupported map key of type: {_go_type_name(key)}, key: {shown}", key_node)


def _check_marshal(value: Any, node: Any) -> None:
    """json.Marshal's refusals, in its (sorted key) order: NaN and infinities."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Fail(f"json: unsupported value: {_go_format_g(value, 64)}", node)
    elif isinstance(value, _JMap):
        for key in sorted(value.entries):
            _, value_node, item = value.entries[key]
            _check_marshal(item, value_node)
    elif isinstance(value, _JSeq):
        for item_node, item in value.items:
            _check_marshal(item, item_node)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _JSeq):
        return "array"
    return "object"


def _go_type(kind: Any) -> str:
    if isinstance(kind, str):
        return kind
    tag = kind[0]
    if tag == "struct":
        return "specs." + str(kind[1])
    if tag == "ptr":
        return "*" + _go_type(kind[1])
    if tag == "list":
        return "[]" + _go_type(kind[1])
    return "map[string]" + _go_type(kind[1])


def _number_text(value: Any) -> str:
    return _go_json_float(value) if isinstance(value, float) else str(int(value))


class _Absent:
    """Marker: a Go zero value (field unset, nil slice/map/pointer)."""


_ABSENT: Any = _Absent()


def _zero(kind: Any) -> Any:
    """A new element's Go zero value (what a JSON null leaves in a slice or map entry)."""
    if kind == _STR:
        return ""
    if kind == _BOOL:
        return False
    if kind in _LIMITS:
        return 0
    if isinstance(kind, tuple) and kind[0] == "struct":
        return {}
    return _ABSENT


class _Unmarshal:
    """encoding/json.Unmarshal with DisallowUnknownFields into *specs.Spec.

    Objects are visited in sorted key order (json.Marshal sorted them), field names match
    exactly or else case-insensitively, a later key for the same field decodes into what an
    earlier one left (objects merge, arrays decode element by element into the existing
    elements), and only the first error is kept.
    """

    def __init__(self) -> None:
        self.first_error: _Fail | None = None

    def error(self, message: str, node: Any) -> None:
        if self.first_error is None:
            self.first_error = _Fail(message, node)

    def type_error(self, what: str, where: str, kind: Any, node: Any) -> None:
        into = "Go struct field " if where and not where.rsplit(".", 1)[-1].isdigit() else ""
        if not where:
            self.error(f"json: cannot unmarshal {what} into Go value of type {_go_type(kind)}", node)
        else:
            self.error(f"json: cannot unmarshal {what} into {into}{where} of type {_go_type(kind)}", node)

    def value(self, value: Any, node: Any, kind: Any, where: str, old: Any) -> Any:
        if value is None:
            # null: pointers, slices and maps become nil; anything else is left as it was
            if isinstance(kind, tuple) and kind[0] in ("ptr", "list", "map"):
                return _ABSENT
            return old
        if isinstance(kind, tuple) and kind[0] == "ptr":
            return self.value(value, node, kind[1], where, old)
        if isinstance(value, _JMap):
            if isinstance(kind, tuple) and kind[0] == "struct":
                return self.struct(value, kind[1], where, old if isinstance(old, dict) else {})
            if isinstance(kind, tuple) and kind[0] == "map":
                out: dict[str, Any] = dict(old) if isinstance(old, dict) else {}
                for key in sorted(value.entries):
                    _, value_node, item = value.entries[key]
                    out[key] = self.value(item, value_node, kind[1], f"{where}.{key}", _zero(kind[1]))
                return out
            self.type_error("object", where, kind, node)
            return old
        if isinstance(value, _JSeq):
            if isinstance(kind, tuple) and kind[0] == "list":
                previous = old if isinstance(old, list) else []
                items = []
                for i, (item_node, item) in enumerate(value.items):
                    before = previous[i] if i < len(previous) else _zero(kind[1])
                    decoded = self.value(item, item_node, kind[1], f"{where}.{i}", before)
                    items.append(decoded)
                return items
            self.type_error("array", where, kind, node)
            return old
        return self.scalar(value, node, kind, where, old)

    def scalar(self, value: Any, node: Any, kind: Any, where: str, old: Any) -> Any:
        if kind == _STR:
            if isinstance(value, str):
                return value
        elif kind == _BOOL:
            if isinstance(value, bool):
                return value
        elif kind in _LIMITS and isinstance(value, (int, float)) and not isinstance(value, bool):
            text = _number_text(value)
            low, high = _LIMITS[kind]
            if (low < 0 or not text.startswith("-")) and re.fullmatch(r"-?[0-9]+", text):
                number = int(text)
                if low <= number <= high:
                    return number
            self.type_error(f"number {text}", where, kind, node)
            return old
        self.type_error(_json_kind(value), where, kind, node)
        return old

    def struct(self, value: _JMap, name: str, where: str, old: dict[str, Any]) -> dict[str, Any]:
        out = dict(old)
        fields = _STRUCTS[name]
        for key in sorted(value.entries):
            key_node, value_node, item = value.entries[key]
            field = _struct_field(name, key)
            if field is None:
                self.error(f"json: unknown field {go_quote(key)}", key_node)
                continue
            decoded = self.value(item, value_node, fields[field], f"{where}.{field}", out.get(field, _ABSENT))
            if decoded is _ABSENT:
                out.pop(field, None)
            else:
                out[field] = decoded
        return out


class _NilEntry(_Fail):
    """A ``null`` entry of a pointer list: Go keeps a nil pointer and panics on it later."""


def _null_entry(tree: Any, node: Any) -> None:
    """Go keeps ``null`` entries of pointer lists (``deviceNodes: [~]``) as nil pointers that
    crash its validation later; cdikit's model has no nil entries: refused (policy rule 5)."""
    for edits in _all_edits(tree):
        for field in ("deviceNodes", "netDevices", "hooks", "mounts"):
            items = edits.get(field)
            if isinstance(items, list) and any(item is _ABSENT for item in items):
                raise _NilEntry(
                    f"json: null entry in {field}: Go consumers crash on it (nil pointer dereference)", node
                )


def _all_edits(tree: dict[str, Any]) -> list[dict[str, Any]]:
    found = [tree["containerEdits"]] if isinstance(tree.get("containerEdits"), dict) else []
    for device in tree.get("devices") or []:
        if isinstance(device, dict) and isinstance(device.get("containerEdits"), dict):
            found.append(device["containerEdits"])
    return found


def _faithful(data: bytes, path: str | None) -> Spec | None:
    stage = "error converting YAML to JSON: "
    try:
        text = decode_text(data)
        check_buffer_bom(data, text)
        composed = compose(text, go_reads(data, text))
        if composed.root is None:
            return None
        value = to_go(composed)
        root_node = composed.root
        if value is None:
            return None
        tree = _jsonable(value, ("struct", "Spec"))
        _check_marshal(tree, root_node)
        stage = "error unmarshaling JSON: while decoding JSON: "
        decoder = _Unmarshal()
        if isinstance(tree, _JMap):
            spec = decoder.struct(tree, "Spec", "", {})
        else:
            decoder.type_error(_json_kind(tree), "", ("struct", "Spec"), root_node)
            spec = {}
        if decoder.first_error is not None:
            raise decoder.first_error
        _null_entry(spec, root_node)
    except YamlError as err:
        where = (
            f" (line {err.line}, column {err.column})"
            if err.line is not None and err.column is not None
            else ""
        )
        raise ParseError(
            f"{_PREFIX}error converting YAML to JSON: yaml: {err.message}{where}",
            path=path,
            line=err.line,
            column=err.column,
        ) from None
    except _Fail as fail:
        where = f" (line {fail.line}, column {fail.column})" if fail.line is not None else ""
        raise ParseError(
            f"{_PREFIX}{stage}{fail.message}{where}",
            path=path,
            line=fail.line,
            column=fail.column,
            go_panics=isinstance(fail, _NilEntry),
        ) from None
    except RecursionError:
        raise ParseError(
            f"{_PREFIX}error converting YAML to JSON: yaml: document nested too deeply", path=path
        ) from None
    try:
        return msgspec.convert(spec, Spec)
    except msgspec.ValidationError:  # the checks above mirror Go's types; never show msgspec's words
        raise ParseError(f"{_PREFIX}{stage}json: cannot decode the spec", path=path) from None
