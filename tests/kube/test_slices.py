"""ResourceSlice publishing against a local HTTP server that records what the client sent."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cdikit.integrations.kube._inventory import DeviceWatch, Inventory
from cdikit.integrations.kube.slices import ResourceSlicePublisher, build_slice, slice_name
from cdikit.registry import Registry
from tests._polling import wait_until

from ._fake_apiserver import SLICES, FakeAPIServer
from .conftest import gpu_spec, write_atomic

DRIVER = "gpu.example.com"
NODE = "node-1"
NAME = "node-1-gpu.example.com"


@pytest.fixture
def watch(registry: Registry) -> Iterator[DeviceWatch]:
    w = DeviceWatch(registry, ["vendor.com/gpu"], interval=0.05)
    w.start()
    try:
        yield w
    finally:
        w.stop()


def _publisher(apiserver: FakeAPIServer, watch: DeviceWatch) -> ResourceSlicePublisher:
    return ResourceSlicePublisher(
        apiserver.api_client(), watch, driver=DRIVER, node_name=NODE, timeout=5, retry_interval=0.1
    )


def _devices(body: dict[str, object]) -> list[str]:
    return [d["name"] for d in body["spec"]["devices"]]  # type: ignore[index]


@pytest.mark.parametrize(
    ("node", "driver", "expected"),
    [
        ("node-1", "gpu.example.com", "node-1-gpu.example.com"),
        ("Node_A", "x.io", "node-a-x.io"),
        ("n", "-weird-.io", "n--weird-.io"),
    ],
)
def test_slice_name(node: str, driver: str, expected: str) -> None:
    assert slice_name(node, driver) == expected


def test_build_slice_shape() -> None:
    body = build_slice(
        Inventory({"vendor.com/gpu": ("0", "GPU_A")}),
        driver=DRIVER,
        node_name=NODE,
        generation=3,
        node_uid="u1",
    )
    assert body["apiVersion"] == "resource.k8s.io/v1"
    assert body["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": "u1", "controller": True}
    ]
    assert body["spec"]["pool"] == {"name": NODE, "generation": 3, "resourceSliceCount": 1}
    devices = {d["name"]: d["attributes"] for d in body["spec"]["devices"]}
    assert devices["gpu-0"] == {
        "cdiKind": {"string": "vendor.com/gpu"},
        "cdiName": {"string": "0"},
        "cdiDevice": {"string": "vendor.com/gpu=0"},
    }
    (hashed,) = [n for n in devices if n != "gpu-0"]
    assert hashed.startswith("gpu-gpu-a-")
    assert devices[hashed]["cdiDevice"] == {"string": "vendor.com/gpu=GPU_A"}


def test_publish_creates_slice(apiserver: FakeAPIServer, watch: DeviceWatch) -> None:
    publisher = _publisher(apiserver, watch)
    assert publisher.publish(watch.current()[1])
    (post,) = apiserver.calls("POST", SLICES)
    body = post.body
    assert body["kind"] == "ResourceSlice"
    assert body["metadata"]["name"] == NAME
    assert body["metadata"]["ownerReferences"][0]["uid"] == "node-uid-1"
    assert body["spec"]["driver"] == DRIVER
    assert body["spec"]["nodeName"] == NODE
    assert body["spec"]["pool"] == {"name": NODE, "generation": 1, "resourceSliceCount": 1}
    assert _devices(body) == ["gpu-0", "gpu-1"]
    assert apiserver.calls("GET", "/api/v1/nodes/node-1")


def test_unchanged_inventory_is_not_rewritten(apiserver: FakeAPIServer, watch: DeviceWatch) -> None:
    publisher = _publisher(apiserver, watch)
    assert publisher.publish(watch.current()[1])
    assert publisher.publish(watch.current()[1])
    assert len(apiserver.calls("POST", SLICES)) == 1
    assert apiserver.calls("PUT", SLICES) == []


def test_spec_change_updates_slice(
    apiserver: FakeAPIServer, watch: DeviceWatch, spec_dirs: list[str]
) -> None:
    publisher = _publisher(apiserver, watch)
    publisher.start()
    try:
        wait_until(lambda: NAME in apiserver.slices)
        created_version = apiserver.slices[NAME]["metadata"]["resourceVersion"]
        write_atomic(os.path.join(spec_dirs[0], "vendor-gpu.yaml"), gpu_spec(["0", "1", "2"]))
        wait_until(lambda: apiserver.calls("PUT", SLICES))
    finally:
        publisher.stop()
    put = apiserver.calls("PUT", SLICES)[0]
    assert put.path == f"{SLICES}/{NAME}"
    assert put.body["metadata"]["resourceVersion"] == created_version
    assert put.body["spec"]["pool"]["generation"] == 2
    assert _devices(put.body) == ["gpu-0", "gpu-1", "gpu-2"]


def test_existing_slice_is_replaced_with_next_generation(
    apiserver: FakeAPIServer, watch: DeviceWatch
) -> None:
    stale = build_slice(Inventory({"vendor.com/gpu": ("7",)}), driver=DRIVER, node_name=NODE, generation=5)
    stale["metadata"]["resourceVersion"] = "42"
    apiserver.slices[NAME] = stale
    assert _publisher(apiserver, watch).publish(watch.current()[1])
    (put,) = apiserver.calls("PUT", SLICES)
    assert put.body["spec"]["pool"]["generation"] == 6
    assert put.body["metadata"]["resourceVersion"] == "42"
    assert _devices(apiserver.slices[NAME]) == ["gpu-0", "gpu-1"]


def test_unreachable_api_server_is_not_fatal(watch: DeviceWatch) -> None:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # discard port: connection refused
    configuration.retries = 0
    publisher = ResourceSlicePublisher(
        client.ApiClient(configuration), watch, driver=DRIVER, node_name=NODE, timeout=2
    )
    assert publisher.publish(watch.current()[1]) is False


def test_delete(apiserver: FakeAPIServer, watch: DeviceWatch) -> None:
    publisher = _publisher(apiserver, watch)
    assert publisher.publish(watch.current()[1])
    publisher.delete()
    assert NAME not in apiserver.slices
    publisher.delete()  # already gone: fine
