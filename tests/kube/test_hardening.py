"""The kubelet plugins under hostile or broken peers (issue 11): streams, request sizes, dead
kubelet sockets, socket modes. Real gRPC over unix sockets against the fake kubelet."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.integrations.kube import deviceplugin
from cdikit.integrations.kube._inventory import DeviceWatch
from cdikit.integrations.kube.deviceplugin import (
    MAX_QUOTED_ID_CHARS,
    MAX_QUOTED_IDS,
    DevicePluginConfig,
    DevicePluginManager,
    Resource,
    _quote_ids,
)
from cdikit.integrations.kube.dra import MAX_CLAIMS_PER_CALL, DRAPlugin, DRAPluginConfig
from cdikit.integrations.kube.protos import deviceplugin_v1beta1_pb2 as pb
from cdikit.integrations.kube.protos import deviceplugin_v1beta1_pb2_grpc as pb_grpc
from cdikit.integrations.kube.protos import dra_v1_pb2 as dra_pb
from cdikit.integrations.kube.protos import dra_v1_pb2_grpc as dra_grpc
from cdikit.registry import Registry

from ._fake_kubelet import TIMEOUT, FakeKubelet

# Far more streams than any worker pool of the old design (8 threads) could hold.
STREAMS = 40


def _manager(registry: Registry, plugin_dir: str, *resources: str, **options: object) -> DevicePluginManager:
    config = DevicePluginConfig(
        resources=[Resource.parse(r) for r in resources],
        plugin_dir=plugin_dir,
        poll_interval=0.05,
        **options,  # type: ignore[arg-type]
    )
    return DevicePluginManager(registry, config)


@pytest.fixture
def plugin_stub(registry: Registry, kubelet: FakeKubelet) -> Iterator[pb_grpc.DevicePluginStub]:
    manager = _manager(registry, kubelet.plugin_dir, "vendor.com/gpu")
    manager.start()
    conn = kubelet.next_connection()
    try:
        yield conn.stub
    finally:
        manager.stop()


def test_many_list_and_watch_streams_leave_allocate_served(plugin_stub: pb_grpc.DevicePluginStub) -> None:
    streams = [plugin_stub.ListAndWatch(pb.Empty(), timeout=3 * TIMEOUT) for _ in range(STREAMS)]
    try:
        for stream in streams:
            assert [d.ID for d in next(stream).devices] == ["0", "1"]
        # Every stream is open and waiting; a unary call still gets a worker.
        response = plugin_stub.Allocate(
            pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["1"])]),
            timeout=TIMEOUT,
        )
        assert [d.name for d in response.container_responses[0].cdi_devices] == ["vendor.com/gpu=1"]
    finally:
        for stream in streams:
            stream.cancel()


# (case id, container requests) -> refused with INVALID_ARGUMENT and a short text
HUGE: list[tuple[str, list[list[str]]]] = [
    ("100k-unknown-ids", [[f"gpu-{i:06d}" for i in range(100_000)]]),
    ("100k-known-ids", [["0"] * 100_000]),
    ("one-huge-id", [["x" * 1_000_000]]),
    ("many-containers", [["0"]] * 1000),
    ("unknown-among-known", [["0", "7"]]),
]


@pytest.mark.parametrize("requests", [c[1] for c in HUGE], ids=[c[0] for c in HUGE])
def test_oversized_allocate_is_refused_with_a_short_error(
    plugin_stub: pb_grpc.DevicePluginStub, caplog: pytest.LogCaptureFixture, requests: list[list[str]]
) -> None:
    caplog.set_level(logging.INFO, logger="cdikit.kube")
    request = pb.AllocateRequest(
        container_requests=[pb.ContainerAllocateRequest(devices_ids=r) for r in requests]
    )
    with pytest.raises(grpc.RpcError) as info:
        plugin_stub.Allocate(request, timeout=TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = info.value.details() or ""
    assert details.startswith("vendor.com/gpu: ")
    assert len(details) < 600
    logged = "".join(r.getMessage() for r in caplog.records if r.name.startswith("cdikit.kube"))
    assert len(logged) < 2000


def test_unknown_ids_are_named(plugin_stub: pb_grpc.DevicePluginStub) -> None:
    request = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["0", "7"])])
    with pytest.raises(grpc.RpcError) as info:
        plugin_stub.Allocate(request, timeout=TIMEOUT)
    assert info.value.details() == "vendor.com/gpu: unknown devices '7'"


def test_oversized_preferred_allocation_is_refused(plugin_stub: pb_grpc.DevicePluginStub) -> None:
    creq = pb.ContainerPreferredAllocationRequest(
        available_deviceIDs=[str(i) for i in range(100_000)], allocation_size=1
    )
    with pytest.raises(grpc.RpcError) as info:
        plugin_stub.GetPreferredAllocation(
            pb.PreferredAllocationRequest(container_requests=[creq]), timeout=TIMEOUT
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(info.value.details() or "") < 600


@given(st.lists(st.text(max_size=300), max_size=200))
def test_quoted_ids_are_bounded(ids: list[str]) -> None:
    text = _quote_ids(ids)
    assert len(text) <= MAX_QUOTED_IDS * (4 * MAX_QUOTED_ID_CHARS + 10) + 30
    if ids:
        assert repr(ids[0][:MAX_QUOTED_ID_CHARS])[1:-1] in text


def _dead_socket(path: str) -> None:
    """A socket file nobody listens on any more: what a crashed kubelet leaves behind."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(path)
        sock.listen(1)
    assert os.path.exists(path)


