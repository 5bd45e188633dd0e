"""A fake kubelet speaking the real device-plugin and plugin-watcher protocols (same protos).

Device plugins: it serves ``v1beta1.Registration`` on ``<dir>/kubelet.sock``; on each Register it dials the
plugin's endpoint in that directory, asks for its options and follows its ``ListAndWatch`` stream, as the
kubelet's device manager does. :meth:`FakeKubelet.restart` wipes and recreates the directory like a
restarting kubelet.

DRA: :func:`plugin_watcher_register` does what the kubelet's plugin watcher does with a socket found in
``plugins_registry``: ``GetInfo``, then ``NotifyRegistrationStatus``.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
from concurrent import futures
from dataclasses import dataclass, field

import grpc

from cdikit.integrations.kube.protos import deviceplugin_v1beta1_pb2 as pb
from cdikit.integrations.kube.protos import deviceplugin_v1beta1_pb2_grpc as pb_grpc
from cdikit.integrations.kube.protos import pluginregistration_v1_pb2 as reg_pb
from cdikit.integrations.kube.protos import pluginregistration_v1_pb2_grpc as reg_grpc

TIMEOUT = 10.0


@dataclass
class PluginConnection:
    """What the fake kubelet learnt from one Register call."""

    request: pb.RegisterRequest
    channel: grpc.Channel
    stub: pb_grpc.DevicePluginStub
    options: pb.DevicePluginOptions | None = None
    updates: queue.Queue[list[str]] = field(default_factory=queue.Queue)
    error: str = ""

    def next_devices(self, timeout: float = TIMEOUT) -> list[str]:
        return self.updates.get(timeout=timeout)

    def wait_for_devices(self, wanted: list[str], timeout: float = TIMEOUT) -> list[str]:
        """Read the stream until it reports ``wanted`` (bounded by ``timeout`` per update)."""
        seen: list[str] = []
        for _ in range(50):
            seen = self.updates.get(timeout=timeout)
            if seen == wanted:
                return seen
        raise AssertionError(f"ListAndWatch never reported {wanted}, last {seen}")


class _Registration(pb_grpc.RegistrationServicer):
    def __init__(self, kubelet: FakeKubelet) -> None:
        self._kubelet = kubelet

    def Register(self, request: pb.RegisterRequest, context: grpc.ServicerContext) -> pb.Empty:
        if request.version != "v1beta1":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported version {request.version}")
        # The real kubelet answers Register first and dials the plugin asynchronously.
        threading.Thread(target=self._kubelet._connect, args=(request,), daemon=True).start()
        return pb.Empty()


class FakeKubelet:
    def __init__(self, plugin_dir: str) -> None:
        self.plugin_dir = plugin_dir
        self.socket = os.path.join(plugin_dir, "kubelet.sock")
        self.connections: queue.Queue[PluginConnection] = queue.Queue()
        self._channels: list[grpc.Channel] = []
        self._server: grpc.Server | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        os.makedirs(self.plugin_dir, exist_ok=True)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_RegistrationServicer_to_server(_Registration(self), server)
        assert server.add_insecure_port(f"unix://{self.socket}") != 0
        server.start()
        self._server = server

    def _connect(self, request: pb.RegisterRequest) -> None:
        channel = grpc.insecure_channel(f"unix://{os.path.join(self.plugin_dir, request.endpoint)}")
        with self._lock:
            self._channels.append(channel)
        conn = PluginConnection(request, channel, pb_grpc.DevicePluginStub(channel))
        try:
            conn.options = conn.stub.GetDevicePluginOptions(pb.Empty(), timeout=TIMEOUT)
            stream = conn.stub.ListAndWatch(pb.Empty())
        except grpc.RpcError as err:
            conn.error = str(err)
            self.connections.put(conn)
            return
        self.connections.put(conn)
        try:
            for response in stream:
                conn.updates.put([d.ID for d in response.devices])
        except grpc.RpcError as err:
            conn.error = str(err)  # stream ends when either side goes away

    def next_connection(self, timeout: float = TIMEOUT) -> PluginConnection:
        return self.connections.get(timeout=timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(timeout=TIMEOUT)
            self._server = None
        with self._lock:
            channels, self._channels = self._channels, []
        for channel in channels:
            channel.close()

    def restart(self) -> None:
        """Stop, wipe the device-plugins directory (plugin sockets included), start again."""
        self.stop()
        shutil.rmtree(self.plugin_dir, ignore_errors=True)
        # A plugin may already have re-created the directory for its own socket.
        os.makedirs(self.plugin_dir, exist_ok=True)
        self.start()


def plugin_watcher_register(
    registration_socket: str, *, accept: bool = True, error: str = ""
) -> reg_pb.PluginInfo:
    """Register a plugin found in plugins_registry: GetInfo, then NotifyRegistrationStatus."""
    with grpc.insecure_channel(f"unix://{registration_socket}") as channel:
        stub = reg_grpc.RegistrationStub(channel)
        info = stub.GetInfo(reg_pb.InfoRequest(), timeout=TIMEOUT, wait_for_ready=True)
        stub.NotifyRegistrationStatus(
            reg_pb.RegistrationStatus(plugin_registered=accept, error=error), timeout=TIMEOUT
        )
    return info
