"""The device plugin against a fake kubelet speaking the real v1beta1 protocol over unix sockets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from cdikit.integrations.kube.deviceplugin import DevicePluginConfig, DevicePluginManager, Resource
from cdikit.integrations.kube.protos import deviceplugin_v1beta1_pb2 as pb
from cdikit.registry import Registry

from ._fake_kubelet import TIMEOUT, FakeKubelet
from .conftest import gpu_spec, write_atomic


def _manager(
    registry: Registry, kubelet: FakeKubelet, *resources: str, **options: object
) -> DevicePluginManager:
    config = DevicePluginConfig(
        resources=[Resource.parse(r) for r in resources],
        plugin_dir=kubelet.plugin_dir,
        poll_interval=0.05,
        **options,  # type: ignore[arg-type]
    )
    return DevicePluginManager(registry, config)


@pytest.fixture
def started(registry: Registry, kubelet: FakeKubelet) -> Iterator[DevicePluginManager]:
    manager = _manager(registry, kubelet, "vendor.com/gpu")
    manager.start()
    try:
        yield manager
    finally:
        manager.stop()


@pytest.mark.parametrize(
    ("text", "kind", "resource"),
    [
        ("vendor.com/gpu", "vendor.com/gpu", "vendor.com/gpu"),
        ("nvidia.com/gpu=example.com/accel", "nvidia.com/gpu", "example.com/accel"),
        ("a.io/x-y=b.io/z", "a.io/x-y", "b.io/z"),
    ],
)
def test_resource_parse(text: str, kind: str, resource: str) -> None:
    assert Resource.parse(text) == Resource(kind, resource)


@pytest.mark.parametrize(
    "text", ["gpu", "vendor.com/", "/gpu", "vendor.com/gpu=nodomain", "vendor.com/gpu=a/b/c", "v.com/g=/x"]
)
def test_resource_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Resource.parse(text)


def test_registers_and_streams_devices(started: DevicePluginManager, kubelet: FakeKubelet) -> None:
    conn = kubelet.next_connection()
    assert conn.request.version == "v1beta1"
    assert conn.request.resource_name == "vendor.com/gpu"
    assert conn.request.endpoint == "cdikit-vendor.com-gpu.sock"
    assert os.path.exists(os.path.join(kubelet.plugin_dir, conn.request.endpoint))
    assert conn.options is not None and conn.options.get_preferred_allocation_available
    # The conventional "all" device is not a schedulable unit: excluded by default.
    assert conn.next_devices() == ["0", "1"]


@pytest.mark.parametrize(
    ("resources", "include_all", "expected"),
    [
        (["vendor.com/gpu"], True, {"vendor.com/gpu": ["0", "1", "all"]}),
        (["other.com/nic=example.com/nic"], False, {"example.com/nic": ["eth0"]}),
        ([], False, {"vendor.com/gpu": ["0", "1"], "other.com/nic": ["eth0"]}),
    ],
)
def test_resources_served(
    registry: Registry,
    kubelet: FakeKubelet,
    resources: list[str],
    include_all: bool,
    expected: dict[str, list[str]],
) -> None:
    manager = _manager(registry, kubelet, *resources, include_all=include_all)
    manager.start()
    try:
        got = {}
        for _ in expected:
            conn = kubelet.next_connection()
            got[conn.request.resource_name] = conn.next_devices()
        assert got == expected
    finally:
        manager.stop()


def test_allocate_returns_cdi_devices(started: DevicePluginManager, kubelet: FakeKubelet) -> None:
    conn = kubelet.next_connection()
    request = pb.AllocateRequest(
        container_requests=[
            pb.ContainerAllocateRequest(devices_ids=["1", "0"]),
            pb.ContainerAllocateRequest(devices_ids=["0"]),
        ]
    )
    response = conn.stub.Allocate(request, timeout=TIMEOUT)
    names = [[d.name for d in c.cdi_devices] for c in response.container_responses]
    assert names == [["vendor.com/gpu=1", "vendor.com/gpu=0"], ["vendor.com/gpu=0"]]
    assert all(not c.annotations and not c.envs for c in response.container_responses)


def test_allocate_annotations(registry: Registry, kubelet: FakeKubelet) -> None:
    manager = _manager(registry, kubelet, "vendor.com/gpu", annotations=True)
    manager.start()
    try:
        conn = kubelet.next_connection()
        response = conn.stub.Allocate(
            pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["0", "1"])]),
            timeout=TIMEOUT,
        )
        (annotations,) = [dict(c.annotations) for c in response.container_responses]
        (key,) = annotations
        assert key.startswith("cdi.k8s.io/vendor.com-gpu_")
        assert annotations[key] == "vendor.com/gpu=0,vendor.com/gpu=1"
    finally:
        manager.stop()


def test_allocate_unknown_device_fails(started: DevicePluginManager, kubelet: FakeKubelet) -> None:
    conn = kubelet.next_connection()
    with pytest.raises(grpc.RpcError) as info:
        conn.stub.Allocate(
            pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["0", "7"])]),
            timeout=TIMEOUT,
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "7" in (info.value.details() or "")


@pytest.mark.parametrize(
    ("available", "must", "size", "expected"),
    [
        (["1", "0", "2"], [], 2, ["0", "1"]),
        (["0", "1", "2"], ["2"], 2, ["2", "0"]),
        (["0", "1"], ["1"], 1, ["1"]),
        (["0"], [], 3, ["0"]),
    ],
)
def test_preferred_allocation(
    started: DevicePluginManager,
    kubelet: FakeKubelet,
    available: list[str],
    must: list[str],
    size: int,
    expected: list[str],
) -> None:
    conn = kubelet.next_connection()
    response = conn.stub.GetPreferredAllocation(
        pb.PreferredAllocationRequest(
            container_requests=[
                pb.ContainerPreferredAllocationRequest(
                    available_deviceIDs=available, must_include_deviceIDs=must, allocation_size=size
                )
            ]
        ),
        timeout=TIMEOUT,
    )
    assert [list(c.deviceIDs) for c in response.container_responses] == [expected]


def test_prestart_container(started: DevicePluginManager, kubelet: FakeKubelet) -> None:
    conn = kubelet.next_connection()
    assert conn.stub.PreStartContainer(pb.PreStartContainerRequest(devices_ids=["0"]), timeout=TIMEOUT) == (
        pb.PreStartContainerResponse()
    )


def test_spec_change_reaches_list_and_watch(
    started: DevicePluginManager, kubelet: FakeKubelet, spec_dirs: list[str]
) -> None:
    conn = kubelet.next_connection()
    assert conn.next_devices() == ["0", "1"]
    write_atomic(os.path.join(spec_dirs[0], "vendor-gpu.yaml"), gpu_spec(["0", "1", "2", "all"]))
    conn.wait_for_devices(["0", "1", "2"])
    os.unlink(os.path.join(spec_dirs[0], "vendor-gpu.yaml"))
    conn.wait_for_devices([])


def test_reregisters_after_kubelet_restart(started: DevicePluginManager, kubelet: FakeKubelet) -> None:
    first = kubelet.next_connection()
    assert first.next_devices() == ["0", "1"]
    kubelet.restart()  # the plugin's socket is wiped with the directory
    second = kubelet.next_connection()
    assert second.request.resource_name == "vendor.com/gpu"
    assert os.path.exists(os.path.join(kubelet.plugin_dir, second.request.endpoint))
    assert second.next_devices() == ["0", "1"]
    response = second.stub.Allocate(
        pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["1"])]),
        timeout=TIMEOUT,
    )
    assert [d.name for d in response.container_responses[0].cdi_devices] == ["vendor.com/gpu=1"]


def test_registers_once_kubelet_appears(registry: Registry, short_tmp: str) -> None:
    kubelet = FakeKubelet(os.path.join(short_tmp, "late"))
    os.makedirs(kubelet.plugin_dir)
    manager = _manager(registry, kubelet, "vendor.com/gpu")
    manager.start()  # no kubelet.sock yet: serving, not registered
    try:
        kubelet.start()
        assert kubelet.next_connection().next_devices() == ["0", "1"]
    finally:
        manager.stop()
        kubelet.stop()


def test_stop_removes_sockets(registry: Registry, kubelet: FakeKubelet) -> None:
    manager = _manager(registry, kubelet, "vendor.com/gpu")
    manager.start()
    conn = kubelet.next_connection()
    path = os.path.join(kubelet.plugin_dir, conn.request.endpoint)
    manager.stop()
    assert not os.path.exists(path)
    assert os.path.exists(kubelet.socket)


def test_reregisters_when_only_kubelet_socket_is_recreated(
    started: DevicePluginManager, kubelet: FakeKubelet
) -> None:
    assert kubelet.next_connection().next_devices() == ["0", "1"]
    kubelet.stop()  # grpc removes kubelet.sock on stop
    assert not os.path.exists(kubelet.socket)
    kubelet.start()  # same directory, plugin socket untouched, new kubelet.sock
    assert kubelet.next_connection().request.resource_name == "vendor.com/gpu"


def test_generated_vendor_specs_are_served(short_tmp: str, kubelet: FakeKubelet, tmp_path: Path) -> None:
    # Specs from the AMD and Intel generators (fake sysfs roots) are served like any kind,
    # with the same kubelet protocol, and Allocate answers with their CDI names.
    from cdikit.producers import amd, intel
    from cdikit.producers.output import encode
    from tests.producers import fakesys

    root = tmp_path / "host"
    fakesys.amd_gpu(root, "0000:03:00.0", card=1, render=128, location_id=0x300, unique_id=0xAB, node_index=1)
    fakesys.amd_gpu(
        root, "0000:83:00.0", card=2, render=129, location_id=0x8300, unique_id=0xCD, node_index=2
    )
    fakesys.intel_gpu(root, "0000:00:02.0", "0x4680", driver="xe", card=0, render=200, bypath=False)
    spec_dir = os.path.join(short_tmp, "cdi")
    os.makedirs(spec_dir)
    write_atomic(os.path.join(spec_dir, "amd.json"), encode(amd.generate(str(root)), "json").decode())
    write_atomic(
        os.path.join(spec_dir, "intel.json"), encode(intel.generate_gpus(str(root)), "json").decode()
    )
    registry = Registry([spec_dir], auto_refresh=True)
    manager = _manager(registry, kubelet, "amd.com/gpu", "intel.com/gpu")
    manager.start()
    try:
        conns = {}
        for _ in range(2):
            conn = kubelet.next_connection()
            conns[conn.request.resource_name] = conn
        assert conns["amd.com/gpu"].next_devices() == ["0", "0xAB", "0xCD", "1"]
        assert conns["intel.com/gpu"].next_devices() == ["0000-00-02-0-0x4680"]
        response = conns["amd.com/gpu"].stub.Allocate(
            pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["1"])]),
            timeout=TIMEOUT,
        )
        assert [d.name for d in response.container_responses[0].cdi_devices] == ["amd.com/gpu=1"]
    finally:
        manager.stop()
        registry.close()