def test_dead_kubelet_socket_fails_fast_outside_the_lock(
    registry: Registry, short_tmp: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin_dir = os.path.join(short_tmp, "dead")
    os.makedirs(plugin_dir)
    _dead_socket(os.path.join(plugin_dir, "kubelet.sock"))
    manager = _manager(
        registry, plugin_dir, "vendor.com/gpu", "other.com/nic", "vendor.com/gpu=example.com/g2"
    )
    calls: list[bool] = []
    original = deviceplugin._Plugin.register

    def spy(plugin: deviceplugin._Plugin, path: str) -> None:
        calls.append(manager._lock.locked())  # registering must never hold the manager's lock
        original(plugin, path)

    monkeypatch.setattr(deviceplugin._Plugin, "register", spy)
    caplog.set_level(logging.INFO, logger="cdikit.kube")
    manager.start()
    try:
        for _ in range(3):
            manager.check()
        assert calls == []  # one refused connect, no gRPC dial per plugin
        dead = [r for r in caplog.records if "does not accept connections" in r.getMessage()]
        assert len(dead) == 1  # said once, not every poll
        # The kubelet comes back on the same path: every plugin registers, outside the lock.
        kubelet = FakeKubelet(plugin_dir)
        os.unlink(kubelet.socket)
        kubelet.start()
        try:
            names = sorted(kubelet.next_connection().request.resource_name for _ in range(3))
            assert names == ["example.com/g2", "other.com/nic", "vendor.com/gpu"]
            assert calls and not any(calls)
        finally:
            kubelet.stop()
    finally:
        manager.stop()


@pytest.fixture(params=[0o000, 0o022, 0o077], ids=["umask000", "umask022", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: str) -> int:
    return os.stat(path).st_mode & 0o7777


def test_device_plugin_socket_is_0600(
    registry: Registry, kubelet: FakeKubelet, short_tmp: str, umask: int
) -> None:
    for directory in (short_tmp, kubelet.plugin_dir):
        os.chmod(directory, 0o755)  # only the socket's own mode may keep other users out
    manager = _manager(registry, kubelet.plugin_dir, "vendor.com/gpu")
    manager.start()
    try:
        path = os.path.join(kubelet.plugin_dir, kubelet.next_connection().request.endpoint)
        assert _mode(path) == 0o600
        assert [n for n in os.listdir(kubelet.plugin_dir) if n.startswith(".cdikit-bind")] == []
        if os.geteuid() == 0:
            assert not _can_connect_as_nobody(path)
            # Control (not the plugin's socket: changing its mode would make the plugin restart it):
            # a listening socket with a wide mode in the same directory lets that user in.
            control = os.path.join(kubelet.plugin_dir, "control.sock")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.bind(control)
                sock.listen(1)
                os.chmod(control, 0o666)
                assert _can_connect_as_nobody(control)
    finally:
        manager.stop()


@contextlib.contextmanager
def _dra_plugin(registry: Registry, short_tmp: str) -> Iterator[DRAPluginConfig]:
    """A started DRA plugin (no API server: these tests never prepare a real claim)."""
    config = DRAPluginConfig(
        driver_name="gpu.example.com",
        node_name="node-1",
        plugins_dir=os.path.join(short_tmp, "plugins"),
        registry_dir=os.path.join(short_tmp, "reg"),
        poll_interval=0.05,
    )
    watch = DeviceWatch(registry, None, interval=0.05)
    plugin = DRAPlugin(registry, _NoClaims(), config, watch)
    plugin.start()
    try:
        yield config
    finally:
        plugin.stop()
        watch.stop()


def test_dra_sockets_are_0600(registry: Registry, short_tmp: str, umask: int) -> None:
    with _dra_plugin(registry, short_tmp) as config:
        for path in (config.dra_socket, config.registration_socket):
            assert _mode(path) == 0o600


def _can_connect_as_nobody(path: str) -> bool:
    """Whether an unprivileged user (uid 65534) can connect to ``path`` (a forked child tries)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


class _NoClaims:
    def allocated_devices(self, claim: object) -> list[object]:
        raise AssertionError("no claim is prepared in these tests")


def test_dra_bounds_requests(registry: Registry, short_tmp: str) -> None:
    with (
        _dra_plugin(registry, short_tmp) as config,
        grpc.insecure_channel(f"unix://{config.dra_socket}") as channel,
    ):
        stub = dra_grpc.DRAPluginStub(channel)
        many = [dra_pb.Claim(namespace="d", name="c", uid=f"u{i}") for i in range(MAX_CLAIMS_PER_CALL + 1)]
        with pytest.raises(grpc.RpcError) as info:
            stub.NodePrepareResources(dra_pb.NodePrepareResourcesRequest(claims=many), timeout=TIMEOUT)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        bad = ["../../etc", "x" * 100_000, "a/b", "", "uid\0"]
        claims = [dra_pb.Claim(namespace="d", name="c", uid=u) for u in bad]
        response = stub.NodePrepareResources(
            dra_pb.NodePrepareResourcesRequest(claims=claims), timeout=TIMEOUT
        )
        for uid in bad:
            error = response.claims[uid].error
            assert error.startswith("invalid claim UID") and len(error) < 200
        unprepared = stub.NodeUnprepareResources(
            dra_pb.NodeUnprepareResourcesRequest(claims=claims), timeout=TIMEOUT
        )
        assert all(unprepared.claims[u].error.startswith("invalid claim UID") for u in bad)
