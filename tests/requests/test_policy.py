"""The allow policy: ``--allow`` forms, configuration errors, auto-allow rules."""

from __future__ import annotations

import pytest

from cdikit.requests import AUTO_ALLOW_ANNOTATION, AllowPolicy, RequestError
from cdikit.requests.policy import is_auto_allow_value, not_allowed_error


@pytest.mark.parametrize(
    ("entitlements", "allow_all", "grants"),
    [
        (["device"], True, {}),
        (["device="], True, {}),
        (["device=vendor.com/gpu"], False, {"vendor.com/gpu": ""}),
        (["device=vendor.com/gpu=0"], False, {"vendor.com/gpu=0": ""}),
        (["device=vendor.com/gpu=0,alias=gpu"], False, {"gpu": "vendor.com/gpu=0"}),
        (['device="vendor.com/gpu=0",alias=gpu'], False, {"gpu": "vendor.com/gpu=0"}),
        (["device=a.com/x", "device=b.com/y=1,alias=b"], False, {"a.com/x": "", "b": "b.com/y=1"}),
        (["device=a.com/x", "device"], True, {"a.com/x": ""}),
    ],
)
def test_allow_forms(entitlements: list[str], allow_all: bool, grants: dict[str, str]) -> None:
    policy = AllowPolicy.from_entitlements(entitlements)
    assert policy.allow_all is allow_all
    assert policy.grants == grants


@pytest.mark.parametrize(
    ("entitlement", "message"),
    [
        ("devices", "unknown entitlement devices"),
        ("network.host", "entitlement network.host does not concern devices"),
        ("device=a.com/x,alias", 'invalid device config "alias"'),
        ("device=a.com/x,name=y", 'unknown device config key "name"'),
    ],
)
def test_allow_errors(entitlement: str, message: str) -> None:
    with pytest.raises(RequestError) as info:
        AllowPolicy().allow(entitlement)
    assert str(info.value) == message


def test_alias_target_and_plain_grants() -> None:
    policy = AllowPolicy.from_entitlements(["device=v.com/x=0,alias=x", "device=v.com/y"])
    assert policy.alias_target("x") == "v.com/x=0"
    assert policy.alias_target("v.com/y") is None
    assert policy.plain_grants() == ["v.com/y"]


@pytest.mark.parametrize(
    ("annotations", "result"),
    [
        (None, False),
        ({}, False),
        ({AUTO_ALLOW_ANNOTATION: "true"}, True),
        ({AUTO_ALLOW_ANNOTATION: "1"}, True),
        ({AUTO_ALLOW_ANNOTATION: "T"}, True),
        ({AUTO_ALLOW_ANNOTATION: "false"}, False),
        ({AUTO_ALLOW_ANNOTATION: "yes"}, False),
        ({"other": "true"}, False),
    ],
)
def test_auto_allow_annotation_value(annotations: dict[str, str] | None, result: bool) -> None:
    assert is_auto_allow_value(annotations) is result


def test_configured_auto_allow_by_name_or_kind() -> None:
    policy = AllowPolicy(auto_allowed={"v.com/a=0", "w.com/b"})
    assert policy.is_auto_allowed("v.com/a=0", None)
    assert not policy.is_auto_allowed("v.com/a=1", None)
    assert policy.is_auto_allowed("w.com/b=anything", None)


def test_not_allowed_message_names_device_and_three_ways() -> None:
    err = not_allowed_error(["v.com/gpu=1"])
    text = str(err)
    assert text.startswith("device v.com/gpu=1 is requested but not allowed;")
    assert "--allow device=v.com/gpu=1" in text and "--allow device=v.com/gpu" in text
    assert f"{AUTO_ALLOW_ANNOTATION}=true" in text
    assert "configured auto-allowed devices" in text
    assert err.names == ["v.com/gpu=1"]
    many = not_allowed_error(["v.com/gpu=1", "v.com/gpu=2"])
    assert str(many).startswith("devices v.com/gpu=1, v.com/gpu=2 are requested but not allowed;")
