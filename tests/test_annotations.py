"""Table and property tests for the cdi.k8s.io/ annotation helpers (cdikit.annotations)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.annotations import (
    ANNOTATION_PREFIX,
    annotation_key,
    annotation_value,
    parse_annotations,
    update_annotations,
)
from cdikit.errors import AnnotationError, InvalidNameError


@pytest.mark.parametrize(
    ("plugin", "device_id", "key", "error"),
    [
        ("vendor.gpu", "0", "cdi.k8s.io/vendor.gpu_0", None),
        ("vendor.gpu", "a/b/c", "cdi.k8s.io/vendor.gpu_a_b_c", None),
        ("", "0", None, "invalid plugin name, empty"),
        ("p", "", None, "invalid deviceID, empty"),
        ("-bad", "0", None, "invalid name \"-bad_0\", first '-' should be alphanumeric"),
        ("p", "0-", None, "invalid name \"p_0-\", last '-' should be alphanumeric"),
        ("p", "a b", None, "invalid name \"p_a b\", invalid character ' '"),
        ("üp", "d", None, "invalid name \"üp_d\", first 'Ã' should be alphanumeric"),
        ("p" * 61, "0", "cdi.k8s.io/" + "p" * 61 + "_0", None),
        ("p" * 62, "0", None, f'invalid plugin+deviceID "{"p" * 62}_0", too long'),
        ("ü" * 31, "d", None, f'invalid plugin+deviceID "{"ü" * 31}_d", too long'),
    ],
)
def test_annotation_key(plugin: str, device_id: str, key: str | None, error: str | None) -> None:
    if error is None:
        assert annotation_key(plugin, device_id) == key
        return
    with pytest.raises(AnnotationError) as info:
        annotation_key(plugin, device_id)
    assert str(info.value) == error


def test_annotation_value_joins_and_validates() -> None:
    assert annotation_value(None) == ""
    assert annotation_value([]) == ""
    assert annotation_value(["v.com/cl=0", "v.com/cl=1"]) == "v.com/cl=0,v.com/cl=1"
    with pytest.raises(AnnotationError) as info:
        annotation_value(["v.com/cl=0", "gpu0"])
    assert str(info.value) == 'unqualified device "gpu0", missing vendor'
    with pytest.raises(AnnotationError) as info:
        annotation_value(["v/c=0"])
    assert isinstance(info.value.__cause__, InvalidNameError)
    assert info.value.__cause__.go_panics


def test_update_into_none_creates_a_mapping() -> None:
    result = update_annotations(None, "vendor.gpu", "0", ["vendor.com/gpu=0"])
    assert result == {"cdi.k8s.io/vendor.gpu_0": "vendor.com/gpu=0"}


def test_update_in_place_and_collision_leaves_input_unchanged() -> None:
    given_map = {"a": "b"}
    result = update_annotations(given_map, "vendor.gpu", "0", ["vendor.com/gpu=0"])
    assert result is given_map
    before = dict(given_map)
    with pytest.raises(AnnotationError) as info:
        update_annotations(given_map, "vendor.gpu", "0", ["vendor.com/gpu=1"])
    assert str(info.value) == 'CDI annotation failed, key "cdi.k8s.io/vendor.gpu_0" used'
    assert given_map == before


@pytest.mark.parametrize(
    ("plugin", "devices", "error"),
    [
        (
            "-bad",
            ["vendor.com/gpu=0"],
            "CDI annotation failed: invalid name \"-bad_0\", first '-' should be alphanumeric",
        ),
        ("ok", ["gpu0"], 'CDI annotation failed: unqualified device "gpu0", missing vendor'),
    ],
)
def test_update_errors_leave_input_unchanged(plugin: str, devices: list[str], error: str) -> None:
    given_map = {"a": "b"}
    with pytest.raises(AnnotationError) as info:
        update_annotations(given_map, plugin, "0", devices)
    assert str(info.value) == error
    assert given_map == {"a": "b"}


@pytest.mark.parametrize(
    ("annotations", "keys", "devices", "error"),
    [
        (None, [], [], None),
        ({}, [], [], None),
        ({"other/x": "junk"}, [], [], None),
        ({"cdi.k8s.io/": "v.com/cl=0"}, ["cdi.k8s.io/"], ["v.com/cl=0"], None),
        (
            {"cdi.k8s.io/a_0": "v.com/cl=0,v.com/cl=1", "cdi.k8s.io/b_0": "v.com/cl=1"},
            ["cdi.k8s.io/a_0", "cdi.k8s.io/b_0"],
            ["v.com/cl=0", "v.com/cl=1", "v.com/cl=1"],
            None,
        ),
        ({"CDI.k8s.io/x": "junk"}, [], [], None),
        ({"cdi.k8s.io/x": ""}, None, None, 'invalid CDI device name ""'),
        ({"cdi.k8s.io/x": "v.com/cl=0,"}, None, None, 'invalid CDI device name ""'),
        ({"cdi.k8s.io/x": "v.com/cl=0, v.com/cl=1"}, None, None, 'invalid CDI device name " v.com/cl=1"'),
        ({"cdi.k8s.io/x": "v/gpu=0"}, None, None, 'invalid CDI device name "v/gpu=0"'),
    ],
)
def test_parse_annotations(
    annotations: dict[str, str] | None,
    keys: list[str] | None,
    devices: list[str] | None,
    error: str | None,
) -> None:
    if error is None:
        assert parse_annotations(annotations) == (keys, devices)
        return
    with pytest.raises(AnnotationError) as info:
        parse_annotations(annotations)
    assert str(info.value) == error


_NAME = st.from_regex(r"[a-z][a-z0-9.\-]{0,8}[a-z0-9]/[a-z][a-z0-9]{1,6}=[a-z0-9]{1,6}", fullmatch=True)


@given(
    st.from_regex(r"[a-z][a-z0-9.]{0,10}[a-z]", fullmatch=True),
    st.from_regex(r"[a-z0-9/]{0,10}[a-z0-9]", fullmatch=True),
    st.lists(_NAME, min_size=1, max_size=4),
)
def test_property_update_then_parse_round_trips(plugin: str, device_id: str, devices: list[str]) -> None:
    result = update_annotations({"unrelated": "x"}, plugin, device_id, devices)
    keys, parsed = parse_annotations(result)
    assert keys == [annotation_key(plugin, device_id)]
    assert keys[0].startswith(ANNOTATION_PREFIX)
    assert parsed == devices


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=30), max_size=4))
def test_property_parse_only_raises_annotation_error(annotations: dict[str, str]) -> None:
    try:
        parse_annotations(annotations)
    except AnnotationError:
        pass


@given(st.text(max_size=40), st.text(max_size=40))
def test_property_key_only_raises_annotation_error(plugin: str, device_id: str) -> None:
    try:
        key = annotation_key(plugin, device_id)
    except AnnotationError:
        return
    assert key.startswith(ANNOTATION_PREFIX) and len(key.encode()) <= len(ANNOTATION_PREFIX) + 63
