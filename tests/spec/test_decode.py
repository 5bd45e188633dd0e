"""Decoding spec bytes: tables of reference behaviour, fast/faithful agreement, fuzzing."""

from __future__ import annotations

import base64
import codecs
import json
import re
from pathlib import Path

import msgspec
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdikit.errors import CDIError, ParseError
from cdikit.spec import _yamlres
from cdikit.spec._goyaml import _go_read_sizes
from cdikit.spec.decode import _faithful, _fast, parse_spec
from cdikit.spec.encode import encode_spec
from cdikit.specfile import load_spec_bytes
from tests.conformance._case import library_prefix
from tests.spec.strategies import edge_documents, valid_specs

HEAD = "cdiVersion: 0.5.0\nkind: vendor.com/device\n"


def _dev(value: str, field: str = "name") -> bytes:
    if field == "name":
        return (HEAD + f"devices:\n- name: {value}\n  containerEdits:\n    env: [A=B]\n").encode()
    return (HEAD + f"devices:\n- name: d\n  containerEdits:\n    {field}\n").encode()


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("yes", "true"), ("Yes", "true"), ("y", "true"), ("Y", "true"), ("on", "true"), ("ON", "true"),
        ("no", "false"), ("n", "false"), ("off", "false"), ("true", "true"), ("False", "false"),
        ("007", "7"), ("0x1F", "31"), ("0o17", "15"), ("1e3", "1000"), ("1.50", "1.5"), ("1_000", "1000"),
        ("0b101", "5"), ("08", "8"), ("'yes'", "yes"), ('"007"', "007"), ("dev0", "dev0"), ("12", "12"),
        ("1.0", "1"), ("-3", "-3"), ("+7", "7"), ("2.5e-3", "0.0025"),
    ],
)  # fmt: skip
def test_yaml11_scalars_become_go_strings(plain: str, expected: str) -> None:
    spec = parse_spec(_dev(plain))
    assert spec is not None and spec.devices is not None
    assert spec.devices[0].name == expected


@pytest.mark.parametrize(
    ("field", "attr", "expected"),
    [
        ("deviceNodes: [{path: /dev/x, fileMode: 0660}]", "file_mode", 0o660),
        ("deviceNodes: [{path: /dev/x, fileMode: 0o660}]", "file_mode", 0o660),
        ("deviceNodes: [{path: /dev/x, fileMode: 420}]", "file_mode", 420),
        ("deviceNodes: [{path: /dev/x, major: 0x10}]", "major", 16),
        ("deviceNodes: [{path: /dev/x, major: 1.0}]", "major", 1),
        ("deviceNodes: [{path: /dev/x, uid: 0}]", "uid", 0),
        ("deviceNodes: [{path: /dev/x}]", "uid", None),
        ("deviceNodes: [{path: /dev/x, gid: ~}]", "gid", None),
    ],
)
def test_numbers_like_the_reference(field: str, attr: str, expected: object) -> None:
    spec = parse_spec(_dev("", field=field))
    assert spec is not None and spec.devices is not None
    edits = spec.devices[0].container_edits
    assert edits is not None and edits.device_nodes is not None
    assert getattr(edits.device_nodes[0], attr) == expected


@pytest.mark.parametrize(
    ("data", "needle", "line"),
    [
        (b'{"cdiVersion": "0.3.0", "kind": "a.com/b", "kind": "c.com/d", "devices": []}', 'key "kind" already set', 1),
        (HEAD.encode() + b"devices:\n-\tname: x\n", "line 4", 4),
        (HEAD.encode() + b"bogus: 1\n", 'unknown field "bogus"', 3),
        (HEAD.encode() + b"devices:\n  - name: d\n    containerEdits:\n      deviceNodes:\n        - path: /x\n          major: '1'\n",
         "cannot unmarshal string into Go struct field .devices.0.containerEdits.deviceNodes.0.major of type int64", 8),
        (HEAD.encode() + b"devices: 5\n", "cannot unmarshal number into Go struct field .devices", 3),
        (HEAD.encode() + b"devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{path: /x, uid: -1}]\n",
         "cannot unmarshal number -1 into Go struct field", 6),
        (b'{"cdiVersion": "0.3.0", // no\n}', 'unknown field "// no"', 1),
        (b"[1, 2]", "cannot unmarshal array into Go value of type specs.Spec", 1),
        (b"\xff\xfe\x41", "incomplete UTF-16 character", None),
        (b"\xfe\xff\x00", "incomplete UTF-16 character", None),
        (b"\xab", "invalid UTF-8", None),
    ],
)  # fmt: skip
def test_errors_name_field_and_position(data: bytes, needle: str, line: int | None) -> None:
    with pytest.raises(ParseError) as info:
        parse_spec(data, path="spec.yaml")
    assert needle in str(info.value)
    assert str(info.value).startswith("failed to unmarshal CDI Spec: ")
    if line is not None:
        assert info.value.line == line


