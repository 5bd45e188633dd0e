"""The first half of the reference's decoder: YAML bytes to the values go-yaml v2 produces.

``sigs.k8s.io/yaml`` (v1.4.0) unmarshals every spec file with its vendored go-yaml v2
(``goyaml.v2``) into an ``interface{}`` before anything else happens. This module
reproduces that step: libyaml (through PyYAML) scans and parses, which is the C library
go-yaml v2 was ported from, and the places where the two differ are patched here:

* double-quoted escapes: go-yaml v2 accepts ``\\'`` and rejects ``\\/`` (libyaml the
  reverse);
* ``%YAML`` directives other than 1.1 are "incompatible" in go-yaml v2;
* UTF-16 input with a byte-order mark is read (go-yaml v2 converts it);
* scalars are resolved with go-yaml v2's table (YAML 1.1 booleans, ``0777`` octal,
  ``1e400`` stays a string because it overflows, timestamps stay strings, ``!!binary``
  is base64-decoded, unknown and local tags give strings, a bad value under an explicit
  ``!!int``/``!!null``/``!!timestamp``... tag is an error);
* mappings follow go-yaml v2's strict mode: merge keys (``<<``) decode their sources
  into the same map, so any key set twice, by a merge or not, is an error, and a merge
  of an alias to a sequence is refused.

Values: ``None``, ``bool``, ``int``, :class:`GoUint` (a uint64 above int64's range),
``float``, ``str``, :class:`YMap` and :class:`YSeq` (which keep their nodes, so later
errors can name a line and column).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any

from cdikit.spec import _yamlres

__all__ = [
    "GoUint",
    "YMap",
    "YSeq",
    "YamlError",
    "check_buffer_bom",
    "compose",
    "decode_text",
    "go_buffer_bom",
    "go_reads",
    "to_go",
]

_MAX_DEPTH = 10_000  # go-yaml v2 refuses documents nested deeper than this


class YamlError(Exception):
    """A go-yaml v2 error (reported as ``yaml: ...``), with the node position when known."""

    def __init__(
        self, message: str, node: Any = None, *, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        mark = getattr(node, "start_mark", None)
        self.line = mark.line + 1 if mark is not None else line
        self.column = mark.column + 1 if mark is not None else column


class GoUint(int):
    """A uint64 value (go-yaml v2 resolves integers beyond int64 but within uint64 to uint64)."""


class YMap:
    """A decoded mapping: Go key identity -> (key, key node, value node, value), in document order."""

    __slots__ = ("entries", "node")

    def __init__(self, node: Any) -> None:
        self.node = node
        self.entries: dict[Any, tuple[Any, Any, Any, Any]] = {}


class YSeq:
    """A decoded sequence: (node, value) per item."""

    __slots__ = ("items", "node")

    def __init__(self, node: Any, items: list[tuple[Any, Any]]) -> None:
        self.node = node
        self.items = items


# ---------------------------------------------------------------------------
# Bytes to text
# ---------------------------------------------------------------------------


def _go_utf16_error(exc: UnicodeDecodeError) -> str:
    if exc.end >= len(exc.object) and (exc.end - exc.start) % 2 == 1:
        return "incomplete UTF-16 character"
    return "incomplete UTF-16 surrogate pair" if exc.end >= len(exc.object) else "expected low surrogate area"


_REPEATED_BOM = (
    "the file starts with two byte-order marks: go-yaml v2 then drops the first character"
    " of each of its first lines (refused)"
)
_BUFFER_BOM = (
    "a byte-order mark (U+FEFF) lies where go-yaml v2's reader refills its buffer: go-yaml v2"
    " then drops the first character of each of the lines that follow (refused)"
)


def _encoding(data: bytes) -> tuple[str, int]:
    """go-yaml v2's reading of ``data``: the codec, and where the text starts after a BOM."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return ("utf-16-le" if data[:2] == b"\xff\xfe" else "utf-16-be"), 2
    return "utf-8", 3 if data.startswith(b"\xef\xbb\xbf") else 0


