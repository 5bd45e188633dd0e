"""The plain records (``cdikit.spec.plain``) stand in for the typed ones byte for byte.

Generators build specs from them so that ``cdi generate`` never imports msgspec;
the encoder, the version rules and deduplication must not see a difference.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from cdikit.spec import plain as records
from cdikit.spec import types
from cdikit.spec.encode import encode_spec
from cdikit.spec.version import minimum_version
from tests.spec import strategies as s

_PLAIN = ("ContainerEdits", "Device", "DeviceNode", "Hook", "Mount", "Spec")


def _to_plain(obj: Any) -> Any:
    """The plain record of a typed one (recursively); NetDevice and IntelRdt stay typed."""
    if isinstance(obj, list):
        return [_to_plain(x) for x in obj]
    if isinstance(obj, msgspec.Struct) and type(obj).__name__ in _PLAIN:
        cls = getattr(records, type(obj).__name__)
        return cls(**{f: _to_plain(getattr(obj, f)) for f in obj.__struct_fields__})
    return obj


def test_same_fields_and_defaults_as_the_typed_records() -> None:
    for name in _PLAIN:
        typed, plain = getattr(types, name), getattr(records, name)
        assert plain.__record_fields__ == typed.__struct_fields__, name
        empty, typed_empty = plain(), typed()
        for field in typed.__struct_fields__:
            assert getattr(empty, field) == getattr(typed_empty, field), (name, field)


@given(s.valid_specs())
def test_encoded_and_versioned_the_same(spec: types.Spec) -> None:
    plain = _to_plain(spec)
    assert type(plain) is records.Spec
    for fmt in ("json", "yaml"):
        assert encode_spec(plain, fmt) == encode_spec(spec, fmt)
    assert minimum_version(plain) == minimum_version(spec)
    assert records.to_struct(plain) == spec
    assert plain.edits.is_empty() == spec.edits.is_empty()


_items = st.one_of(s.device_nodes, s.mounts, s.hooks)


@given(_items, _items)
def test_identity_is_json_equality(a: Any, b: Any) -> None:
    same_json = type(a) is type(b) and msgspec.json.encode(a) == msgspec.json.encode(b)
    assert (records.identity(_to_plain(a)) == records.identity(_to_plain(b))) is same_json
    assert records.identity(a) == msgspec.json.encode(a)  # typed records: their JSON


@given(s.valid_specs())
def test_replace_like_msgspec(spec: types.Spec) -> None:
    plain = _to_plain(spec)
    assert records.to_struct(records.replace(plain, kind="a.b/c")) == msgspec.structs.replace(
        spec, kind="a.b/c"
    )
    assert records.replace(spec, kind="a.b/c") == msgspec.structs.replace(spec, kind="a.b/c")
