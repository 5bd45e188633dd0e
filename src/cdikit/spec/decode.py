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

from cdikit._text import go_quote
from cdikit.errors import ParseError
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
# merge keys "<<", block scalars "|" and ">" whose edge cases the parsers disagree on)
# folds to "!".
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
        _CONTROL_CHARS + b"!&*%<|>": ord("!"),
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
_YAML11_WORDS = ("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF")
_RISKY_TOKENS = frozenset(
    [word.encode() for word in _YAML11_WORDS]
    + [(sign + "_" * k).encode() for sign in ("", "-", "+") for k in range(1, 33)]
)
_C1_OR_BREAK = re.compile(rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]")


# JSON the fast path leaves to the faithful one: DEL (YAML 1.1 rejects it), \u escapes
# (surrogates and control characters are YAML errors, not JSON ones), and whitespace
# before a colon (YAML wants an implicit key on one line; it would also hide keys from
# the duplicate-key count).
_JSON_DECLINE = (b"\x7f", b"\\u", b" :", b"\t:", b"\n:", b"\r:")


def _non_ascii_risky(data: bytes) -> bool:
    """C1 controls (which YAML 1.1 rejects), NEL/LS/PS line breaks, BOMs, non-characters."""
    return not data.isascii() and _C1_OR_BREAK.search(data) is not None


def _yaml_fast_ok(data: bytes) -> bool:
    """Whether yaml-rs + strict conversion give exactly go-yaml v2's result for ``data``."""
    text = data.translate(_NUMBER_CLASSES)
    if b"!" in text or b"\n---" in data or b"\n..." in data or _non_ascii_risky(data):
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


def _fast(data: bytes) -> Spec | None:
    """The typed fast path; None when it declines (the faithful path then decides)."""
    head = data.lstrip()[:1]
    if head == b"{":
        if any(seq in data for seq in _JSON_DECLINE) or _non_ascii_risky(data):
            return None
        try:
            spec = _json_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            return None
        # Duplicate keys silently collapse in msgspec; Go rejects them. Re-encoding
        # emits exactly the keys kept (defaults omitted), so a lower key count than the
        # input's means a duplicate (or a key with a default value): decline. With no
        # whitespace before any colon (_JSON_DECLINE), every input key reads '":'.
        if _json_encoder.encode(spec).count(b'":') != data.count(b'":'):
            return None
        return spec
    if not head or head == b"#" or not _yaml_fast_ok(data):
        return None
    try:
        import yaml_rs

        tree = yaml_rs.loads(data.decode("utf-8"))
    except Exception:  # any syntax/encoding doubt: the faithful path reports it
        return None
    if not isinstance(tree, dict):
        return None
    try:
        return msgspec.convert(tree, Spec)
    except msgspec.ValidationError:
        return None


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
_FOLDED = {name: {key.casefold(): key for key in fields} for name, fields in _STRUCTS.items()}

_PLAIN = "tag:cdikit.plain"
_STR_TAG = "tag:yaml.org,2002:str"

# go-yaml v2's resolve table and float syntax.
_YAML_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"), False),
}
_YAML_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_YAML_SPECIAL_FLOATS = {
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}  # fmt: skip
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")


class _Fail(Exception):
    """First decode error, carrying the node position (0-based, as PyYAML marks)."""

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.message = message
        mark = getattr(node, "start_mark", None)
        self.line = mark.line + 1 if mark is not None else None
        self.column = mark.column + 1 if mark is not None else None


def _go_int(text: str) -> int | None:
    if not _GO_INT.match(text):
        return None
    sign = -1 if text[:1] == "-" else 1
    body = text.lstrip("+-")
    low = body[:2].lower()
    if low == "0x":
        value = int(body[2:], 16)
    elif low == "0o":
        value = int(body[2:], 8)
    elif low == "0b":
        value = int(body[2:], 2)
    elif len(body) > 1 and body[0] == "0":
        value = int(body, 8)
    else:
        value = int(body)
    value *= sign
    # strconv.ParseInt then ParseUint: anything outside int64/uint64 stays text/float.
    if -(2**63) <= value <= 2**64 - 1:
        return value
    return None