def decode_text(data: bytes) -> str:
    """The document text, read as go-yaml v2's reader reads it (UTF-8, or UTF-16 after a BOM).

    A second BOM right after the first is refused (policy rule 10, docs/decoding.md):
    go-yaml v2's scanner tests for a BOM at its buffer's start, not at the current
    character, so it would drop the first character of every line in its first read.
    """
    codec, start = _encoding(data)
    if codec != "utf-8":
        try:
            text = data[start:].decode(codec)
        except UnicodeDecodeError as exc:
            raise YamlError(_go_utf16_error(exc)) from None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start + 4 <= _GO_READ:  # in go-yaml v2's first read, which it always decodes
                raise YamlError(f"invalid UTF-8 at byte {exc.start}") from None
            # Later, go-yaml v2 only meets it if its scanner reads that far (a second document
            # is never read): the bytes stay as escapes, the read holding them fails (go_reads).
            text = data.decode("utf-8", "surrogateescape")
        text = text[1:] if text.startswith("\ufeff") else text
    if text.startswith("\ufeff"):
        raise YamlError(_REPEATED_BOM, line=1, column=1)
    return text


_GO_READ = 512  # go-yaml v2's raw input buffer: it decodes and checks the input this much at a time
# What go-yaml v2's reader refuses ("control characters are not allowed").
_REFUSED = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _go_read_sizes(data: bytes) -> list[int]:
    """How many characters go-yaml v2's reader decodes from each of its reads of ``data``.

    Its raw buffer holds 512 bytes: the first read takes 512, and each later one tops the
    buffer up again after the bytes of a character cut by the previous read (so the reads
    drift from multiples of 512 after a multi-byte character). A byte-order mark at the
    start is skipped, as :func:`decode_text` skips it.
    """
    import codecs

    codec, start = _encoding(data)
    decoder = codecs.getincrementaldecoder(codec)("surrogateescape" if codec == "utf-8" else "strict")
    sizes: list[int] = []
    offset = 0
    while offset < len(data):
        size = _GO_READ - len(decoder.getstate()[0])  # the cut character's bytes stay in the buffer
        sizes.append(len(decoder.decode(data[max(offset, start) : offset + size])))
        offset += size
    return sizes


def go_reads(data: bytes, text: str) -> list[str] | None:
    """``text`` cut where go-yaml v2's reader decodes it: one piece per read (:func:`_go_read_sizes`).

    go-yaml v2 decodes (and checks) the input one read at a time, when its scanner
    needs more, so a character it refuses after the end of the first document is never
    seen when it lies beyond the reads the scanner reached; libyaml's reader takes 16 KiB
    at once. Fed these pieces, libyaml reads exactly when go-yaml v2 does. None when
    reading at once gives the same result (no refused character past the first read).
    """
    if len(data) <= _GO_READ or _REFUSED.search(text) is None:
        return None
    pieces: list[str] = []
    at = 0
    for size in _go_read_sizes(data):
        if size:  # a read that completes no character adds nothing to libyaml's
            pieces.append(text[at : at + size])
            at += size
    return pieces if at == len(text) else None


# go-yaml v2's scanner asks its reader for at most this many characters ahead.
_GO_LOOKAHEAD = 4


def go_buffer_bom(data: bytes, text: str) -> int | None:
    """The index in ``text`` of a U+FEFF that go-yaml v2's reader may make its buffer's start.

    When its scanner asks for more characters than are decoded, go-yaml v2's reader moves
    the unread ones to the start of its buffer and decodes the next read after them; and
    its scanner's BOM test (``is_bom``) looks at the buffer's start, not at the current
    character, so while a U+FEFF sits there it drops the first character of every line it
    begins, up to the next refill (policy rule 10, docs/decoding.md). The scanner looks at
    most four characters ahead, so the characters that can start the buffer are the last
    three decoded from each read (the file's end included) and the first one of the next.
    Which of them does depends on the scanner's state there; cdikit refuses them all.
    """
    if "\ufeff" not in text:
        return None
    end = 0
    for size in _go_read_sizes(data):
        end += size
        for i in range(max(end - (_GO_LOOKAHEAD - 1), 0), min(end + 1, len(text))):
            if text[i] == "\ufeff":
                return i
    return None


