"""On-demand providers end to end: generate, write into the spec dir, refresh, resolve."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from cdikit.registry import Registry
from cdikit.requests import (
    AUTO_ALLOW_ANNOTATION,
    AllowPolicy,
    DeviceListing,
    OnDemandError,
    OnDemandProviders,
    RequestError,
    Resolver,
)
from cdikit.spec.types import ContainerEdits, Device, Spec
from tests.requests.conftest import SpecWriter, device

OpenRegistry = Callable[[], Registry]
KIND = "acme.com/npu"


class CountingProvider:
    """A real provider: builds a Spec; counts how often it ran."""

    def __init__(self, kind: str = KIND, names: tuple[str, ...] = ("npu1", "npu0")) -> None:
        self.kind = kind
        self.names = names
        self.calls = 0

    def __call__(self) -> Spec:
        self.calls += 1
        return Spec(
            cdi_version="0.6.0",
            kind=self.kind,
            devices=[Device(name=n, container_edits=ContainerEdits(env=[f"NPU={n}"])) for n in self.names],
        )


def _providers(provider: CountingProvider, available: bool = True) -> OnDemandProviders:
    providers = OnDemandProviders()
    providers.register(KIND, provider, available=lambda: available)
    return providers


def test_kind_request_generates_writes_and_resolves(spec_dir: Path, open_registry: OpenRegistry) -> None:
    provider = CountingProvider()
    resolver = Resolver(open_registry(), policy=AllowPolicy(), providers=_providers(provider))
    assert resolver.list_devices() == [DeviceListing(KIND, True, True, {})]

    resolution = resolver.resolve([KIND])
    assert resolution.devices == [f"{KIND}=npu0"]  # sorted-first, and auto-allowed
    written = spec_dir / "acme.com-npu.yaml"
    assert resolution.written == [str(written)]
    assert resolution.notes == [f"on-demand device {KIND} set up: wrote {written}"]
    assert written.is_file() and (written.stat().st_mode & 0o777) == 0o644  # readable by rootless engines
    assert AUTO_ALLOW_ANNOTATION in written.read_text()

    # Already provided now: no second run, and the listing shows the real devices.
    assert resolver.resolve([f"{KIND}=*"]).devices == [f"{KIND}=npu0", f"{KIND}=npu1"]
    assert provider.calls == 1
    assert [row.name for row in resolver.list_devices()] == [f"{KIND}=npu0", f"{KIND}=npu1"]
    assert all(row.auto_allowed and not row.on_demand for row in resolver.list_devices())


def test_generated_devices_stay_allowed_after_restart(open_registry: OpenRegistry) -> None:
    Resolver(open_registry(), policy=AllowPolicy(), providers=_providers(CountingProvider())).resolve([KIND])
    fresh = Resolver(open_registry(), policy=AllowPolicy())
    assert fresh.resolve([f"{KIND}=npu1"]).devices == [f"{KIND}=npu1"]


def test_existing_spec_wins_over_provider(write_spec: SpecWriter, open_registry: OpenRegistry) -> None:
    write_spec(KIND, [device("real")])
    provider = CountingProvider()
    resolver = Resolver(
        open_registry(), policy=AllowPolicy.from_entitlements(["device"]), providers=_providers(provider)
    )
    assert resolver.resolve([KIND]).devices == [f"{KIND}=real"]
    assert provider.calls == 0
    assert [r.on_demand for r in resolver.list_devices()] == [False]


def test_unavailable_provider_is_not_listed_and_fails_setup(
    spec_dir: Path, open_registry: OpenRegistry
) -> None:
    provider = CountingProvider()
    resolver = Resolver(open_registry(), providers=_providers(provider, available=False))
    assert resolver.list_devices() == []
    with pytest.raises(OnDemandError) as info:
        resolver.resolve([KIND])
    assert str(info.value) == f"failed to find preconditions for {KIND} device"
    assert provider.calls == 0
    assert list(spec_dir.iterdir()) == []


def test_provider_of_wrong_kind_is_refused(spec_dir: Path, open_registry: OpenRegistry) -> None:
    resolver = Resolver(open_registry(), providers=_providers(CountingProvider(kind="other.com/npu")))
    with pytest.raises(OnDemandError, match=r"produced a spec of kind 'other\.com/npu'"):
        resolver.resolve([KIND])
    assert list(spec_dir.iterdir()) == []


def test_invalid_generated_spec_is_not_written(spec_dir: Path, open_registry: OpenRegistry) -> None:
    resolver = Resolver(open_registry(), providers=_providers(CountingProvider(names=("-bad",))))
    with pytest.raises(OnDemandError, match=f"failed to create {KIND} device"):
        resolver.resolve([KIND])
    assert list(spec_dir.iterdir()) == []


def test_unrelated_broken_spec_does_not_fail_setup(spec_dir: Path, open_registry: OpenRegistry) -> None:
    (spec_dir / "broken.json").write_text(
        json.dumps({"cdiVersion": "0.6.0", "kind": "x.com/y", "devices": "no"})
    )
    resolver = Resolver(open_registry(), providers=_providers(CountingProvider()))
    assert resolver.resolve([f"{KIND}=npu1"]).devices == [f"{KIND}=npu1"]


def test_concurrent_requests_run_the_provider_once(open_registry: OpenRegistry) -> None:
    provider = CountingProvider()
    providers = _providers(provider)
    registry = open_registry()
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(Resolver(registry, providers=providers).resolve([KIND]).devices)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert provider.calls == 1
    assert results == [[f"{KIND}=npu0"]] * 8


def test_register_rejects_invalid_kind() -> None:
    with pytest.raises(RequestError, match="invalid on-demand kind"):
        OnDemandProviders().register("nokind", CountingProvider())
    with pytest.raises(RequestError):
        OnDemandProviders().register("a/b", CountingProvider())


def test_spec_dir_stays_free_of_temporary_files(spec_dir: Path, open_registry: OpenRegistry) -> None:
    Resolver(open_registry(), providers=_providers(CountingProvider())).resolve([KIND])
    assert sorted(os.listdir(spec_dir)) == ["acme.com-npu.yaml"]


# -- NVIDIA, end to end with the fake NVML backend and a fake driver root -----------------


def test_nvidia_gpu_on_demand_with_fake_nvml(
    tmp_path: Path, spec_dir: Path, open_registry: OpenRegistry
) -> None:
    from cdikit.producers.nvidia.generate import GenerateOptions
    from cdikit.producers.nvidia.nvml import FakeBackend
    from cdikit.producers.nvidia.ondemand import NVIDIA_GPU_KIND, nvidia_gpu_provider
    from tests.producers.fakeroot import build_nvidia_root, harness_nvml

    root = build_nvidia_root(tmp_path / "root")
    options = GenerateOptions(
        mode="nvml",
        driver_root=str(root.path),
        proc_root=str(root.path),
        sys_root=str(root.path),
        fake_device_nodes=not root.real_nodes,
    )
    providers = OnDemandProviders()
    providers.add(nvidia_gpu_provider(options, backend=FakeBackend(harness_nvml())))
    resolver = Resolver(open_registry(), policy=AllowPolicy(), providers=providers)
    assert resolver.list_devices() == [DeviceListing(NVIDIA_GPU_KIND, True, True, {})]

    resolution = resolver.resolve([NVIDIA_GPU_KIND, f"{NVIDIA_GPU_KIND}=all"])
    # Sorted-first of "0, 1:0, 1:1, GPU-..., MIG-..., all" is "0".
    assert resolution.devices == [f"{NVIDIA_GPU_KIND}=0", f"{NVIDIA_GPU_KIND}=all"]
    assert resolution.written == [str(spec_dir / "nvidia.com-gpu.yaml")]
    listing = resolver.list_devices()
    assert f"{NVIDIA_GPU_KIND}=1:1" in [row.name for row in listing]
    assert all(row.auto_allowed and not row.on_demand for row in listing)


def test_nvidia_provider_unavailable_without_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdikit.producers.nvidia.generate import GenerateOptions
    from cdikit.producers.nvidia.ondemand import nvidia_gpu_provider

    provider = nvidia_gpu_provider(GenerateOptions(proc_root=str(tmp_path)))
    monkeypatch.delenv("CDIKIT_FAKE_NVML", raising=False)
    assert provider.available() is False
    (tmp_path / "driver/nvidia").mkdir(parents=True)  # not under proc/: still unavailable
    (tmp_path / "driver/nvidia/version").write_text("NVRM version: 580.65.06\n")
    assert provider.available() is False
    (tmp_path / "proc/driver/nvidia").mkdir(parents=True)
    (tmp_path / "proc/driver/nvidia/version").write_text("NVRM version: 580.65.06\n")
    assert provider.available() is True


def test_nvidia_provider_checks_the_host_driver_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # With no options, the driver check is the host's /proc/driver/nvidia/version.
    from cdikit.producers.nvidia import ondemand

    asked: list[str] = []
    monkeypatch.delenv("CDIKIT_FAKE_NVML", raising=False)
    monkeypatch.setattr(ondemand.os.path, "exists", lambda path: asked.append(path) or False)
    assert ondemand.nvidia_gpu_provider().available() is False
    assert asked == ["/proc/driver/nvidia/version"]


def test_fake_nvml_variable_matches_the_nvml_module() -> None:
    # ondemand keeps its own copy so that listing does not import the NVML module.
    from cdikit.producers.nvidia.nvml import FAKE_NVML_ENV
    from cdikit.producers.nvidia.ondemand import _FAKE_NVML_ENV

    assert _FAKE_NVML_ENV == FAKE_NVML_ENV


# -- AMD, Intel and Gaudi: the same providers, on fake sysfs roots -------------------------


def test_vendor_providers_generate_on_first_request(
    tmp_path: Path, spec_dir: Path, open_registry: OpenRegistry
) -> None:
    from cdikit.producers import vendor_providers
    from tests.producers import fakesys

    root = tmp_path / "host"
    fakesys.amd_gpu(root, "0000:03:00.0", card=1, render=128, location_id=0x300, unique_id=0xAB, node_index=1)
    fakesys.intel_gpu(root, "0000:00:02.0", "0x4680", driver="xe", card=0, render=200, bypath=False)
    providers = OnDemandProviders()
    for provider in vendor_providers(str(root)):
        providers.add(provider)
    resolver = Resolver(open_registry(), policy=AllowPolicy(), providers=providers)
    listed = {row.name: row.on_demand for row in resolver.list_devices()}
    # Gaudi's driver is not bound under this root: not offered.
    assert listed == {"amd.com/gpu": True, "intel.com/gpu": True}

    resolution = resolver.resolve(["amd.com/gpu", "intel.com/gpu=*"])
    assert resolution.devices == ["amd.com/gpu=0", "intel.com/gpu=0000-00-02-0-0x4680", "intel.com/gpu=all"]
    assert sorted(os.path.basename(p) for p in resolution.written) == [
        "amd.com-gpu.yaml",
        "intel.com-gpu.yaml",
    ]
    with pytest.raises(OnDemandError):
        resolver.resolve(["intel.com/gaudi"])