def _resolve_plain(text: str) -> Any:
    """A plain scalar resolved with go-yaml v2's rules (YAML 1.1 flavoured)."""
    if text in _YAML_NULLS:
        return None
    if text in _YAML_BOOLS:
        return _YAML_BOOLS[text]
    if text in _YAML_SPECIAL_FLOATS:
        return _YAML_SPECIAL_FLOATS[text]
    first = text[:1]
    if first in "+-.0123456789":
        plain = text.replace("_", "")
        value = _go_int(plain)
        if value is not None:
            return value
        if _YAML_FLOAT.match(plain):
            return float(plain)
        if plain.startswith(("0b", "-0b")):
            try:
                return int(plain.replace("0b", "", 1), 2)
            except ValueError:
                pass
    return text


def _go_float_text(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)`` for the converter's string coercion."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0").rjust(2, "0")
        return f"{mant}e{sign}{digits}"
    return text


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
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


class _Converter:
    """Composed YAML nodes -> canonical plain tree, with Go's checks and coercions."""

    def __init__(self) -> None:
        self.first_error: _Fail | None = None

    def error(self, message: str, node: Any) -> None:
        # encoding/json keeps decoding after a type error and reports the first one.
        if self.first_error is None:
            self.first_error = _Fail(message, node)

    def scalar(self, node: Any) -> Any:
        if node.tag == _PLAIN:
            return _resolve_plain(node.value)
        tag = node.tag
        if tag == _STR_TAG:
            return node.value
        if tag.startswith("tag:yaml.org,2002:"):
            short = tag.rsplit(":", 1)[1]
            if short == "null":
                return None
            if short == "bool":
                if node.value in _YAML_BOOLS:
                    return _YAML_BOOLS[node.value]
            elif short == "int":
                value = _go_int(node.value.replace("_", ""))
                if value is not None:
                    return value
            elif short == "float":
                resolved = _resolve_plain(node.value)
                if isinstance(resolved, (int, float)) and not isinstance(resolved, bool):
                    return float(resolved)
            elif short in ("binary", "timestamp"):
                return node.value
            else:
                raise _Fail(f"yaml: cannot decode !!{short} `{node.value}`", node)
            raise _Fail(f"yaml: cannot decode !!{short} `{node.value}` as a !!{short}", node)
        raise _Fail(f"yaml: unsupported tag {tag}", node)

    def generic(self, node: Any) -> Any:
        """A value with no Go target type (used for unknown fields and error reporting)."""
        import yaml

        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.generic(item) for item in node.value]
        out: dict[str, Any] = {}
        for key_node, value_node in self.pairs(node):
            out[self.key_text(key_node)] = self.generic(value_node)
        return out

    def key_text(self, node: Any) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            raise _Fail("yaml: invalid map key: a mapping or sequence cannot be a key", node)
        value = self.scalar(node)
        if isinstance(value, str):
            return value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return _go_float_text(value)
        return str(value)

    def pairs(self, node: Any) -> list[tuple[Any, Any]]:
        """Mapping pairs with merge keys expanded and duplicate keys rejected (go-yaml v2)."""
        import yaml

        seen: dict[str, Any] = {}
        result: list[tuple[Any, Any]] = []
        for key_node, value_node in node.value:
            if key_node.tag in (_PLAIN, "tag:yaml.org,2002:merge") and key_node.value == "<<":
                # go-yaml v2: the value is a map, or a sequence of maps merged in order.
                if isinstance(value_node, yaml.MappingNode):
                    sources = [value_node]
                elif isinstance(value_node, yaml.SequenceNode) and all(
                    isinstance(item, yaml.MappingNode) for item in value_node.value
                ):
                    sources = value_node.value
                else:
                    raise _Fail("yaml: map merge requires map or sequence of maps as the value", value_node)
                for src in sources:
                    for k, v in self.pairs(src):
                        key = self.key_text(k)
                        if key not in seen:
                            seen[key] = k
                            result.append((k, v))
                continue
            key = self.key_text(key_node)
            if key in seen:
                raise _Fail(
                    f'yaml: unmarshal errors:\n  line {key_node.start_mark.line + 1}: key "{key}" already set in map',
                    key_node,
                )
            seen[key] = key_node
            result.append((key_node, value_node))
        return result

    def convert(self, node: Any, kind: Any, where: str) -> Any:
        import yaml

        if isinstance(kind, tuple) and kind[0] == "ptr":
            if isinstance(node, yaml.ScalarNode) and self.scalar(node) is None:
                return None
            return self.convert(node, kind[1], where)
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node)
            if value is None:
                return _ABSENT  # JSON null leaves Go's zero value
            return self.convert_scalar(value, node, kind, where)
        if isinstance(node, yaml.SequenceNode):
            if isinstance(kind, tuple) and kind[0] == "list":
                return [self.convert(item, kind[1], f"{where}.{i}") for i, item in enumerate(node.value)]
            self.error(f"json: cannot unmarshal array into Go struct field {where} of type {_go_type(kind)}", node)
            return _ABSENT
        # mapping
        if isinstance(kind, tuple) and kind[0] == "struct":
            return self.struct(node, kind[1], where)
        if isinstance(kind, tuple) and kind[0] == "map":
            out: dict[str, Any] = {}
            for key_node, value_node in self.pairs(node):
                key = self.key_text(key_node)
                value = self.convert(value_node, kind[1], f"{where}.{key}")
                out[key] = "" if value is _ABSENT else value
            return out
        self.error(f"json: cannot unmarshal object into Go struct field {where} of type {_go_type(kind)}", node)
        return _ABSENT

    def convert_scalar(self, value: Any, node: Any, kind: Any, where: str) -> Any:
        if kind == _STR:
            # sigs.k8s.io/yaml turns non-string scalars back into strings for string fields.
            if isinstance(value, str):
                return value
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, float):
                return _go_float_text(value)
            return str(value)
        if kind == _BOOL:
            if isinstance(value, bool):
                return value
        elif kind in _LIMITS:
            if isinstance(value, float) and math.isfinite(value) and value == int(value):
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                low, high = _LIMITS[kind]
                if low <= value <= high:
                    return value
                self.error(
                    f"json: cannot unmarshal number {value} into Go struct field {where} of type {kind}", node
                )
                return _ABSENT
            if isinstance(value, float):
                self.error(
                    f"json: cannot unmarshal number {_go_float_text(value)} into Go struct field {where} of type {kind}",
                    node,
                )
                return _ABSENT
        self.error(
            f"json: cannot unmarshal {_json_kind(value)} into Go struct field {where} of type {_go_type(kind)}", node
        )
        return _ABSENT

    def struct(self, node: Any, name: str, where: str) -> dict[str, Any]:
        fields = _STRUCTS[name]
        folded = _FOLDED[name]
        out: dict[str, Any] = {}
        for key_node, value_node in self.pairs(node):
            key = self.key_text(key_node)
            canonical = key if key in fields else folded.get(key.casefold())
            if canonical is None:
                self.generic(value_node)  # still surfaces YAML-level errors inside
                self.error(f"json: unknown field {go_quote(key)}", key_node)
                continue
            value = self.convert(value_node, fields[canonical], f"{where}.{canonical}")
            if value is not _ABSENT:
                out[canonical] = value
        return out


