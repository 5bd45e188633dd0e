"""Number-preserving JSON round trips (:mod:`cdikit._rawjson`), as the shim uses them on config.json."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdikit._rawjson import RawNumber, dumps, loads
from tests.fuzz.fuzz_rawjson import exact_tree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a":1e999}', '{"a":1e999}'),  # json.dumps would write Infinity (not JSON)
        ('{"a":-1e999}', '{"a":-1e999}'),
        ('{"a":1.10}', '{"a":1.10}'),
        ('{"a":1E+2}', '{"a":1E+2}'),
        ('{"a":-0}', '{"a":-0}'),
        ('{"a":-0.0}', '{"a":-0.0}'),
        ('{"a":0.1000000000000000055511151231257827}', '{"a":0.1000000000000000055511151231257827}'),
        ('{"a":18446744073709551617}', '{"a":18446744073709551617}'),
        ('{"a":' + "9" * 5000 + "}", '{"a":' + "9" * 5000 + "}"),  # over CPython's int digit limit
        ('{"a":NaN,"b":Infinity}', '{"a":NaN,"b":Infinity}'),  # not JSON, but kept as it was
        ('{"z":1,"a":2,"m":[3,{"y":4,"b":5}]}', '{"z":1,"a":2,"m":[3,{"y":4,"b":5}]}'),
        ('{"s":"\\u00e9\\ud800\\n\\u0000x"}', '{"s":"\\u00e9\\ud800\\n\\u0000x"}'),
        ('{"s":"\\u0000deadbeef:0\\u0000"}', '{"s":"\\u0000deadbeef:0\\u0000"}'),  # looks like a placeholder
        ("[1.5, 2.50]", "[1.5,2.50]"),
    ],
)
def test_round_trip_keeps_numbers(text: str, expected: str) -> None:
    assert dumps(loads(text)).decode() == expected


def test_edits_change_only_what_they_touch() -> None:
    doc = loads('{"process":{"env":["A=1"],"rlimits":[{"hard":1e999}]},"x":1.0}')
    doc["process"]["env"].append("B=2")
    assert dumps(doc) == b'{"process":{"env":["A=1","B=2"],"rlimits":[{"hard":1e999}]},"x":1.0}'


def test_raw_numbers_compare_by_text() -> None:
    assert RawNumber("1.0") == RawNumber("1.0") != RawNumber("1.00")
    assert len({RawNumber("1e3"), RawNumber("1e3")}) == 1


_NUMBER = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["1e999", "-1e999", "1E+2", "1.10", "-0", "-0.0", "0e0", "2.5e-400", "NaN", "Infinity"]),
)
_KEY = st.text(max_size=6)


def _value(depth: int = 0) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        _NUMBER.map(lambda n: n if n in ("NaN", "Infinity") or _is_json_number(n) else "0"),
        st.text(max_size=8).map(json.dumps),
        st.text(max_size=8).map(lambda s: json.dumps(s, ensure_ascii=False)),
        st.sampled_from(["true", "false", "null"]),
    )
    if depth >= 3:
        return leaf
    child = _value(depth + 1)
    return st.one_of(
        leaf,
        st.lists(child, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(_KEY, child), max_size=4).map(
            lambda kv: "{" + ",".join(f"{json.dumps(k)}: {v}" for k, v in kv) + "}"
        ),
    )


def _is_json_number(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@settings(max_examples=400, derandomize=True, database=None)
@given(_value())
def test_property_every_value_survives(text: str) -> None:
    """Any JSON text: the rewrite has exactly the same values, numbers by their text, keys in order."""
    out = dumps(loads(text))
    assert exact_tree(out) == exact_tree(text)
