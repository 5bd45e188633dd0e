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
    from_amd_env,
    from_annotations,
    from_cdi_env,
    from_nvidia_env,
    from_volume_mounts,
    kind_allowed,
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
        "accept_env_unprivileged": True,  # the sources themselves; the policy has its own table
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
    st.lists(st.sampled_from(["/var/run/nvidia-container-devices/0", "/var/run/nvidia-container-devices\\/1",
                              "/var/run/nvidia-container-devices/cdi/v.com/cc/1", "/other"])),
    st.booleans(),
)  # fmt: skip
def test_prefilter_never_hides_a_request(
    annotations: dict[str, str], env: list[str], mounts: list[str], accept_all: bool
) -> None:
    import json

    doc = {"annotations": annotations, "process": {"env": env},
           "mounts": [{"destination": m, "source": "/dev/null"} for m in mounts]}  # fmt: skip
    raw = json.dumps(doc).encode()
    cfg = _cfg(accept_env_unprivileged=accept_all, accept_volume_mounts=accept_all)
    found = collect_requests(json.loads(raw), annotation_prefixes=cfg.annotation_prefixes, env_var=cfg.env_var,
                             nvidia_env_var=cfg.nvidia_env_var, default_kind=cfg.default_kind,
                             accept_env_unprivileged=cfg.accept_env_unprivileged,
                             accept_volume_mounts=cfg.accept_volume_mounts)  # fmt: skip
    if found or found.ignored:
        assert may_request(raw, cfg)


# -- the request policy -------------------------------------------------------------------------

PRIVILEGED = {"bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"], "effective": [], "permitted": []}
# SYS_ADMIN only outside the bounding set: the NVIDIA rule reads the bounding set alone.
EFFECTIVE_ONLY = {"bounding": ["CAP_CHOWN"], "effective": ["CAP_SYS_ADMIN"], "permitted": ["CAP_SYS_ADMIN"]}


def _container(
    *,
    caps: dict[str, list[str]] | None = None,
    env: list[str] | None = None,
    annotations: dict[str, str] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    uid: int = 1000,
) -> dict[str, Any]:
    process: dict[str, Any] = {"user": {"uid": uid, "gid": uid}, "env": ["PATH=/bin", *(env or [])]}
    if caps is not None:
        process["capabilities"] = caps
    return {"process": process, "annotations": annotations or {}, "mounts": mounts or []}


def _null(destination: str, source: str = "/dev/null") -> dict[str, Any]:
    return {"destination": destination, "source": source, "type": "bind", "options": ["rbind", "ro"]}


ROOT = "/var/run/nvidia-container-devices"

