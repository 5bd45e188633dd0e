"""Bugs the fuzzers found (all fixed): each test states the property that must hold."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from cdikit.errors import CDIError, InjectionError, ParseError
from cdikit.oci import inject_edits
from cdikit.spec.types import ContainerEdits
from cdikit.specfile import load_spec_bytes


@pytest.mark.parametrize("path", ["fuzz.json", "fuzz.yaml"])
def test_invalid_utf8_in_json_string_is_a_parse_error(path: str) -> None:
    with pytest.raises(ParseError):
        load_spec_bytes(b'{"cdiVersion": "0.3.0\xab", "kind": "vendor.com/device"}', path)


def test_non_string_process_env_entry_is_an_injection_error() -> None:
    oci: dict[str, Any] = {"process": {"env": [{}]}}
    with pytest.raises(InjectionError):
        inject_edits(oci, [ContainerEdits(env=["A=1"])])
    assert oci == {"process": {"env": [{}]}}


def test_unhashable_additional_gid_is_an_injection_error() -> None:
    oci: dict[str, Any] = {"process": {"user": {"additionalGids": [[1]]}}}
    with pytest.raises(InjectionError):
        inject_edits(oci, [ContainerEdits(additional_gids=[5])])
    assert oci == {"process": {"user": {"additionalGids": [[1]]}}}


def test_fast_path_rejects_what_the_faithful_path_rejects() -> None:
    from cdikit.spec.decode import _faithful, parse_spec

    data = b'&1{"cdiVersion": "0.3.0", "kind": "vendor.com/device"}\n'
    with pytest.raises(ParseError):
        _faithful(data, None)  # the reference's verdict (holds today)
    with pytest.raises(ParseError):
        parse_spec(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"cdiVersion": "0.3.0", "kind": "\x7fvendor.com/device"}',
        b'{"cdiVersion": "0.3.0", "kind": "\xc2\x80vendor.com/device"}',
        b'cdiVersion: 0.3.0\nkind: "\xc2\x80vendor.com/device"\n',
    ],
)
def test_fast_path_rejects_non_printable_characters(data: bytes) -> None:
    from cdikit.spec.decode import _faithful, parse_spec

    with pytest.raises(ParseError):
        _faithful(data, None)  # the reference's verdict (holds today)
    with pytest.raises(ParseError):
        parse_spec(data)


_DEEP = """
import sys
from cdikit.errors import CDIError
from cdikit.specfile import load_spec_bytes
try:
    load_spec_bytes(b"[" * 100000 + b"]" * 100000, "deep.yaml")
except CDIError as err:
    print("CDIError", err)
"""


def test_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    # In a child process: the bug kills the interpreter (SIGSEGV), which must not take pytest with it.
    proc = subprocess.run([sys.executable, "-c", _DEEP], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"loader died with {proc.returncode}: {proc.stderr[-500:]}"
    assert proc.stdout.startswith("CDIError")


def _alias_bomb(levels: int) -> bytes:
    lines = ["cdiVersion: 0.3.0", "kind: vendor.com/device", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return ("\n".join(lines) + "\n").encode()


def test_alias_expansion_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counts scalar visits instead of timing: 5 levels of 10 aliases is 10**5 visits
    # when expanded, while the document itself holds about 60 scalars.
    from cdikit.spec import _goyaml

    visits = 0
    original = _goyaml.resolve_scalar

    def counting(node: object) -> object:
        nonlocal visits
        visits += 1
        return original(node)

    monkeypatch.setattr(_goyaml, "resolve_scalar", counting)
    with pytest.raises(CDIError):
        load_spec_bytes(_alias_bomb(5), "bomb.yaml")
    assert visits < 10_000, f"{visits} scalar visits for a {len(_alias_bomb(5))}-byte document"


@pytest.mark.parametrize(
    "data",
    [
        # a key and its colon on two lines (YAML refuses), which also hid a duplicate key
        b'{\n "cdiVersion": "0.3.0",\n "kind"\n: "ve0",\n "kind": "vendor.com/device"\n}\n',
        b'{"cdiVersion" : "0.3.0", "kind": "a.com/b", "kind" : "c.com/d", "devices": []}',
        b'{"cdiVersion": "0.3.0", "kind": "vendor.com/\\ud800"}',
    ],
)
def test_json_fast_path_declines_what_yaml_reads_differently(data: bytes) -> None:
    from cdikit.spec.decode import _faithful, _fast

    with pytest.raises(ParseError):
        _faithful(data, None)
    assert _fast(data) is None


def test_block_scalar_edge_cases_take_the_faithful_path() -> None:
    from cdikit.spec.decode import _faithful, parse_spec

    data = b"cdiVersion: 0.3.0\nkind: vendor.com/device\ndevices:\n- name: |\n  \n  containerEdits: {env: [A=1]}\n"
    try:
        expected = _faithful(data, None)
    except ParseError:
        with pytest.raises(ParseError):
            parse_spec(data)
    else:
        assert parse_spec(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"<<:\n- n\n- n\nkind: a.com/b\n",  # merge of a sequence of scalars
        b"<<: 5\nkind: a.com/b\n",  # merge of a scalar
    ],
)
def test_bad_merge_keys_are_parse_errors(data: bytes) -> None:
    with pytest.raises(ParseError, match="map merge requires map"):
        load_spec_bytes(data, "merge.yaml")


def test_merge_keys_merge_maps() -> None:
    data = (
        b"base: &b {env: [A=1]}\ncdiVersion: 0.3.0\nkind: vendor.com/device\n"
        b"devices:\n- name: d\n  containerEdits:\n    <<: *b\n"
    )
    with pytest.raises(CDIError, match='unknown field "base"'):
        load_spec_bytes(data, "merge.yaml")
