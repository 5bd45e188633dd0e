"""The Dockerfile ``--device`` grammar (BuildKit's instructions.ParseDevice)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.requests import DeviceRequest, RequestError, parse_request
from cdikit.requests.request import go_parse_bool


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vendor.com/gpu=0", DeviceRequest("vendor.com/gpu=0", optional=True)),
        ("vendor.com/gpu", DeviceRequest("vendor.com/gpu", optional=True)),
        ("vendor.com/gpu=*", DeviceRequest("vendor.com/gpu=*", optional=True)),
        ("fast", DeviceRequest("fast", optional=True)),
        ("vendor.com/gpu,required", DeviceRequest("vendor.com/gpu", optional=False)),
        ("vendor.com/gpu,REQUIRED", DeviceRequest("vendor.com/gpu", optional=False)),
        ("vendor.com/gpu,required=true", DeviceRequest("vendor.com/gpu", optional=False)),
        ("vendor.com/gpu,required=T", DeviceRequest("vendor.com/gpu", optional=False)),
        ("vendor.com/gpu,required=false", DeviceRequest("vendor.com/gpu", optional=True)),
        ("vendor.com/gpu,required=0", DeviceRequest("vendor.com/gpu", optional=True)),
        ("name=vendor.com/gpu=0,required", DeviceRequest("vendor.com/gpu=0", optional=False)),
        ("required,name=vendor.com/gpu", DeviceRequest("vendor.com/gpu", optional=False)),
        ('"vendor.com/gpu=0",required', DeviceRequest("vendor.com/gpu=0", optional=False)),
    ],
)
def test_parse_request(text: str, expected: DeviceRequest) -> None:
    assert parse_request(text) == expected


def test_required_default_can_be_flipped() -> None:
    assert parse_request("v.com/x", required=True) == DeviceRequest("v.com/x", optional=False)
    assert parse_request("v.com/x,required=false", required=True).optional


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vendor.com/gpu,other", "invalid field 'other' must be a key=value pair"),
        ("vendor.com/gpu,name=x", "device name already set to vendor.com/gpu"),
        ("vendor.com/gpu,required=maybe", "invalid value for required: maybe"),
        (
            "vendor.com/gpu,requird=true",
            "unexpected key 'requird' in 'requird=true' (did you mean required?)",
        ),
        ("vendor.com/gpu,zzz=1", "unexpected key 'zzz' in 'zzz=1'"),
        ("required", "invalid device request 'required': no device name"),
        ("", "invalid device request '': no device name"),
    ],
)
def test_parse_request_errors(text: str, message: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_request(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "result"),
    [("1", True), ("t", True), ("TRUE", True), ("True", True), ("0", False), ("F", False), ("False", False)],
)
def test_go_parse_bool(value: str, result: bool) -> None:
    assert go_parse_bool(value) is result


@pytest.mark.parametrize("value", ["yes", "TrUe", "", " true", "2"])
def test_go_parse_bool_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        go_parse_bool(value)


@given(st.text(max_size=40))
def test_property_parse_request_only_raises_request_error(text: str) -> None:
    try:
        request = parse_request(text)
    except RequestError:
        return
    assert request.name


@given(
    st.from_regex(r"[a-z][a-z0-9.]{0,8}[a-z0-9]/[a-z]{2,6}(=[a-z0-9]{1,4}|=\*)?", fullmatch=True),
    st.booleans(),
)
def test_property_plain_names_round_trip(name: str, required: bool) -> None:
    text = name + (",required" if required else "")
    assert parse_request(text) == DeviceRequest(name, optional=not required)