# (case id, container, policy overrides, requested names, ignored variables)
POLICY: list[tuple[str, dict[str, Any], dict[str, Any], list[str], list[str]]] = [
    ("attack-nvidia-all", _container(env=["NVIDIA_VISIBLE_DEVICES=all"]), {}, [],
     ["NVIDIA_VISIBLE_DEVICES"]),
    ("attack-cdi-star", _container(env=["CDI_DEVICES=vendor.com/x=*"]), {}, [], ["CDI_DEVICES"]),
    ("attack-legacy-cuda", _container(env=["CUDA_VERSION=12.4"]), {}, [], ["CUDA_VERSION"]),
    ("attack-no-caps-key", _container(caps={}, env=["NVIDIA_VISIBLE_DEVICES=0"]), {}, [],
     ["NVIDIA_VISIBLE_DEVICES"]),
    ("effective-only-is-not-privileged", _container(caps=EFFECTIVE_ONLY, env=["NVIDIA_VISIBLE_DEVICES=0"]), {},
     [], ["NVIDIA_VISIBLE_DEVICES"]),
    ("root-without-caps-is-not-privileged", _container(uid=0, env=["CDI_DEVICES=v.com/cc=1"]), {}, [],
     ["CDI_DEVICES"]),
    ("void-is-not-a-request", _container(env=["NVIDIA_VISIBLE_DEVICES=void"]), {}, [], []),
    ("empty-is-not-a-request", _container(env=["CDI_DEVICES=", "NVIDIA_VISIBLE_DEVICES="]), {}, [], []),
    # a malformed env value of an unprivileged container cannot fail it: it is never parsed
    ("malformed-env-ignored", _container(env=["CDI_DEVICES=nope"]), {}, [], ["CDI_DEVICES"]),
    ("annotation-always", _container(annotations={"cdi.k8s.io/a": "v.com/cc=1"}), {}, ["v.com/cc=1"], []),
    ("annotation-and-ignored-env", _container(annotations={"cdi.k8s.io/a": "v.com/cc=1"},
                                              env=["CDI_DEVICES=evil.com/root=x"]), {},
     ["v.com/cc=1"], ["CDI_DEVICES"]),
    # the image's NVIDIA_VISIBLE_DEVICES=all is not consulted when the caller asked: nothing to report
    ("annotation-beats-nvidia-env", _container(annotations={"cdi.k8s.io/a": "v.com/cc=1"},
                                               env=["NVIDIA_VISIBLE_DEVICES=all"]), {}, ["v.com/cc=1"], []),
    ("privileged-env", _container(caps=PRIVILEGED, env=["NVIDIA_VISIBLE_DEVICES=0"]), {}, [f"{K}=0"], []),
    ("privileged-cdi-env", _container(caps=PRIVILEGED, env=["CDI_DEVICES=v.com/cc=2"]), {}, ["v.com/cc=2"], []),
    ("privileged-legacy", _container(caps=PRIVILEGED, env=["CUDA_VERSION=12.4"]), {}, [f"{K}=all"], []),
    ("accepted-unprivileged", _container(env=["NVIDIA_VISIBLE_DEVICES=0"]), {"accept_env_unprivileged": True},
     [f"{K}=0"], []),
    ("mounts-off-by-default", _container(mounts=[_null(f"{ROOT}/0")]), {}, [], []),
    ("mount-bare-id", _container(mounts=[_null(f"{ROOT}/0"), _null(f"{ROOT}/GPU-1")]),
     {"accept_volume_mounts": True}, [f"{K}=0", f"{K}=GPU-1"], []),
    ("mount-cdi-slashes", _container(mounts=[_null(f"{ROOT}/cdi/v.com/cc/dev0")]), {"accept_volume_mounts": True},
     ["v.com/cc=dev0"], []),
    ("mount-cdi-qualified", _container(mounts=[_null(f"{ROOT}/cdi/v.com/cc=dev0")]),
     {"accept_volume_mounts": True}, ["v.com/cc=dev0"], []),
    ("mount-imex-skipped", _container(mounts=[_null(f"{ROOT}/imex/0")]), {"accept_volume_mounts": True}, [], []),
    ("mount-not-dev-null", _container(mounts=[_null(f"{ROOT}/0", "/tmp/x")]), {"accept_volume_mounts": True},
     [], []),
    ("mount-outside-root", _container(mounts=[_null("/var/run/nvidia-container-devicesX/0"), _null(ROOT)]),
     {"accept_volume_mounts": True}, [], []),
    ("mount-cleaned", _container(mounts=[_null(f"{ROOT}//./1/", "/dev/../dev/null")]),
     {"accept_volume_mounts": True}, [f"{K}=1"], []),
    ("mount-beats-nvidia-env", _container(caps=PRIVILEGED, mounts=[_null(f"{ROOT}/1")],
                                          env=["NVIDIA_VISIBLE_DEVICES=all"]),
     {"accept_volume_mounts": True}, [f"{K}=1"], []),
    ("attack-amd-all", _container(env=["AMD_VISIBLE_DEVICES=all"]), {}, [], ["AMD_VISIBLE_DEVICES"]),
    ("privileged-amd", _container(caps=PRIVILEGED, env=["AMD_VISIBLE_DEVICES=0-1"]), {},
     ["amd.com/gpu=0", "amd.com/gpu=1"], []),
    ("privileged-amd-and-nvidia", _container(caps=PRIVILEGED, env=["AMD_VISIBLE_DEVICES=0xbeef",
                                                                    "NVIDIA_VISIBLE_DEVICES=1"]), {},
     [f"{K}=1", "amd.com/gpu=0xBEEF"], []),
    ("annotation-beats-amd-env", _container(caps=PRIVILEGED, annotations={"cdi.k8s.io/a": "v.com/cc=1"},
                                            env=["AMD_VISIBLE_DEVICES=all"]), {}, ["v.com/cc=1"], []),
    ("amd-env-off", _container(caps=PRIVILEGED, env=["AMD_VISIBLE_DEVICES=all"]), {"amd_env_var": ""}, [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (None, []),
        ("", []),
        ("all", ["amd.com/gpu=all"]),
        ("ALL", ["amd.com/gpu=all"]),
        ("0,2", ["amd.com/gpu=0", "amd.com/gpu=2"]),
        ("1-3", ["amd.com/gpu=1", "amd.com/gpu=2", "amd.com/gpu=3"]),
        ("0x00beef", ["amd.com/gpu=0xBEEF"]),
        ("a1b2c3d4e5", ["amd.com/gpu=0xA1B2C3D4E5"]),  # more than 8 hex digits: a unique id
        ("007", ["amd.com/gpu=7"]),
    ],
)
def test_amd_visible_devices_mapping(value: str | None, names: list[str]) -> None:
    assert from_amd_env(value) == names


@pytest.mark.parametrize("value", ["none", "3-1", "x", "0xZZ", "0,,1", "-1", "0-100000", "GPU-1", "\u00b2"])
def test_amd_visible_devices_refused(value: str) -> None:
    with pytest.raises(ShimError, match="AMD_VISIBLE_DEVICES: invalid AMD GPU list"):
        from_amd_env(value)


@pytest.mark.parametrize(("oci", "overrides", "names", "ignored"), [c[1:] for c in POLICY],
                         ids=[c[0] for c in POLICY])  # fmt: skip
def test_request_policy(
    oci: dict[str, Any], overrides: dict[str, Any], names: list[str], ignored: list[str]
) -> None:
    cfg = RuntimeConfig()
    settings: dict[str, Any] = {
        "annotation_prefixes": cfg.annotation_prefixes,
        "env_var": cfg.env_var,
        "nvidia_env_var": cfg.nvidia_env_var,
        "default_kind": cfg.default_kind,
        "accept_env_unprivileged": cfg.accept_env_unprivileged,  # the defaults: secure
        "accept_volume_mounts": cfg.accept_volume_mounts,
        **overrides,
    }
    requests = collect_requests(oci, **settings)
    assert requests.names == names
    assert [entry.split("=")[0].split(" ")[0] for entry in requests.ignored] == ignored


@pytest.mark.parametrize("device", ["cdi/v.com", "cdi/v.com/cc", "cdi/x/y/z", "a/b"])
def test_invalid_mount_requests_are_refused(device: str) -> None:
    with pytest.raises(ShimError, match="nvidia-container-devices"):
        from_volume_mounts([_null(f"{ROOT}/{device}")], K)


def test_ignored_env_values_are_bounded() -> None:
    huge = "v.com/cc=" + "x" * 1_000_000
    requests = collect_requests(_container(env=[f"CDI_DEVICES={huge}"]), annotation_prefixes=["cdi.k8s.io/"],
                                env_var="CDI_DEVICES", nvidia_env_var="NVIDIA_VISIBLE_DEVICES", default_kind=K)  # fmt: skip
    assert not requests
    assert len(requests.ignored) == 1 and len(requests.ignored[0]) < 200


@given(
    caps=st.lists(st.sampled_from(["CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE"]), max_size=4),
    env=st.lists(
        st.sampled_from(["NVIDIA_VISIBLE_DEVICES=all", "CDI_DEVICES=v.com/cc=2", "CUDA_VERSION=12", "A=1",
                         "NVIDIA_VISIBLE_DEVICES=v.com/cc=*",
                         "NVIDIA_VISIBLE_DEVICES=0,1", "CDI_DEVICES=evil.com/root=x"]),
        max_size=4,
    ),
    annotate=st.booleans(),
)  # fmt: skip
def test_env_never_reaches_an_unprivileged_container(caps: list[str], env: list[str], annotate: bool) -> None:
    annotations = {"cdi.k8s.io/a": "v.com/cc=1"} if annotate else {}
    oci = _container(caps={"bounding": caps}, env=env, annotations=annotations)
    requests = collect_requests(oci, annotation_prefixes=["cdi.k8s.io/"], env_var="CDI_DEVICES",
                                nvidia_env_var="NVIDIA_VISIBLE_DEVICES", default_kind=K)  # fmt: skip
    if "CAP_SYS_ADMIN" not in caps:
        assert requests.names == (["v.com/cc=1"] if annotate else [])
    elif annotate:
        assert requests.names[0] == "v.com/cc=1"  # the caller's request always stays


@pytest.mark.parametrize(
    ("name", "allowed", "ok"),
    [
        ("nvidia.com/gpu=0", [], True),
        ("nvidia.com/gpu=0", ["nvidia.com/gpu"], True),
        ("nvidia.com/gpu=0", ["nvidia.com/*"], True),
        ("nvidia.com/gpu=0", ["nvidia.com/gpux"], False),
        ("nvidia.com/gpux=0", ["nvidia.com/gpu"], False),
        ("evil.com/root=x", ["nvidia.com/*", "example.com/fpga"], False),
        ("example.com/fpga=1", ["nvidia.com/*", "example.com/fpga"], True),
        ("nvidia.com.evil.com/gpu=0", ["nvidia.com/*"], False),
    ],
)
def test_kind_allowed(name: str, allowed: list[str], ok: bool) -> None:
    assert kind_allowed(name, allowed) is ok
