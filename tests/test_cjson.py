"""``cdikit._cjson``: json's C scanner/encoder without importing json; same results as json."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdikit import _cjson

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=False) == json.dumps(b, sort_keys=False)


@settings(max_examples=300)
@given(JSON, st.sampled_from(["", " ", "\n\t", "\r\n "]))
def test_round_trips_like_json(doc: object, ws: str) -> None:
    text = json.dumps(doc)
    assert _cjson.dumps(doc) == json.dumps(doc, separators=(",", ":"))
    for data in (ws + text + ws, (ws + text + ws).encode()):
        assert _same(_cjson.loads(data), json.loads(data))


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b'{"a": 1} x', b"\xef\xbb\xbf{}", '\ufeff{}', b"\xff\xfe{\x00}\x00", b'{"a": "\xed\xa0\x80"}',
     b"[NaN, Infinity, -Infinity, 1e999, -0, 1.10]", b'"\\ud800"', b"\x00", b"[1,]", b'{"a":1,"a":2}',
     b"\xc3(", b"[" * 100 + b"]" * 100, b'{"a": ["x"', b'"abc', b'{"a" 1}', b'"\\x"', b'"\x01"', b"01"],
)  # fmt: skip
def test_edge_inputs_match_json(data: bytes | str) -> None:
    # In a fresh process, as the shim runs it: json.decoder not loaded yet.
    code = f"import sys; sys.path[:0] = {sys.path!r}; import cdikit._cjson as c\ntry: c.loads({data!r})\nexcept ValueError: pass"
    subprocess.run([sys.executable, "-I", "-S", "-c", code], check=True)
    try:
        expected: object = ("ok", json.dumps(json.loads(data)))
    except ValueError as e:
        expected = ("error", type(e), str(e))
    try:
        got: object = ("ok", json.dumps(_cjson.loads(data)))
    except ValueError as e:
        got = ("error", type(e), str(e))
    assert got == expected


def test_parse_hooks_are_passed() -> None:
    doc = _cjson.loads(b"[1.10, 2, NaN]", parse_float=lambda t: ("f", t), parse_int=lambda t: ("i", t),
                       parse_constant=lambda t: ("c", t))  # fmt: skip
    assert doc == [("f", "1.10"), ("i", "2"), ("c", "NaN")]


@pytest.mark.parametrize("doc", [{1: 2}, {(1,): 2}, {"a": object()}, [float("nan")], "x\u2028"])
def test_dumps_matches_json_or_its_error(doc: object) -> None:
    try:
        expected: object = json.dumps(doc, separators=(",", ":"))
    except TypeError as e:
        expected = (TypeError, str(e))
    try:
        got: object = _cjson.dumps(doc)
    except TypeError as e:
        got = (TypeError, str(e))
    assert got == expected


def test_does_not_import_json_or_re() -> None:
    code = "import sys, cdikit._cjson as c; c.dumps(c.loads(b'{\"a\": [1, 2.5, null]}')); print(sorted(m for m in sys.modules if m in ('json', 're')))"
    done = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = {sys.path!r}; {code}"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"
