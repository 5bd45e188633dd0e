"""The DRA kubelet plugin: plugin-watcher registration, prepare/unprepare over gRPC, restarts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import grpc
import pytest

from cdikit.integrations.kube._inventory import DeviceWatch, dra_device_name, take_inventory
from cdikit.integrations.kube.dra import (
    SUPPORTED_VERSIONS,
    DRAPlugin,
    DRAPluginConfig,
    KubeClaimSource,
)
from cdikit.integrations.kube.protos import dra_v1_pb2 as dra_pb
from cdikit.integrations.kube.protos import dra_v1_pb2_grpc as dra_grpc
from cdikit.registry import Registry

from ._fake_apiserver import FakeAPIServer
from ._fake_kubelet import TIMEOUT, plugin_watcher_register

DRIVER = "gpu.example.com"
NODE = "node-1"
UID = "2d4c6a2e-1b6f-4c39-9a5e-7f0e8d9c0b1a"


def _config(short_tmp: str) -> DRAPluginConfig:
    return DRAPluginConfig(
        driver_name=DRIVER,
        node_name=NODE,
        kinds=["vendor.com/gpu"],
        plugins_dir=os.path.join(short_tmp, "plugins"),
        registry_dir=os.path.join(short_tmp, "reg"),
        poll_interval=0.05,
    )


def _claim(
    uid: str = UID, *results: tuple[str, str], pool: str = NODE, driver: str = DRIVER
) -> dict[str, object]:
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": "claim-a", "namespace": "default", "uid": uid},
        "spec": {"devices": {"requests": [{"name": r} for r, _ in results]}},
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {"request": r, "driver": driver, "pool": pool, "device": d} for r, d in results
                    ]
                }
            }
        },
    }


def _claims(uids: tuple[str, ...]) -> list[dra_pb.Claim]:
    """The kubelet's view of claims ``uids``: names only, the allocation lives in the API server."""
    return [dra_pb.Claim(namespace="default", name="claim-a", uid=u) for u in uids]


class Harness:
    def __init__(self, registry: Registry, apiserver: FakeAPIServer, config: DRAPluginConfig) -> None:
        self.registry = registry
        self.apiserver = apiserver
        self.config = config
        self.watch = DeviceWatch(registry, config.kinds, interval=0.05)
        self.watch.start()
        self.plugin = self._new_plugin()

    def _new_plugin(self) -> DRAPlugin:
        plugin = DRAPlugin(
            self.registry, KubeClaimSource(self.apiserver.api_client()), self.config, self.watch
        )
        plugin.start()
        return plugin

    def restart(self) -> None:
        self.plugin.stop()
        self.plugin = self._new_plugin()

    def stop(self) -> None:
        self.plugin.stop()
        self.watch.stop()

    def _stub(self) -> tuple[grpc.Channel, dra_grpc.DRAPluginStub]:
        channel = grpc.insecure_channel(f"unix://{self.config.dra_socket}")
        return channel, dra_grpc.DRAPluginStub(channel)

    def prepare(self, *uids: str) -> dra_pb.NodePrepareResourcesResponse:
        channel, stub = self._stub()
        with channel:
            return stub.NodePrepareResources(
                dra_pb.NodePrepareResourcesRequest(claims=_claims(uids)), timeout=TIMEOUT
            )

    def unprepare(self, *uids: str) -> dra_pb.NodeUnprepareResourcesResponse:
        channel, stub = self._stub()
        with channel:
            return stub.NodeUnprepareResources(
                dra_pb.NodeUnprepareResourcesRequest(claims=_claims(uids)), timeout=TIMEOUT
            )


@pytest.fixture
def harness(registry: Registry, apiserver: FakeAPIServer, short_tmp: str) -> Iterator[Harness]:
    h = Harness(registry, apiserver, _config(short_tmp))
    try:
        yield h
    finally:
        h.stop()


def _transient_path(spec_dirs: list[str], uid: str = UID) -> str:
    return os.path.join(spec_dirs[-1], f"vendor.com-gpu_{uid}.yaml")


def test_plugin_watcher_registration(harness: Harness) -> None:
    info = plugin_watcher_register(harness.config.registration_socket)
    assert info.type == "DRAPlugin"
    assert info.name == DRIVER
    assert info.endpoint == harness.config.dra_socket
    assert list(info.supported_versions) == ["v1.DRAPlugin"] == list(SUPPORTED_VERSIONS)
    assert harness.plugin.registered.is_set()


def test_plugin_watcher_rejection_is_recorded(harness: Harness) -> None:
    plugin_watcher_register(harness.config.registration_socket, accept=False, error="version mismatch")
    assert not harness.plugin.registered.is_set()
    assert harness.plugin.registration_error == "version mismatch"


def test_sockets_live_where_the_kubelet_looks(harness: Harness, short_tmp: str) -> None:
    assert harness.config.registration_socket == os.path.join(short_tmp, "reg", f"{DRIVER}-reg.sock")
    assert harness.config.dra_socket == os.path.join(short_tmp, "plugins", DRIVER, "dra.sock")
    assert os.path.exists(harness.config.registration_socket)
    assert os.path.exists(harness.config.dra_socket)


