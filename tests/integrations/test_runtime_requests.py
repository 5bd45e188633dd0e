"""Which CDI devices a container's OCI spec asks for."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.integrations.runtime._config import RuntimeConfig
from cdikit.integrations.runtime._errors import ShimError
from cdikit.integrations.runtime._requests import (
    collect_requests,
    env_lookup,
    from_annotations,
    from_cdi_env,
    from_nvidia_env,
)
from cdikit.integrations.runtime._shim import may_request

K = "nvidia.com/gpu"
UUID = "GPU-6f1d3c4e-0000-4000-8000-000000000001"
MIG_UUID = "MIG-11111111-2222-3333-4444-555555555555"

# NVIDIA_VISIBLE_DEVICES value -> (requested names, optional names)
NVIDIA_TABLE: list[tuple[str | None, list[str], set[str]]] = [
    (None, [], set()),
    ("", [], set()),
    ("  ", [], set()),
    ("void", [], set()),
    ("0,void", [], set()),
    ("all", [f"{K}=all"], set()),
    ("ALL", [f"{K}=ALL"], set()),  # case-sensitive, as in the reference: an (unknown) device name
    ("0,all", [f"{K}=all"], set()),
    ("none", [f"{K}=none"], set()),  # unresolvable without a spec, as nvidia
    ("none,0", [f"{K}=none"], set()),
    ("0", [f"{K}=0"], set()),
    ("0,1", [f"{K}=0", f"{K}=1"], set()),
    (" 0 , 1 ,", [f"{K}=0", f"{K}=1"], set()),
    ("1,0,1", [f"{K}=1", f"{K}=0"], set()),
    ("0:1", [f"{K}=0:1"], set()),
    (UUID, [f"{K}={UUID}"], set()),
    (MIG_UUID, [f"{K}={MIG_UUID}"], set()),
    (f"0,{UUID}", [f"{K}=0", f"{K}={UUID}"], set()),
    ("example.com/dev=x", ["example.com/dev=x"], set()),
    ("nvidia.com/gpu=3,0", [f"{K}=3", f"{K}=0"], set()),
    ("example.com/dev", ["example.com/dev"], set()),  # kind-only: expanded by the registry hook point
]


@pytest.mark.parametrize(("value", "names", "optional"), NVIDIA_TABLE)
def test_nvidia_visible_devices_mapping(value: str | None, names: list[str], optional: set[str]) -> None:
    requests = from_nvidia_env(value, K)
    assert requests.names == names
    assert requests.optional == optional


def test_nvidia_default_kind_is_configurable() -> None:
    assert from_nvidia_env("0", "amd.com/gpu").names == ["amd.com/gpu=0"]


def test_legacy_image_gets_all() -> None:
    assert from_nvidia_env(None, K, legacy_all=True).names == [f"{K}=all"]


@pytest.mark.parametrize(
    ("env", "name", "value"),
    [
        (["A=1", "B=2"], "A", "1"),
        (["A=1", "A=2"], "A", "2"),  # last one wins, as execve sees it
        (["AB=1"], "A", None),
        (["A="], "A", ""),
        (["A=x=y"], "A", "x=y"),
        (None, "A", None),
    ],
)
def test_env_lookup(env: list[str] | None, name: str, value: str | None) -> None:
    assert env_lookup(env, name) == value


@pytest.mark.parametrize(
    ("annotations", "prefixes", "names"),
    [
        ({"cdi.k8s.io/a": "vendor.com/xy=1"}, ["cdi.k8s.io/"], ["vendor.com/xy=1"]),
        ({"cdi.k8s.io/b": "vendor.com/xy=2", "cdi.k8s.io/a": "vendor.com/xy=1,vendor.com/xy=3"}, ["cdi.k8s.io/"],
         ["vendor.com/xy=1", "vendor.com/xy=3", "vendor.com/xy=2"]),  # keys sorted
        ({"other/a": "vendor.com/xy=1"}, ["cdi.k8s.io/"], []),
        ({"other/a": "vendor.com/xy=1"}, ["cdi.k8s.io/", "other/"], ["vendor.com/xy=1"]),
        ({"cdi.k8s.io/a": "vendor.com/xy=1"}, [], []),
        (None, ["cdi.k8s.io/"], []),
    ],
)  # fmt: skip
def test_annotations(annotations: dict[str, str] | None, prefixes: list[str], names: list[str]) -> None:
    assert from_annotations(annotations, prefixes) == names


@pytest.mark.parametrize(
    "value", ["nope", "vendor.com/xy", "vendor.com/xy=1,", "vendor.com/xy=1, vendor.com/xy=2"]
)
def test_invalid_annotation_values_are_refused(value: str) -> None:
    with pytest.raises(ShimError, match="invalid CDI device name") as info:
        from_annotations({"cdi.k8s.io/k": value}, ["cdi.k8s.io/"])
    assert "cdi.k8s.io/k" in str(info.value)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (None, []),
        ("", []),
        ("vendor.com/xy=1", ["vendor.com/xy=1"]),
        ("vendor.com/xy=1, vendor.com/yy=2 ,", ["vendor.com/xy=1", "vendor.com/yy=2"]),
    ],
)
def test_cdi_env(value: str | None, names: list[str]) -> None:
    assert from_cdi_env(value, "CDI_DEVICES") == names


@pytest.mark.parametrize("value", ["0", "vendor.com/xy", "all"])
def test_cdi_env_wants_qualified_names(value: str) -> None:
    with pytest.raises(ShimError, match="CDI_DEVICES: invalid CDI device name"):
        from_cdi_env(value, "CDI_DEVICES")


def _oci(annotations: dict[str, str] | None = None, env: list[str] | None = None) -> dict[str, Any]:
    return {"annotations": annotations or {}, "process": {"env": env or []}}


COLLECT: list[tuple[dict[str, Any], dict[str, str], list[str], str]] = [
    (_oci(), {}, [], ""),
    (_oci({"cdi.k8s.io/a": "v.com/cc=1"}), {}, ["v.com/cc=1"], "annotations+CDI_DEVICES"),
    (_oci(env=["CDI_DEVICES=v.com/cc=2"]), {}, ["v.com/cc=2"], "annotations+CDI_DEVICES"),
    (_oci({"cdi.k8s.io/a": "v.com/cc=1"}, ["CDI_DEVICES=v.com/cc=2,v.com/cc=1"]), {}, ["v.com/cc=1", "v.com/cc=2"],
     "annotations+CDI_DEVICES"),
    # explicit CDI requests win over the image's NVIDIA_VISIBLE_DEVICES=all
    (_oci({"cdi.k8s.io/a": "v.com/cc=1"}, ["NVIDIA_VISIBLE_DEVICES=all"]), {}, ["v.com/cc=1"],
     "annotations+CDI_DEVICES"),
    (_oci(env=["NVIDIA_VISIBLE_DEVICES=0"]), {}, [f"{K}=0"], "nvidia-env"),
    (_oci(env=["CUDA_VERSION=12.4"]), {}, [f"{K}=all"], "nvidia-env"),  # legacy CUDA image
    (_oci(env=["CUDA_VERSION=12.4", "NVIDIA_REQUIRE_CUDA=cuda>=12"]), {}, [], ""),
    (_oci(env=["NVIDIA_VISIBLE_DEVICES=0"]), {"nvidia_env_var": ""}, [], ""),  # source switched off
    (_oci(env=["CDI_DEVICES=v.com/cc=2"]), {"env_var": ""}, [], ""),
    (_oci(env=["GPUS=1"]), {"nvidia_env_var": "GPUS"}, [f"{K}=1"], "nvidia-env"),
    (_oci(env=["NVIDIA_VISIBLE_DEVICES=0"]), {"default_kind": "example.com/acc"}, ["example.com/acc=0"],
     "nvidia-env"),
    ({}, {}, [], ""),
    ({"process": None, "annotations": None}, {}, [], ""),
]  # fmt: skip


@pytest.mark.parametrize(("oci", "overrides", "names", "source"), COLLECT)
def test_collect_requests(
    oci: dict[str, Any], overrides: dict[str, str], names: list[str], source: str
) -> None:
    settings: dict[str, Any] = {
        "annotation_prefixes": ["cdi.k8s.io/"],
        "env_var": "CDI_DEVICES",
        "nvidia_env_var": "NVIDIA_VISIBLE_DEVICES",
        "default_kind": K,
        **overrides,
    }
    requests = collect_requests(oci, **settings)
    assert requests.names == names
    assert requests.source == source
    assert bool(requests) == bool(names)


@given(st.text(alphabet="0123456789,:avoidlnGPU-e ", max_size=30))
def test_nvidia_mapping_properties(value: str) -> None:
    requests = from_nvidia_env(value, K)
    assert len(requests.names) == len(set(requests.names))  # no duplicates
    assert all(name.startswith(K + "=") for name in requests.names)  # no slash: all get the default kind
    items = [v.strip() for v in value.split(",") if v.strip()]
    if "void" in items or not items:
        assert requests.names == []
    assert requests.optional <= set(requests.names)


def _cfg(**overrides: object) -> RuntimeConfig:
    cfg = RuntimeConfig()
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


@pytest.mark.parametrize(
    ("raw", "overrides", "maybe"),
    [
        (b'{"process": {"env": ["PATH=/bin"]}}', {}, False),
        (b'{"process": {"env": ["CDI_DEVICES=v.com/cc=1"]}}', {}, True),
        (b'{"process": {"env": ["NVIDIA_VISIBLE_DEVICES=0"]}}', {}, True),
        (b'{"process": {"env": ["CUDA_VERSION=12"]}}', {}, True),
        (b'{"annotations": {"cdi.k8s.io/x": "v.com/cc=1"}}', {}, True),
        (b'{"annotations": {"other/x": "v.com/cc=1"}}', {}, False),
        (b'{"annotations": {"other/x": "v.com/cc=1"}}', {"annotation_prefixes": ["other/"]}, True),
        (b'{"process": {"env": ["NVIDIA_VISIBLE_DEVICES=0"]}}', {"nvidia_env_var": ""}, False),
        (b'{"process": {"env": ["CDI\\u005fDEVICES=v.com/cc=1"]}}', {}, True),  # escaped: parse to be sure
        (b'{"annotations": {"cdi.k8s.io\\/x": "v.com/cc=1"}}', {}, True),
    ],
)
def test_may_request_prefilter(raw: bytes, overrides: dict[str, object], maybe: bool) -> None:
    assert may_request(raw, _cfg(**overrides)) is maybe


@given(
    st.dictionaries(st.sampled_from(["cdi.k8s.io/a", "x/b", "cdi.k8s.io\\/c"]), st.just("v.com/cc=1")),
    st.lists(
        st.sampled_from(["A=1", "CDI_DEVICES=v.com/cc=1", "NVIDIA_VISIBLE_DEVICES=0", "CUDA_VERSION=1"])
    ),
)
def test_prefilter_never_hides_a_request(annotations: dict[str, str], env: list[str]) -> None:
    import json

    doc = {"annotations": annotations, "process": {"env": env}}
    raw = json.dumps(doc).encode()
    cfg = _cfg()
    found = collect_requests(json.loads(raw), annotation_prefixes=cfg.annotation_prefixes, env_var=cfg.env_var,
                             nvidia_env_var=cfg.nvidia_env_var, default_kind=cfg.default_kind)  # fmt: skip
    if found:
        assert may_request(raw, cfg)