@pytest.mark.parametrize("data", [b"", b"   \n", b"# only a comment\n", b"---\n", b"null\n", b"~\n"])
def test_empty_documents_are_no_spec(data: bytes) -> None:
    assert parse_spec(data) is None


def test_first_yaml_document_only() -> None:
    doc = _dev("first") + b"---\nthis is: [not, a, spec\n"
    spec = parse_spec(doc)
    assert spec is not None and spec.devices is not None and spec.devices[0].name == "first"


@pytest.mark.parametrize("pad", [0, 600, 5000])
def test_refused_characters_only_in_the_reads_go_yaml_makes(pad: int) -> None:
    # go-yaml v2 decodes the input 512 bytes at a time, when its scanner needs more: a
    # control character past the reads the first document needed is never seen.
    doc = _dev("first") + b"---\n" + b"#" * pad + b"\x0c"
    if pad:
        spec = parse_spec(doc)
        assert spec is not None and spec.devices is not None and spec.devices[0].name == "first"
    else:
        with pytest.raises(ParseError, match="control characters are not allowed"):
            parse_spec(doc)
    with pytest.raises(ParseError, match="control characters are not allowed"):
        parse_spec(_dev("first") + b"#" * pad + b"\x0c")


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf\xef\xbb\xbf" + _dev("x"),
        codecs.BOM_UTF16_LE + "\ufeff{}".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "\ufeffkind: a.com/b".encode("utf-16-be"),
    ],
)
def test_two_byte_order_marks_are_refused(data: bytes) -> None:
    # go-yaml v2 would drop the first character of each early line (policy rule 10).
    with pytest.raises(ParseError, match="starts with two byte-order marks"):
        parse_spec(data)


def test_case_insensitive_keys() -> None:
    spec = parse_spec(
        b'{"CDIVERSION": "0.3.0", "Kind": "a.com/b", "DEVICES": [{"NAME": "d", "containeredits": {"ENV": ["A=1"]}}]}'
    )
    assert spec is not None and spec.kind == "a.com/b" and spec.devices and spec.devices[0].name == "d"


class _GoSafeDumper(yaml.SafeDumper):
    """PyYAML's dumper, also quoting the YAML 1.1 booleans y/Y/n/N that go-yaml v2 resolves."""


_GoSafeDumper.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
_GoSafeDumper.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?0[oObBxX][0-9a-fA-F_]+$"), list("-+0")
)
_GoSafeDumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


def _yaml_text(spec_obj: object) -> bytes:
    return yaml.dump(
        spec_obj, Dumper=_GoSafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    ).encode()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_round_trip_json_and_yaml(spec: msgspec.Struct) -> None:
    builtins = msgspec.to_builtins(spec)
    for data in (
        msgspec.json.encode(spec),
        json.dumps(builtins, indent=2, ensure_ascii=False).encode(),
        _yaml_text(builtins),
    ):
        assert parse_spec(data) == spec


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_fast_and_faithful_paths_agree(spec: msgspec.Struct) -> None:
    builtins = msgspec.to_builtins(spec)
    for data in (msgspec.json.encode(spec), _yaml_text(builtins)):
        fast = _fast(data)
        if fast is not None:
            assert fast == _faithful(data, None)


_yaml_scalars = st.one_of(
    st.sampled_from(["yes", "no", "0x10", "007", "1e3", "~", "null", "1.5", "-1", "[]", "{}", "'x'", "a b"]),
    st.text(max_size=8),
)
_fields = st.sampled_from(
    [
        "cdiVersion",
        "kind",
        "devices",
        "name",
        "containerEdits",
        "env",
        "deviceNodes",
        "path",
        "major",
        "fileMode",
        "uid",
        "hooks",
        "hookName",
        "mounts",
        "intelRdt",
        "annotations",
        "x",
    ]
)


@st.composite
def _yamlish(draw: st.DrawFn, depth: int = 0) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(_fields)
        if depth < 3 and draw(st.booleans()):
            inner = draw(_yamlish(depth + 1))
            lines.append(f"{key}:\n" + "\n".join("  " + ln for ln in inner.splitlines()))
        elif depth < 3 and draw(st.booleans()):
            items = draw(st.lists(_yaml_scalars, max_size=3))
            lines.append(f"{key}:" + "".join(f"\n- {i}" for i in items))
        else:
            lines.append(f"{key}: {draw(_yaml_scalars)}")
    return "\n".join(lines)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode), _yamlish().map(str.encode)))
