"""The port of Go's ``filepath.Match`` used to expand ``cdi inject`` patterns."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.cli._gomatch import BadPatternError, has_magic, match

BAD = "bad"

# Go's own table (src/path/filepath/match_test.go), Unix flavour.
GO_CASES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "\u03b1", True),  # Greek alpha
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("[]a]", "]", BAD),
    ("[-]", "-", BAD),
    ("[x-]", "x", BAD),
    ("[x-]", "-", BAD),
    ("[x-]", "z", BAD),
    ("[-x]", "x", BAD),
    ("[-x]", "-", BAD),
    ("[-x]", "a", BAD),
    ("\\", "a", BAD),
    ("[a-b-c]", "a", BAD),
    ("[", "a", BAD),
    ("[^", "a", BAD),
    ("[^bc", "a", BAD),
    ("a[", "a", BAD),
    ("a[", "ab", BAD),
    ("a[", "x", BAD),
    ("a/b[", "x", BAD),
    ("*x", "xxx", True),
    # CDI names: '*' stays within the part after the last '/'.
    ("vendor.com/gpu=*", "vendor.com/gpu=0", True),
    ("*", "vendor.com/gpu=0", False),
    ("*/gpu=*", "vendor.com/gpu=0", True),
    ("vendor.com/*", "vendor.com/gpu=0", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), GO_CASES)
def test_go_table(pattern: str, name: str, expected: bool | str) -> None:
    if expected == BAD:
        with pytest.raises(BadPatternError):
            match(pattern, name)
    else:
        assert match(pattern, name) is expected


@pytest.mark.parametrize(
    ("pattern", "magic"), [("a/b=c", False), ("a/b=*", True), ("a[1]", True), ("a?", True)]
)
def test_has_magic(pattern: str, magic: bool) -> None:
    assert has_magic(pattern) is magic


_TOKENS = {
    "a": "a",
    "b": "b",
    "/": "/",
    "=": "=",
    "*": "[^/]*",
    "?": "[^/]",
    "[ab]": "[ab]",
    "[^a]": "[^a]",
    "[a-b]": "[a-b]",
    "\\*": "\\*",
}


@given(st.lists(st.sampled_from(sorted(_TOKENS)), max_size=8), st.text(alphabet="ab/=*", max_size=10))
def test_agrees_with_regex_semantics(tokens: list[str], name: str) -> None:
    # For well-formed patterns Go's chunk matcher means exactly this regex.
    regex = "".join(_TOKENS[t] for t in tokens)
    assert match("".join(tokens), name) is (re.fullmatch(regex, name, re.DOTALL) is not None)
