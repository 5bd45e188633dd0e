"""Resolving requests against real spec dirs: sorted-first, ``=*``, class aliases, policy."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cdikit.registry import Registry
from cdikit.requests import (
    AUTO_ALLOW_ANNOTATION,
    CLASS_ANNOTATION,
    AllowPolicy,
    DeviceListing,
    DeviceNotAllowedError,
    DeviceRequest,
    RequestError,
    Resolver,
)
from tests.requests.conftest import SpecWriter, device

OpenRegistry = Callable[[], Registry]


@pytest.fixture
def resolver(write_spec: SpecWriter, open_registry: OpenRegistry) -> Resolver:
    # File order foo, bar, baz, qux: BuildKit's own "Find first devices" case.
    write_spec(
        "vendor1.com/devicemulti",
        [device("foo"), device("bar"), device("baz", **{CLASS_ANNOTATION: "fast"}), device("qux")],
    )
    write_spec("vendor1.com/device", [device("gpu2"), device("gpu10"), device("Gpu3")])
    write_spec("vendor2.com/nic", [device("eth0"), device("eth1")], annotations={CLASS_ANNOTATION: "net"})
    return Resolver(open_registry())


@pytest.mark.parametrize(
    ("request_text", "devices"),
    [
        ("vendor1.com/devicemulti=foo", ["vendor1.com/devicemulti=foo"]),
        # Kind alone: first in *sorted* order, not file order.
        ("vendor1.com/devicemulti", ["vendor1.com/devicemulti=bar"]),
        # Byte-wise sort: upper case first, "gpu10" before "gpu2".
        ("vendor1.com/device", ["vendor1.com/device=Gpu3"]),
        (
            "vendor1.com/devicemulti=*",
            [
                "vendor1.com/devicemulti=bar",
                "vendor1.com/devicemulti=baz",
                "vendor1.com/devicemulti=foo",
                "vendor1.com/devicemulti=qux",
            ],
        ),
        (
            "vendor1.com/device=*",
            ["vendor1.com/device=Gpu3", "vendor1.com/device=gpu10", "vendor1.com/device=gpu2"],
        ),
        # Bare class alias: device annotation, and spec annotation (merged into each device).
        ("fast", ["vendor1.com/devicemulti=baz"]),
        ("net", ["vendor2.com/nic=eth0", "vendor2.com/nic=eth1"]),
    ],
)
def test_find(resolver: Resolver, request_text: str, devices: list[str]) -> None:
    assert list(resolver.find(DeviceRequest(request_text)).devices) == devices


def test_required_unresolvable_names_the_request(resolver: Resolver) -> None:
    for text in ["vendor1.com/devicemulti=nope", "vendor9.com/x", "slow", "vendor9.com/x=*"]:
        with pytest.raises(RequestError) as info:
            resolver.find(DeviceRequest(text))
        assert str(info.value) == f"required device {text!r} is not registered"


def test_optional_unresolvable_is_dropped_with_a_note(resolver: Resolver) -> None:
    resolution = resolver.resolve([DeviceRequest("nope", optional=True), "vendor2.com/nic=eth1"])
    assert resolution.devices == ["vendor2.com/nic=eth1"]
    assert resolution.notes == ["optional device 'nope' is not registered; dropped"]
    assert resolution.results[0].devices == ()
    assert resolution.results[0].note == resolution.notes[0]


def test_resolve_deduplicates_in_request_order(resolver: Resolver) -> None:
    resolution = resolver.resolve(["vendor2.com/nic=eth1", "net", "vendor1.com/devicemulti", "fast"])
    assert resolution.devices == [
        "vendor2.com/nic=eth1",
        "vendor2.com/nic=eth0",
        "vendor1.com/devicemulti=bar",
        "vendor1.com/devicemulti=baz",
    ]


def test_qualified_request_falls_back_to_class_annotation(
    write_spec: SpecWriter, open_registry: OpenRegistry
) -> None:
    write_spec("v.com/acc", [device("a0", **{CLASS_ANNOTATION: "v.com/acc=big"}), device("a1")])
    resolver = Resolver(open_registry())
    assert resolver.find("v.com/acc=big").devices == ("v.com/acc=a0",)


def test_device_annotation_overrides_spec_annotation(
    write_spec: SpecWriter, open_registry: OpenRegistry
) -> None:
    write_spec(
        "v.com/acc",
        [device("a0"), device("a1", **{CLASS_ANNOTATION: "other", AUTO_ALLOW_ANNOTATION: "false"})],
        annotations={CLASS_ANNOTATION: "acc", AUTO_ALLOW_ANNOTATION: "true"},
    )
    resolver = Resolver(open_registry(), policy=AllowPolicy())
    assert resolver.find("acc").devices == ("v.com/acc=a0",)
    assert resolver.resolve(["v.com/acc=a0"]).devices == ["v.com/acc=a0"]
    with pytest.raises(DeviceNotAllowedError):
        resolver.resolve(["v.com/acc=a1"])


# -- policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "requests", "devices"),
    [
        (["device"], ["vendor1.com/devicemulti=*"], 4),
        (["device=vendor1.com/devicemulti=bar"], ["vendor1.com/devicemulti"], 1),
        (["device=vendor1.com/devicemulti"], ["vendor1.com/devicemulti=*"], 4),
        (["device=vendor1.com/devicemulti=foo,alias=myfoo"], ["myfoo"], 1),
        (["device=vendor1.com/devicemulti=*,alias=all"], ["all"], 4),
        (["device=fast"], ["vendor1.com/devicemulti=baz"], 1),
    ],
)
def test_allowed(resolver: Resolver, allow: list[str], requests: list[str], devices: int) -> None:
    resolver.policy = AllowPolicy.from_entitlements(allow)
    assert len(resolver.resolve(requests).devices) == devices


@pytest.mark.parametrize(
    ("allow", "requests", "forbidden"),
    [
        ([], ["vendor1.com/devicemulti"], ["vendor1.com/devicemulti=bar"]),
        (
            ["device=vendor1.com/devicemulti=bar"],
            ["vendor1.com/devicemulti=foo"],
            ["vendor1.com/devicemulti=foo"],
        ),
        (
            ["device=vendor1.com/device"],
            ["vendor2.com/nic=*"],
            ["vendor2.com/nic=eth0", "vendor2.com/nic=eth1"],
        ),
        # An alias grant allows requests for the alias, not for its target by name.
        (["device=vendor2.com/nic=eth0,alias=n"], ["vendor2.com/nic=eth0"], ["vendor2.com/nic=eth0"]),
    ],
)
def test_forbidden(resolver: Resolver, allow: list[str], requests: list[str], forbidden: list[str]) -> None:
    resolver.policy = AllowPolicy.from_entitlements(allow)
    with pytest.raises(DeviceNotAllowedError) as info:
        resolver.resolve(requests)
    assert info.value.names == forbidden
    assert forbidden[0] in str(info.value)


def test_auto_allow_by_annotation_on_spec_or_device(
    write_spec: SpecWriter, open_registry: OpenRegistry
) -> None:
    write_spec("a.com/spec", [device("x"), device("y")], annotations={AUTO_ALLOW_ANNOTATION: "true"})
    write_spec("b.com/dev", [device("x", **{AUTO_ALLOW_ANNOTATION: "1"}), device("y")])
    resolver = Resolver(open_registry(), policy=AllowPolicy())
    assert resolver.resolve(["a.com/spec=*", "b.com/dev=x"]).devices == [
        "a.com/spec=x",
        "a.com/spec=y",
        "b.com/dev=x",
    ]
    with pytest.raises(DeviceNotAllowedError) as info:
        resolver.resolve(["b.com/dev=*"])
    assert info.value.names == ["b.com/dev=y"]


def test_auto_allow_by_configured_list(resolver: Resolver) -> None:
    resolver.policy = AllowPolicy(auto_allowed={"vendor2.com/nic", "vendor1.com/device=gpu2"})
    assert resolver.resolve(["vendor2.com/nic=*", "vendor1.com/device=gpu2"]).devices == [
        "vendor2.com/nic=eth0",
        "vendor2.com/nic=eth1",
        "vendor1.com/device=gpu2",
    ]
    with pytest.raises(DeviceNotAllowedError):
        resolver.resolve(["vendor1.com/device=gpu10"])


def test_listing(write_spec: SpecWriter, open_registry: OpenRegistry) -> None:
    write_spec("a.com/spec", [device("x")], annotations={AUTO_ALLOW_ANNOTATION: "true"})
    write_spec("b.com/dev", [device("y")])
    resolver = Resolver(open_registry(), policy=AllowPolicy())
    assert resolver.list_devices() == [
        DeviceListing("a.com/spec=x", True, False, {AUTO_ALLOW_ANNOTATION: "true"}),
        DeviceListing("b.com/dev=y", False, False, {}),
    ]


@pytest.mark.parametrize(
    ("names", "expanded"),
    [
        # Plain names pass through untouched, even unknown ones (inject reports them).
        (["vendor2.com/nic=eth9"], ["vendor2.com/nic=eth9"]),
        (["vendor1.com/devicemulti"], ["vendor1.com/devicemulti=bar"]),
        (["vendor2.com/nic=*", "vendor2.com/nic=eth0"], ["vendor2.com/nic=eth0", "vendor2.com/nic=eth1"]),
        (["fast"], ["vendor1.com/devicemulti=baz"]),
        # Nothing found: kept as given.
        (["vendor3.com/none", "nosuchalias"], ["vendor3.com/none", "nosuchalias"]),
    ],
)
def test_expand_names_is_the_shims_public_way(
    resolver: Resolver, names: list[str], expanded: list[str]
) -> None:
    from cdikit.requests import expand_names

    assert expand_names(resolver.registry, names) == expanded