def test_loading_never_raises_anything_but_cdi_errors(data: bytes) -> None:
    try:
        load_spec_bytes(data, "fuzz.yaml")
    except CDIError:
        pass
    fast = _fast(data)
    if fast is not None:  # the fast path may only accept what the faithful path accepts, identically
        assert fast == _faithful(data, None)


# ---------------------------------------------------------------------------
# Each class of disagreement with the Go reference found by differential fuzzing
# (issue 13), with what the reference (ParseSpec over sigs.k8s.io/yaml v1.4.0,
# Go 1.27) returned, recorded in golden/go_decode_table.json: the spec as Go
# encodes it, or the error (compared up to its toolchain-dependent tail).
# ---------------------------------------------------------------------------

_GO_TABLE = json.loads((Path(__file__).parent / "golden" / "go_decode_table.json").read_text())


def _table_input(name: str, entry: dict[str, object]) -> bytes:
    if "text" in entry:
        return str(entry["text"]).encode()
    if "base64" in entry:
        return base64.b64decode(str(entry["base64"]))
    if name == "big-int-name":
        return f"cdiVersion: 0.5.0\nkind: vendor.com/device\ndevices: [{{name: {'9' * 5000}, containerEdits: {{env: [A=1]}}}}]\n".encode()
    assert name == "utf16le-bom", name
    text = "cdiVersion: 0.3.0\nkind: vendor.com/device\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n"
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


@pytest.mark.parametrize("name", sorted(_GO_TABLE))
def test_decodes_as_the_go_reference(name: str) -> None:
    entry = _GO_TABLE[name]
    data = _table_input(name, entry)
    go = entry["go"]
    try:
        spec = parse_spec(data)
    except ParseError as err:
        assert "error" in go, f"cdikit rejects what Go accepts: {err}"
        assert str(err).startswith("failed to unmarshal CDI Spec: " + library_prefix(go["error"]))
        for internal in ("msgspec", "Expected `", "PyYAML", "<unicode string>", "Traceback"):
            assert internal not in str(err)
        return
    assert "spec" in go, f"cdikit accepts what Go rejects: {go['error']}"
    got = json.loads(encode_spec(spec, "json")) if spec is not None else None
    assert got == go["spec"]
    # The fast path never accepts differently from the faithful one.
    fast = _fast(data)
    assert fast is None or fast == _faithful(data, None)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(edge_documents())
def test_fast_path_never_accepts_differently_on_edge_inputs(data: bytes) -> None:
    fast = _fast(data)
    if fast is None:
        return
    try:
        faithful = _faithful(data, None)
    except ParseError as err:
        raise AssertionError(f"the fast path accepts what the faithful path rejects: {err}") from None
    assert fast == faithful


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(edge_documents())
def test_any_input_is_a_spec_or_a_clean_parse_error(data: bytes) -> None:
    try:
        parse_spec(data)
    except ParseError as err:
        for internal in ("msgspec", "Expected `", "<unicode string>", "Traceback"):
            assert internal not in str(err), str(err)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_json_with_zero_values_takes_the_fast_path(spec: msgspec.Struct) -> None:
    # Realistic hand-written specs spell out defaults ("minor": 0, "type": ""): issue 14.
    doc = msgspec.to_builtins(spec)
    for device in doc["devices"]:
        for node in (device.get("containerEdits") or {}).get("deviceNodes") or []:
            node.setdefault("minor", 0)
            node.setdefault("major", 0)
            node.setdefault("type", "")
    data = json.dumps(doc, indent=2).encode()
    if b"\\u" in data or b"\\/" in data:
        return  # escapes go the faithful way on purpose
    fast = _fast(data)
    assert fast is not None
    assert fast == _faithful(data, None)


_MEMBER_LINE = re.compile(r'^\s*"[^"\\]+": (?:"[^"\\]*"|-?[0-9]+|null|true|false|\[\]|\{\}),?$')


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs(), st.integers(0, 10**6), st.booleans())
def test_json_duplicate_keys_are_never_taken_by_the_fast_path(
    spec: msgspec.Struct, pick: int, zeros: bool
) -> None:
    # Any repeated key, zero-valued or not, at any depth: Go rejects it, so the fast path
    # must decline (issue 14: the check re-encodes into structs that keep every key).
    doc = msgspec.to_builtins(spec)
    if zeros:
        for device in doc["devices"]:
            for node in (device.get("containerEdits") or {}).get("deviceNodes") or []:
                node.setdefault("minor", 0)
                node.setdefault("type", "")
    lines = json.dumps(doc, indent=2, ensure_ascii=False).splitlines()
    members = [i for i, line in enumerate(lines) if _MEMBER_LINE.match(line)]
    at = members[pick % len(members)]
    lines.insert(at, lines[at].rstrip(",") + ",")
    data = "\n".join(lines).encode()
    assert _fast(data) is None
    with pytest.raises(ParseError, match="already set in map"):
        _faithful(data, None)