class _Absent:
    """Marker: JSON null / failed field, leaves the Go zero value in place."""


_ABSENT: Any = _Absent()

# go-yaml v2 refuses documents nested deeper than this; PyYAML's C composer would
# recurse (and crash the process near 30,000 levels), so nodes are composed here,
# iteratively, from libyaml's events.
_MAX_DEPTH = 10_000


class _Composed(Exception):
    """Raised by the composer for documents go-yaml v2 would also refuse."""


def _allowed_alias_ratio(decodes: int) -> float:
    # go-yaml v2's guard against alias expansion ("billion laughs"), same numbers.
    if decodes <= 400_000:
        return 0.99
    if decodes >= 4_000_000:
        return 0.10
    return 0.10 + 0.89 * (1 - (decodes - 400_000) / 3_600_000)


def _excessive_aliasing(decodes: int, aliases: int) -> bool:
    return aliases > 100 and decodes > 1000 and aliases / decodes > _allowed_alias_ratio(decodes)


def _compose_first_document(text: str) -> Any:
    """The first document's root node (later documents are ignored, as go-yaml v2 does).

    Plain scalars get the ``_PLAIN`` tag and are resolved later with go-yaml v2's
    rules; quoted ones are strings; explicit tags are kept. Before anything is
    converted, the fully expanded size of each node (``decodes``) and how many of
    those nodes are reached through aliases are computed (aliases share nodes, so
    this stays linear) and checked like go-yaml v2 checks them.
    """
    import yaml

    events = getattr(yaml, "CBaseLoader", yaml.BaseLoader)(text)  # libyaml's event parser when present
    try:
        # frame: start event, children, anchor, expanded size, nodes reached through aliases
        stack: list[list[Any]] = []
        anchors: dict[str, Any] = {}
        counts: dict[int, tuple[int, int]] = {}  # id(node) -> (decodes, aliases) when expanded
        while True:
            event = events.get_event()
            kind = type(event)
            via_alias = False
            if kind is yaml.ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _PLAIN if event.implicit[0] else _STR_TAG
                node: Any = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
                counts[id(node)] = (1, 0)
                if event.anchor is not None:
                    anchors[event.anchor] = node
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                if len(stack) >= _MAX_DEPTH:
                    raise _Composed(f"exceeded max depth of {_MAX_DEPTH}")
                stack.append([event, [], event.anchor, 1, 0])
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                start, children, anchor, decodes, aliases = stack.pop()
                if kind is yaml.SequenceEndEvent:
                    node = yaml.SequenceNode(
                        start.tag or "tag:yaml.org,2002:seq", children, start.start_mark, event.end_mark
                    )
                else:
                    pairs = list(zip(children[0::2], children[1::2], strict=True))
                    node = yaml.MappingNode(
                        start.tag or "tag:yaml.org,2002:map", pairs, start.start_mark, event.end_mark
                    )
                counts[id(node)] = (decodes, aliases)
                if _excessive_aliasing(decodes, aliases):
                    raise _Composed("document contains excessive aliasing")
                if anchor is not None:
                    anchors[anchor] = node
            elif kind is yaml.AliasEvent:
                node = anchors.get(event.anchor)
                if node is None:
                    raise yaml.composer.ComposerError(
                        None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                    )
                via_alias = True
            elif kind is yaml.StreamEndEvent or kind is yaml.DocumentEndEvent:
                return None
            else:  # stream or document start
                continue
            if not stack:
                return node
            frame = stack[-1]
            frame[1].append(node)
            decodes, aliases = counts[id(node)]
            frame[3] += decodes
            # go-yaml v2 counts every node decoded inside an alias expansion.
            frame[4] += decodes if via_alias else aliases
    finally:
        dispose = getattr(events, "dispose", None)
        if dispose is not None:
            dispose()