def test_prepare_writes_transient_spec(harness: Harness, registry: Registry, spec_dirs: list[str]) -> None:
    harness.apiserver.claims[("default", "claim-a")] = _claim(
        UID, ("gpus", dra_device_name("vendor.com/gpu=1"))
    )
    response = harness.prepare(UID)
    result = response.claims[UID]
    assert result.error == ""
    (device,) = result.devices
    assert (list(device.request_names), device.pool_name, device.device_name) == (["gpus"], NODE, "gpu-1")
    assert list(device.cdi_device_ids) == ["vendor.com/gpu=1", f"vendor.com/gpu={UID}-1"]
    assert os.path.exists(_transient_path(spec_dirs))
    registry.refresh()
    transient = registry.get_device(f"vendor.com/gpu={UID}-1")
    assert transient is not None
    assert f"CDIKIT_CLAIM_UID={UID}" in (transient.device.container_edits.env or [])
    # Claim-private devices never become node devices.
    assert take_inventory(registry, ["vendor.com/gpu"], include_all=False).devices("vendor.com/gpu") == (
        "0",
        "1",
    )


def test_prepare_groups_requests_and_kinds(harness: Harness) -> None:
    harness.apiserver.claims[("default", "claim-a")] = _claim(
        UID,
        ("a", "gpu-0"),
        ("b", "gpu-0"),
        ("b", "gpu-1"),
    )
    result = harness.prepare(UID).claims[UID]
    got = {d.device_name: (list(d.request_names), list(d.cdi_device_ids)) for d in result.devices}
    assert got == {
        "gpu-0": (["a", "b"], ["vendor.com/gpu=0", f"vendor.com/gpu={UID}-0"]),
        "gpu-1": (["b"], ["vendor.com/gpu=1", f"vendor.com/gpu={UID}-1"]),
    }


def test_other_drivers_devices_are_ignored(harness: Harness) -> None:
    claim = _claim(UID, ("a", "gpu-0"))
    claim["status"]["allocation"]["devices"]["results"].append(  # type: ignore[index]
        {"request": "net", "driver": "net.example.com", "pool": "x", "device": "eth9"}
    )
    harness.apiserver.claims[("default", "claim-a")] = claim
    result = harness.prepare(UID).claims[UID]
    assert [d.device_name for d in result.devices] == ["gpu-0"]


@pytest.mark.parametrize(
    ("claim", "fragment"),
    [
        (None, "404"),
        (_claim("another-uid", ("a", "gpu-0")), "has UID another-uid"),
        (_claim(UID, ("a", "gpu-9")), "gpu-9 is not (or no longer) on this node"),
        (_claim(UID, ("a", "gpu-0"), pool="node-2"), "pool 'node-2'"),
    ],
)
def test_prepare_errors_are_per_claim(
    harness: Harness, spec_dirs: list[str], claim: dict[str, object] | None, fragment: str
) -> None:
    if claim is not None:
        harness.apiserver.claims[("default", "claim-a")] = claim
    result = harness.prepare(UID).claims[UID]
    assert fragment in result.error
    assert not result.devices
    assert not os.path.exists(_transient_path(spec_dirs))
    assert harness.plugin.preparer.prepared_claims() == []


def test_prepare_is_idempotent(harness: Harness, spec_dirs: list[str]) -> None:
    harness.apiserver.claims[("default", "claim-a")] = _claim(UID, ("gpus", "gpu-0"))
    first = harness.prepare(UID)
    os.unlink(_transient_path(spec_dirs))  # e.g. /var/run/cdi lost in a reboot
    second = harness.prepare(UID)
    assert first == second
    assert os.path.exists(_transient_path(spec_dirs))
    # The claim was read once: the second call answered from the checkpoint.
    assert (
        len(harness.apiserver.calls("GET", "/apis/resource.k8s.io/v1/namespaces/default/resourceclaims")) == 1
    )


def test_unprepare_removes_spec_and_is_idempotent(harness: Harness, spec_dirs: list[str]) -> None:
    harness.apiserver.claims[("default", "claim-a")] = _claim(UID, ("gpus", "gpu-0"))
    harness.prepare(UID)
    for _ in range(2):
        response = harness.unprepare(UID)
        assert response.claims[UID].error == ""
        assert not os.path.exists(_transient_path(spec_dirs))
    assert harness.plugin.preparer.prepared_claims() == []


def test_state_survives_plugin_restart(harness: Harness, spec_dirs: list[str]) -> None:
    harness.apiserver.claims[("default", "claim-a")] = _claim(UID, ("gpus", "gpu-1"))
    before = harness.prepare(UID)
    harness.restart()
    with open(harness.config.checkpoint_path) as f:
        checkpoint = json.load(f)
    assert list(checkpoint["claims"]) == [UID]
    # The API server forgot the claim: the restarted plugin still knows what it prepared.
    harness.apiserver.claims.clear()
    assert harness.prepare(UID) == before
    harness.restart()
    assert harness.unprepare(UID).claims[UID].error == ""
    assert not os.path.exists(_transient_path(spec_dirs))
    harness.restart()
    assert harness.plugin.preparer.prepared_claims() == []


def test_wiped_sockets_are_served_again(harness: Harness) -> None:
    os.unlink(harness.config.registration_socket)
    os.unlink(harness.config.dra_socket)
    info = plugin_watcher_register(
        harness.config.registration_socket
    )  # waits for the socket (wait_for_ready)
    assert list(info.supported_versions) == ["v1.DRAPlugin"]
    assert harness.unprepare("nothing").claims["nothing"].error == ""


def test_stop_removes_sockets(harness: Harness) -> None:
    harness.plugin.stop()
    assert not os.path.exists(harness.config.registration_socket)
    assert not os.path.exists(harness.config.dra_socket)