@settings(max_examples=2000)
@given(st.lists(st.sampled_from([b"\x7f", b"\\", b"u", b"/", b" ", b"\t", b"\n", b"\r", b":", b'"', b"a", b"{"]),
                max_size=16).map(b"".join))  # fmt: skip
def test_json_decline_check_is_the_plain_one(data: bytes) -> None:
    from cdikit.spec.decode import _JSON_DECLINE, _json_declines

    assert _json_declines(data) == any(seq in data for seq in _JSON_DECLINE)


# The YAML pre-check in its plain form: what each check means, one simple pass per
# needle. decode._yaml_fast_ok must give exactly this answer (it is a faster spelling).
_PLAIN_REFUSED = bytes(range(0x09)) + b"\x09\x0b\x0c" + bytes(range(0x0E, 0x20)) + b"\x7f!&*%<|>?\\"
_PLAIN_OPENERS = b" \r\n[,{"
_PLAIN_AFTER_ZERO = b"0123456789_bB"
_PLAIN_WORDS = bytes(
    c
    if chr(c).isascii() and (chr(c).isalpha() or chr(c) in "_-+\"'")
    else 32
    if chr(c) in " \t\r\n,[]{}:#"
    else 46
    for c in range(256)
)
_PLAIN_RISKY = {
    w.encode() for w in _yamlres.TRUE_WORDS + _yamlres.FALSE_WORDS if w.lower() not in ("true", "false")
} | {(sign + "_" * k).encode() for sign in ("", "-", "+") for k in range(1, 33)}


def _plain_leading_zero(data: bytes) -> bool:
    """A plain scalar starting with 0 then a digit, "_" or "b" (octal/underscored/binary in YAML 1.1)."""

    def one_of(char: bytes, chars: bytes) -> bool:
        return len(char) == 1 and char in chars

    signs = len(data[:3]) - len(data[:3].lstrip(b"+-"))
    if (
        data[signs : signs + 1] == b"0"
        and one_of(data[signs + 1 : signs + 2], _PLAIN_AFTER_ZERO)
        and signs < 2
    ):
        return True  # at the very start
    for i in range(1, len(data) - 1):
        if data[i] != ord("0") or data[i + 1] not in _PLAIN_AFTER_ZERO:
            continue
        before = data[max(0, i - 4) : i]
        if one_of(before[-1:], _PLAIN_OPENERS) or before.endswith(b'":'):
            return True
        if one_of(before[-1:], b"+-") and (
            one_of(before[-2:-1], _PLAIN_OPENERS) or before[:-1].endswith(b'":')
        ):
            return True
    return False


def _plain_yaml_fast_ok(data: bytes) -> bool:
    if any(c in data for c in _PLAIN_REFUSED) or b"\n..." in data or data.startswith(b"..."):
        return False
    if not data.isascii() and re.search(
        rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]", data
    ):
        return False
    if b"\n---" in data:
        at = data.find(b"\n---")
        if b"\n---" in data[at + 1 :] or data[at + 4 : at + 5] not in (b"\n", b"\r"):
            return False
        if not all(not line.strip() or line.lstrip().startswith(b"#") for line in data[:at].split(b"\n")):
            return False
    if any(bytes([o]) + b":" in data for o in _PLAIN_OPENERS) or any(
        s in data for s in (b":}", b":]", b":,")
    ):
        return False
    if _plain_leading_zero(data):
        return False
    return not _PLAIN_RISKY & set(data.translate(_PLAIN_WORDS, b"0123456789").split())


_CHECK_PIECES = [
    b"0", b"1", b"7", b"_", b"b", b"B", b"x", b" ", b"\n", b"\r", b"\t", b"[", b"]", b"{", b"}", b",",
    b":", b'"', b"'", b"-", b"+", b".", b"#", b"---", b"...", b"y", b"es", b"o", b"n", b"ff", b"ON",
    b"!", b"&", b"\\", b"\x7f", b"\x01", b"\xc2\x85", b"\xc3\xa9", b"\xef\xbb\xbf", b"a: ", b"\n- ",
]  # fmt: skip


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_CHECK_PIECES), max_size=24).map(b"".join))
def test_yaml_fast_check_is_the_plain_one(data: bytes) -> None:
    from cdikit.spec.decode import _yaml_fast_ok

    assert _yaml_fast_ok(data) == _plain_yaml_fast_ok(data)