def _line_column(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def check_buffer_bom(data: bytes, text: str) -> None:
    """Refuse a U+FEFF that go-yaml v2 may take for its buffer's start (:func:`go_buffer_bom`)."""
    at = go_buffer_bom(data, text)
    if at is not None:
        line, column = _line_column(text, at)
        raise YamlError(_BUFFER_BOM, line=line, column=column)


class _Reads:
    """A stream handing libyaml one go-yaml v2 read per call."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.next = 0

    def read(self, size: int) -> str:
        if self.next >= len(self.pieces):
            return ""
        piece = self.pieces[self.next]
        bad = _ESCAPED_BYTE.search(piece)
        if bad is not None:  # an invalid UTF-8 byte in this read: go-yaml v2 fails decoding it
            done = "".join(self.pieces[: self.next]) + piece[: bad.start()]
            raise YamlError(f"invalid UTF-8 at byte {len(done.encode('utf-8', 'surrogateescape'))}")
        self.next += 1
        return piece


# A byte that is not UTF-8, as decode_text keeps one past go-yaml v2's first read.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


# ---------------------------------------------------------------------------
# Composing (libyaml events -> nodes), with go-yaml v2's differences patched in
# ---------------------------------------------------------------------------

_PLAIN = "tag:cdikit.plain"  # a plain scalar with no tag: resolved by go-yaml v2's table
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# Escapes libyaml produces from a two-character sequence: used as stand-ins for \' .
_STAND_INS = {"0": "\x00", "a": "\x07", "b": "\x08", "e": "\x1b", "v": "\x0b", "f": "\x0c"}
_ESCAPE = re.compile(r"\\(.)", re.S)


class _Composed(Exception):
    """Raised by the composer for documents go-yaml v2 also refuses."""


def _allowed_alias_ratio(decodes: int) -> float:
    # go-yaml v2's guard against alias expansion ("billion laughs"), same numbers.
    if decodes <= 400_000:
        return 0.99
    if decodes >= 4_000_000:
        return 0.10
    return 0.10 + 0.89 * (1 - (decodes - 400_000) / 3_600_000)


def _excessive_aliasing(decodes: int, aliases: int) -> bool:
    return aliases > 100 and decodes > 1000 and aliases / decodes > _allowed_alias_ratio(decodes)


def _stand_in(text: str) -> tuple[str, str] | None:
    """An escape letter whose character cannot otherwise occur in this document's scalars."""
    for letter, char in _STAND_INS.items():
        code = f"{ord(char):02x}"
        if "\\" + letter in text:
            continue
        if re.search(rf"\\(x{code}|u00{code}|U000000{code})", text, re.IGNORECASE):
            continue
        return letter, char
    return None


class Composed:
    """The first document's root node, plus which mapping values were written as aliases."""

    __slots__ = ("alias_values", "root")

    def __init__(self, root: Any, alias_values: set[tuple[int, int]]) -> None:
        self.root = root
        self.alias_values = alias_values  # (id(mapping node), pair index) whose value is an alias


class _Retag(Exception):
    """go-yaml v2 reads ``,``, ``[`` and ``]`` as part of a tag (libyaml ends the tag there)."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__("retag")
        self.positions = positions


_GO_TAG_CHARS = re.compile(r"[0-9A-Za-z\-_;/?:@&=+$,.!~*'()\[\]%]*")


def _tag_fixes(source: str, at: int) -> list[int]:
    """Positions of ``,[]`` that go-yaml v2 would take into the tag written at ``at``."""
    m = re.compile(r"(?:&[^\s,\[\]{}]*[ \t]+)?!").match(source, at)
    if m is None or source.startswith("<", m.end()):
        return []
    run = _GO_TAG_CHARS.match(source, m.end())
    assert run is not None
    return [i for i in range(run.start(), run.end()) if source[i] in ",[]"]


def _private_chars(text: str, count: int) -> list[str]:
    """Private-use characters absent from ``text``: stand-ins libyaml reads as plain content."""
    found: list[str] = []
    code = 0xE000
    while len(found) < count and code <= 0xF8FF:
        if chr(code) not in text:
            found.append(chr(code))
        code += 1
    return found


# A document whose root is an empty flow collection ({} or []) that opens its first line
# of content: libyaml saves it as a possible simple key (and so reads on to the ":" that
# would make it a key), go-yaml v2 forgets that key when the collection closes (its
# decrease_flow_level deletes the token number the inner level shares with it).
_EMPTY_ROOT_FLOW = re.compile(
    r"(?:(?:[ \t]*(?:#[^\n]*)?|%[^\n]*|---[ \t]*(?:#[^\n]*)?)\r?\n)*( *)(\{[ \t]*\}|\[[ \t]*\])"
)
_TRIVIAL_REST = re.compile(r"(?:[ \t\r\n]|#[^\n]*)*")
_SIMPLE_KEY_REACH = 1024  # go-yaml v2 forgets a simple key further than this from its ":"


def _libyaml_error(exc: Exception) -> YamlError:
    """A libyaml (PyYAML) error as go-yaml v2's: its problem, at its mark when it has one."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        problem = exc.problem or exc.context or "syntax error"
        if mark is None:
            return YamlError(problem)
        return YamlError(problem, line=mark.line + 1, column=mark.column + 1)
    return YamlError(str(exc).splitlines()[0] if str(exc) else "syntax error")


def _scan_after_empty_root(work: str, opened: int, closed: int, reads: list[str] | None) -> None:
    """What go-yaml v2 reads after an empty root flow collection: the one token it peeks.

    It ends the document there (its decoder reads one document and stops), having
    scanned just the next token, with no simple key allowed before the next line, as
    after a ``---``: libyaml scans ``--- `` + the rest so (with the lines kept), except for
    a ``:`` on the collection's line within go-yaml v2's reach of it, which go-yaml v2
    still takes for the (forgotten, so harmless) key's value indicator.
    """
    import yaml

    rest = work[closed:]
    after = rest.lstrip(" \t")
    at = closed + len(rest) - len(after)
    if after[:1] == ":" and after[1:2] in ("", " ", "\t", "\r", "\n") and at <= opened + _SIMPLE_KEY_REACH:
        return
    lead = "\n" * work.count("\n", 0, closed) + "--- "
    source: Any = lead + rest
    if reads is not None:
        pieces, start = [], 0
        for piece in reads:  # the same reads, from the collection's end on
            end = start + len(piece)
            if end > closed:
                pieces.append(work[max(start, closed) : end])
            start = end
        pieces[0] = lead + pieces[0]
        source = _Reads(pieces)
    scanner = getattr(yaml, "CBaseLoader", yaml.BaseLoader)(source)
    try:
        for _ in range(3):  # stream start, the stand-in document start, the token go-yaml v2 peeks
            scanner.get_token()
    except yaml.YAMLError as exc:
        err = _libyaml_error(exc)
        if err.line == len(lead) - 3 and err.column is not None:  # after the stand-in "--- "
            err.column += closed - (work.rfind("\n", 0, closed) + 1) - 4
        raise err from None
    finally:
        dispose = getattr(scanner, "dispose", None)
        if dispose is not None:
            dispose()


def compose(text: str, reads: list[str] | None = None) -> Composed:
    """Compose the first document as go-yaml v2 parses it (raises YamlError otherwise).

    Where libyaml's scanner and go-yaml v2's differ, the text is patched with
    same-length stand-ins (so every mark stays right) and the scalars read back:
    a byte-order mark after the start is plain content to go-yaml v2 (libyaml skips
    it at a line start); ``\\'`` is an escape to it; in flow context a ``:`` followed
    by a flow indicator (``{a: b:}``) stays in the plain scalar; and ``,``, ``[``
    and ``]`` belong to a tag. ``reads`` (:func:`go_reads`) makes libyaml read the
    text piece by piece as go-yaml v2 does.
    """
    import yaml

    budget = 64  # re-parses, each fixing one spot where libyaml and go-yaml v2 scan differently
    bom_char, colon_char = [*_private_chars(text, 2), "", ""][:2]
    restore: dict[str, str] = {}
    work = text
    if bom_char and "\ufeff" in text:
        work = text.replace("\ufeff", bom_char)
        restore[bom_char] = "\ufeff"
    stand_in = _stand_in(text) if "\\'" in text else None
    empty_root = _EMPTY_ROOT_FLOW.match(work)
    if empty_root is not None and _TRIVIAL_REST.fullmatch(work, empty_root.end()) is None:
        composed = compose(text[: empty_root.end()])  # an empty mapping or sequence
        _scan_after_empty_root(work, empty_root.start(2), empty_root.end(), reads)
        return composed
    while True:
        try:
            return _compose(work, text, restore, reads)
        except _Retag as retag:
            if budget <= 0:
                raise YamlError("did not find expected whitespace or line break") from None
            budget -= 1
            chars = list(work)
            for i in retag.positions:
                chars[i] = "~"  # any URI character: the tag stays an unknown one, as in Go
            work = "".join(chars)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            problem = exc.problem or exc.context or "syntax error"
            at = mark.index if mark is not None else -1
            if budget > 0 and 0 <= at < len(work) - 1:
                if (
                    problem == "found unknown escape character"
                    and stand_in is not None
                    and work[at] == "\\"
                    and work[at + 1] == "'"
                ):
                    budget -= 1
                    restore[stand_in[1]] = "'"
                    work = work[: at + 1] + stand_in[0] + work[at + 2 :]
                    continue
                if exc.context == "while scanning a tag" and work[at] in ",[]":
                    budget -= 1
                    work = work[:at] + "~" + work[at + 1 :]
                    continue
                if problem == "found unexpected ':'" and work[at] == ":" and colon_char:
                    budget -= 1
                    restore[colon_char] = ":"
                    work = work[:at] + colon_char + work[at + 1 :]
                    continue
            raise _libyaml_error(exc) from None
        except _Composed as exc:
            raise YamlError(str(exc)) from None
        except yaml.YAMLError as exc:
            raise _libyaml_error(exc) from None


def _check_double_quoted(source: str, start: Any) -> None:
    """go-yaml v2 has no ``\\/`` escape (YAML 1.2 added it; libyaml accepts it)."""
    for m in _ESCAPE.finditer(source):
        if m.group(1) == "/":
            raise YamlError("found unknown escape character", line=start.line + 1, column=start.column + 1)


def _question_mark_in_flow(work: str, event: Any, parent: Any) -> None:
    """go-yaml v2 ends a plain scalar at a ``?`` in flow context (libyaml before 0.2 did too).

    The ``?`` then starts a key (in flow context it always does), where the flow
    collection expects a ``,`` or its end: an error whatever follows.
    """
    import yaml

    if not getattr(parent, "flow_style", False):
        return
    line, column = _line_column(work, work.index("?", event.start_mark.index + 1, event.end_mark.index))
    closing = "]" if type(parent) is yaml.SequenceStartEvent else "}"
    raise YamlError(f"did not find expected ',' or '{closing}'", line=line, column=column)


def _compose(work: str, original: str, restore: dict[str, str], reads: list[str] | None) -> Composed:
    import yaml

    source: Any = work
    if reads is not None:
        cuts, at = [], 0
        for piece in reads:  # the same cuts in the patched text (every patch keeps its length)
            cuts.append(work[at : at + len(piece)])
            at += len(piece)
        source = _Reads(cuts)
    events = getattr(yaml, "CBaseLoader", yaml.BaseLoader)(source)  # libyaml's event parser when present
    check_escapes = "\\/" in original
    alias_values: set[tuple[int, int]] = set()
    try:
        # frame: start event, children, anchor, expanded size, nodes reached through aliases, alias slots
        stack: list[list[Any]] = []
        anchors: dict[str, Any] = {}
        counts: dict[int, tuple[int, int]] = {}  # id(node) -> (decodes, aliases) when expanded
        while True:
            event = events.get_event()
            kind = type(event)
            via_alias = False
            if getattr(event, "tag", None) is not None and kind is not yaml.AliasEvent:
                fixes = _tag_fixes(work, event.start_mark.index)
                if fixes:
                    raise _Retag(fixes)
            if kind is yaml.ScalarEvent:
                tag = event.tag
                if tag is None:
                    tag = _PLAIN if event.implicit[0] else _STR_TAG
                elif tag == "!":
                    tag = _STR_TAG  # the non-specific tag: go-yaml v2 reads the text
                value = event.value
                if (
                    not event.style
                    and stack
                    and "?" in work[event.start_mark.index + 1 : event.end_mark.index]
                ):
                    _question_mark_in_flow(work, event, stack[-1][0])
                if event.style == '"' and check_escapes:
                    _check_double_quoted(
                        original[event.start_mark.index : event.end_mark.index], event.start_mark
                    )
                for char, was in restore.items():
                    if char in value:
                        value = value.replace(char, was)
                node: Any = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
                counts[id(node)] = (1, 0)
                if event.anchor is not None:
                    anchors[event.anchor] = node
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                if len(stack) >= _MAX_DEPTH:
                    raise _Composed(f"exceeded max depth of {_MAX_DEPTH}")
                stack.append([event, [], event.anchor, 1, 0, []])
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                start, children, anchor, decodes, aliases, alias_slots = stack.pop()
                if kind is yaml.SequenceEndEvent:
                    node = yaml.SequenceNode(
                        start.tag or "tag:yaml.org,2002:seq", children, start.start_mark, event.end_mark
                    )
                else:
                    pairs = list(zip(children[0::2], children[1::2], strict=True))
                    node = yaml.MappingNode(
                        start.tag or "tag:yaml.org,2002:map", pairs, start.start_mark, event.end_mark
                    )
                    for slot in alias_slots:
                        if slot % 2 == 1:
                            alias_values.add((id(node), slot // 2))
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
                return Composed(None, alias_values)
            elif kind is yaml.DocumentStartEvent:
                version = getattr(event, "version", None)
                if version is not None and tuple(version) != (1, 1):
                    raise _Composed("found incompatible YAML document")
                continue
            else:  # stream start
                continue
            if not stack:
                # go-yaml v2 then expects the document's end, which scans the next token:
                # a tab or a "- " after a root flow collection fails there.
                events.get_event()
                return Composed(node, alias_values)
            frame = stack[-1]
            if via_alias:
                frame[5].append(len(frame[1]))
            frame[1].append(node)
            decodes, aliases = counts[id(node)]
            frame[3] += decodes
            # go-yaml v2 counts every node decoded inside an alias expansion.
            frame[4] += decodes if via_alias else aliases
    finally:
        dispose = getattr(events, "dispose", None)
        if dispose is not None:
            dispose()


# ---------------------------------------------------------------------------
# Resolving scalars (go-yaml v2 resolve.go)
# ---------------------------------------------------------------------------

_LONG = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT = _LONG + "null", _LONG + "bool", _LONG + "int", _LONG + "float"
_TIMESTAMP, _BINARY = _LONG + "timestamp", _LONG + "binary"
_RESOLVABLE = frozenset(("", _STR_TAG, _BOOL, _INT, _FLOAT, _NULL, _TIMESTAMP))

# The words and the float syntax are shared with the encoder (cdikit.spec._yamlres).
_RESOLVE_MAP: dict[str, tuple[str, Any]] = {
    **{s: (_BOOL, True) for s in _yamlres.TRUE_WORDS},
    **{s: (_BOOL, False) for s in _yamlres.FALSE_WORDS},
    **{s: (_NULL, None) for s in _yamlres.NULL_WORDS},
    **{s: (_FLOAT, value) for s, value in _yamlres.SPECIAL_FLOATS.items()},
    "<<": (_MERGE_TAG, "<<"),
}
_YAML_FLOAT = re.compile(_yamlres.YAML_FLOAT)
_BASES = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_DIGITS = {16: "0123456789abcdefABCDEF", 8: "01234567", 2: "01", 10: "0123456789"}
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


def _parse_int(text: str, *, signed: bool) -> int | None:
    """strconv.ParseInt(text, 0, 64) (signed) or ParseUint (not signed); None on any error."""
    sign = 1
    body = text
    if signed and body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    base = _BASES.get(body[:2])
    if base is not None:
        body = body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    else:
        base = 10
    if not body or any(c not in _DIGITS[base] for c in body):
        return None
    significant = body.lstrip("0")
    if len(significant) > 64:  # beyond uint64 in any base (and int()'s digit limit)
        return None
    value = sign * int(significant or "0", base)
    if signed:
        return value if _INT64_MIN <= value <= _INT64_MAX else None
    return GoUint(value) if value <= _UINT64_MAX else None


def _short(tag: str) -> str:
    return "!!" + tag[len(_LONG) :] if tag.startswith(_LONG) else tag


def _resolve(tag: str, text: str) -> tuple[str, Any]:
    """go-yaml v2's resolve(tag, in): the resolved tag and value (before explicit-tag checks)."""
    if text:
        first = text[0]
        hint = "D" if first in "0123456789" else "S" if first in "+-" else "." if first == "." else ""
        if not hint and first in "yYnNtTfFoO~":
            hint = "M"
    else:
        hint = "N"
    if hint and tag not in (_STR_TAG, _BINARY):
        item = _RESOLVE_MAP.get(text)
        if item is not None:
            return item
        if hint == ".":
            value = _yamlres.go_parse_float(text)
            if value is not None:
                return _FLOAT, value
        elif hint in "DS":
            if tag in ("", _TIMESTAMP) and _yamlres.is_timestamp(text):
                return _TIMESTAMP, text  # into interface{}, go-yaml v2 keeps the text
            plain = text.replace("_", "")
            value_int = _parse_int(plain, signed=True)
            if value_int is None:
                value_int = _parse_int(plain, signed=False)
            if value_int is not None:
                return _INT, value_int
            if _YAML_FLOAT.fullmatch(plain):
                value = _yamlres.go_parse_float(plain)
                if value is not None:
                    return _FLOAT, value
    return _STR_TAG, text


def resolve_scalar(node: Any) -> Any:
    """A scalar node's Go value, as go-yaml v2 decodes it into an ``interface{}``."""
    tag = node.tag
    text = node.value
    if tag == _PLAIN:
        return _resolve("", text)[1]
    if tag not in _RESOLVABLE:
        if tag == _BINARY:
            return _binary(text, node)
        return text  # unknown, local and non-specific tags: the text
    rtag, value = _resolve(tag, text)
    if tag in (rtag, _STR_TAG):
        return value
    if tag == _FLOAT and rtag == _INT and not isinstance(value, GoUint):
        return float(value)
    raise YamlError(f"cannot decode {_short(rtag)} `{text}` as a {_short(tag)}", node)


def _go_utf8(raw: bytes) -> str:
    """Go strings hold bytes; encoding/json writes each invalid byte as U+FFFD."""
    return raw.decode("utf-8", errors="cdikit-go-replace")


def _one_byte_replace(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    return "\ufffd", exc.start + 1


def _binary(text: str, node: Any) -> str:
    try:
        raw = base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        raise YamlError("!!binary value contains invalid base64 data", node) from None
    return _go_utf8(raw)


def _register_codec_error() -> None:
    import codecs

    codecs.register_error("cdikit-go-replace", _one_byte_replace)


_register_codec_error()


# ---------------------------------------------------------------------------
# Decoding nodes into Go values (go-yaml v2 decode.go, strict, into interface{})
# ---------------------------------------------------------------------------


def _go_key(value: Any) -> Any:
    """The identity of a value as a key of Go's map[interface{}]interface{}."""
    if isinstance(value, float) and math.isnan(value):
        return ("f", object())  # NaN never equals itself
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, GoUint):
        return ("u", int(value))
    if isinstance(value, int):
        return ("i", value)
    if isinstance(value, float):
        return ("f", value)
    if isinstance(value, str):
        return ("s", value)
    return ("n", None)


def go_key_text(value: Any) -> str:
    """A key as Go's %#v would show it in the duplicate-key message."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class _Decoder:
    def __init__(self, alias_values: set[tuple[int, int]]) -> None:
        self.alias_values = alias_values
        self.dup_errors: list[str] = []
        self.first_dup: Any = None
        self.memo: dict[int, Any] = {}

    def value(self, node: Any) -> Any:
        import yaml

        if isinstance(node, yaml.ScalarNode):
            return resolve_scalar(node)
        cached = self.memo.get(id(node))
        if cached is not None:
            return cached
        if isinstance(node, yaml.SequenceNode):
            result: Any = YSeq(node, [(item, self.value(item)) for item in node.value])
        else:
            result = YMap(node)
            self.fill(node, result)
        self.memo[id(node)] = result
        return result

    def fill(self, node: Any, out: YMap) -> None:
        import yaml

        for index, (key_node, value_node) in enumerate(node.value):
            if (
                isinstance(key_node, yaml.ScalarNode)
                and key_node.value == "<<"
                and key_node.tag in (_PLAIN, _MERGE_TAG)
            ):
                self.merge(value_node, out, (id(node), index) in self.alias_values)
                continue
            key = self.value(key_node)
            if isinstance(key, (YMap, YSeq)):
                raise YamlError("invalid map key: a mapping or sequence cannot be a key", key_node)
            value = self.value(value_node)
            identity = _go_key(key)
            if identity in out.entries:
                if self.first_dup is None:
                    self.first_dup = key_node
                self.dup_errors.append(
                    f"line {value_node.start_mark.line + 1}: key {go_key_text(key)} already set in map"
                )
                continue
            out.entries[identity] = (key, key_node, value_node, value)

    def merge(self, node: Any, out: YMap, via_alias: bool) -> None:
        import yaml

        if isinstance(node, yaml.MappingNode):
            self.fill(node, out)
            return
        if isinstance(node, yaml.SequenceNode) and not via_alias:
            # Step backwards: earlier maps take precedence (and repeated keys are errors).
            for item in reversed(node.value):
                if not isinstance(item, yaml.MappingNode):
                    raise YamlError("map merge requires map or sequence of maps as the value", item)
                self.fill(item, out)
            return
        raise YamlError("map merge requires map or sequence of maps as the value", node)


def to_go(composed: Composed) -> Any:
    """The root node's Go value; raises YamlError as go-yaml v2 would fail."""
    decoder = _Decoder(composed.alias_values)
    value = decoder.value(composed.root)
    if decoder.dup_errors:
        raise YamlError("unmarshal errors:\n  " + "\n  ".join(decoder.dup_errors), decoder.first_dup)
    return value