def _faithful(data: bytes, path: str | None) -> Spec | None:
    import yaml

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{_PREFIX}error converting YAML to JSON: yaml: invalid UTF-8 at byte {exc.start}", path=path
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        root = _compose_first_document(text)
    except _Composed as exc:
        raise ParseError(f"{_PREFIX}error converting YAML to JSON: yaml: {exc}", path=path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problem = exc.problem or exc.context or "syntax error"
        raise ParseError(
            f"{_PREFIX}error converting YAML to JSON: yaml: line {line}: {problem}",
            path=path,
            line=line,
            column=column,
        ) from None
    except yaml.YAMLError as exc:
        raise ParseError(f"{_PREFIX}error converting YAML to JSON: yaml: {exc}", path=path) from None
    if root is None:
        return None
    conv = _Converter()
    try:
        if isinstance(root, yaml.ScalarNode):
            value = conv.scalar(root)
            if value is None:
                return None
            raise _Fail(f"json: cannot unmarshal {_json_kind(value)} into Go value of type specs.Spec", root)
        if isinstance(root, yaml.SequenceNode):
            conv.generic(root)
            raise _Fail("json: cannot unmarshal array into Go value of type specs.Spec", root)
        tree = conv.struct(root, "Spec", "")
    except _Fail as fail:
        # The reference converts the whole YAML tree before decoding it, so a YAML-level
        # error anywhere wins over a JSON decoding error.
        if fail.message.startswith("yaml:") or conv.first_error is None:
            conv.first_error = fail
    except RecursionError:
        raise ParseError(f"{_PREFIX}error converting YAML to JSON: yaml: document nested too deeply", path=path) from None
    if conv.first_error is not None:
        err = conv.first_error
        stage = (
            "error converting YAML to JSON: "
            if err.message.startswith("yaml:")
            else "error unmarshaling JSON: while decoding JSON: "
        )
        where = f" (line {err.line}, column {err.column})" if err.line is not None else ""
        raise ParseError(f"{_PREFIX}{stage}{err.message}{where}", path=path, line=err.line, column=err.column)
    try:
        return msgspec.convert(tree, Spec)
    except msgspec.ValidationError as exc:  # should not happen: the converter checked types
        raise ParseError(f"{_PREFIX}error unmarshaling JSON: {exc}", path=path) from None