def _corpus() -> list[Path]:
    shared = Path("/work/shared/conformance")
    here = Path(__file__).parent
    paths = sorted(here.glob("golden/**/*.yaml")) + sorted(here.glob("golden/**/*.json"))
    if shared.is_dir():
        paths += sorted(
            p for p in shared.glob("**/*") if p.suffix in (".yaml", ".json", ".yml") and p.is_file()
        )
    return paths


def test_yaml_fast_check_is_the_plain_one_on_the_corpus() -> None:
    from cdikit.spec.decode import _yaml_fast_ok

    for path in _corpus():
        data = path.read_bytes()
        assert _yaml_fast_ok(data) == _plain_yaml_fast_ok(data), path


@pytest.mark.parametrize(
    "keys",
    ["{1: a, '1': b}", "{1.0: a, 1: b}", "{true: a, 'true': b}", "{0x10: a, 16: b}"],
)
def test_keys_that_become_one_json_key_are_a_duplicate(keys: str) -> None:
    # Policy rule 6: Go keeps one of the two at random (its map order); cdikit refuses.
    data = (HEAD + "devices: [{name: d, containerEdits: {env: [A=1]}}]\nannotations: " + keys + "\n").encode()
    with pytest.raises(ParseError, match="already set in map") as info:
        parse_spec(data)
    assert str(info.value).startswith("failed to unmarshal CDI Spec: error converting YAML to JSON: yaml: ")


def test_keys_that_become_one_json_key_with_equal_values_are_fine() -> None:
    # Go's random pick cannot matter then: it accepts, and so does cdikit.
    data = (
        HEAD + "devices: [{name: d, containerEdits: {env: [A=1]}}]\nannotations: {1: a, '1': a}\n"
    ).encode()
    spec = parse_spec(data)
    assert spec is not None and spec.annotations == {"1": "a"}


def test_keys_that_become_one_json_key_with_values_go_decodes_alike_are_fine() -> None:
    # null and "" both leave "" in a map[string]string: Go's pick cannot matter.
    data = (
        HEAD + "devices: [{name: d, containerEdits: {env: [A=1]}}]\nannotations:\n  1: ''\n  '1':\n"
    ).encode()
    spec = parse_spec(data)
    assert spec is not None and spec.annotations == {"1": ""}


def test_go_reads_drift_after_a_cut_character() -> None:
    # go-yaml v2 tops its 512-byte raw buffer up after the bytes of a character the last
    # read cut, so its reads drift from multiples of 512.
    data = b"#" * 511 + "\u00e9".encode() + b"#" * 600
    assert _go_read_sizes(data) == [511, 511, 90]


@pytest.mark.parametrize(
    ("at", "refused"), [(505, False), (509, True), (510, True), (512, True), (513, False)]
)
def test_a_feff_where_go_yaml_refills_its_buffer_is_refused(at: int, refused: bool) -> None:
    # Policy rule 10 (b): the last three characters of a read and the first of the next.
    head = b"kind: vendor.com/device\ncdiVersion: 0.3.0\nannotations: {a: '"
    data = head + b"x" * (at - len(head)) + "\ufeff".encode() + b"'}\n" + b"#" * 100 + b"\n"
    assert data.index(b"\xef\xbb\xbf") == at
    if refused:
        with pytest.raises(ParseError, match="where go-yaml v2's reader refills its buffer"):
            parse_spec(data)
    else:
        assert parse_spec(data) is not None


@pytest.mark.parametrize(("second_document", "rejected"), [(True, False), (False, True)])
def test_invalid_utf8_only_in_the_reads_go_yaml_makes(second_document: bool, rejected: bool) -> None:
    # Like a refused character: an invalid byte past go-yaml v2's first read is only an error
    # when its scanner reads that far (not behind the first document's end).
    doc = _dev("first") + (b"---\n" if second_document else b"") + b"#" + b"x" * 600 + b"\xff\n"
    if rejected:
        with pytest.raises(ParseError, match="invalid UTF-8 at byte"):
            parse_spec(doc)
    else:
        spec = parse_spec(doc)
        assert spec is not None and spec.devices is not None and spec.devices[0].name == "first"
    with pytest.raises(ParseError, match="invalid UTF-8 at byte 3"):
        parse_spec(b"a: \xff" + b"#" * 600)  # in the first read: always an error
