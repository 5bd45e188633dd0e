"""A kubelet device plugin (API ``v1beta1``) that serves the devices of the CDI registry.

One plugin per CDI kind: kind ``vendor.com/gpu`` becomes the extended resource ``vendor.com/gpu`` (or a
configured name), its device names are the kubelet's device IDs, and ``Allocate`` answers with the CDI
names in ``cdi_devices`` (the kubelet forwards them to the runtime in CRI ``CDI_devices``; GA since
Kubernetes 1.31), optionally also as ``cdi.k8s.io/`` annotations for runtimes that only read those.

Each plugin listens on its own socket in the device-plugins directory and registers at ``kubelet.sock``
there. A kubelet restart wipes that directory and recreates ``kubelet.sock``: the manager notices (socket
identity changed or our socket gone), restarts the servers and registers again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import grpc

from cdikit.annotations import update_annotations
from cdikit.errors import CDIError
from cdikit.names import parse_qualifier

from ._inventory import DeviceWatch, RegistryLike, take_inventory
from ._sockets import SocketId, connect, remove_socket, serve, socket_id
from ._supervise import Supervised
from .protos import deviceplugin_v1beta1_pb2 as pb
from .protos import deviceplugin_v1beta1_pb2_grpc as pb_grpc

__all__ = [
    "API_VERSION",
    "DEFAULT_PLUGIN_DIR",
    "DevicePluginConfig",
    "DevicePluginManager",
    "Resource",
]

_log = logging.getLogger("cdikit.kube.deviceplugin")

API_VERSION = "v1beta1"
DEFAULT_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"
KUBELET_SOCKET = "kubelet.sock"
HEALTHY = "Healthy"


@dataclass(frozen=True)
class Resource:
    """A CDI kind served as a Kubernetes extended resource."""

    kind: str
    resource_name: str

    @classmethod
    def parse(cls, text: str) -> Resource:
        """``vendor.com/class`` or ``vendor.com/class=example.com/name``; raises ``ValueError``."""
        kind, _, resource = text.partition("=")
        try:
            parse_qualifier(kind)
        except CDIError as err:
            raise ValueError(f"invalid CDI kind {kind!r}: {err}") from err
        resource = resource or kind
        domain, slash, name = resource.partition("/")
        if not slash or not domain or not name or "/" in name:
            raise ValueError(f"invalid extended resource name {resource!r}: want domain/name")
        return cls(kind, resource)

    @property
    def socket_name(self) -> str:
        vendor, cls = parse_qualifier(self.kind)
        return f"cdikit-{vendor}-{cls}.sock"


@dataclass
class DevicePluginConfig:
    resources: Sequence[Resource] = ()
    """The kinds to serve; empty means every kind in the registry at start, under its own name."""
    plugin_dir: str = DEFAULT_PLUGIN_DIR
    include_all: bool = False
    """Also advertise the conventional ``all`` device of each kind."""
    annotations: bool = False
    """Also return ``cdi.k8s.io/`` annotations from Allocate (for runtimes without CRI CDI support)."""
    poll_interval: float = 1.0
    """Seconds between checks for a restarted kubelet and for registry changes."""
    register_timeout: float = 5.0


class _DevicePluginServicer(pb_grpc.DevicePluginServicer):
    """The DevicePlugin service for one resource."""

    def __init__(self, resource: Resource, watch: DeviceWatch, annotations: bool) -> None:
        self._resource = resource
        self._watch = watch
        self._annotations = annotations

    def _devices(self) -> tuple[str, ...]:
        return self._watch.current()[1].devices(self._resource.kind)

    def GetDevicePluginOptions(
        self, request: pb.Empty, context: grpc.ServicerContext
    ) -> pb.DevicePluginOptions:
        return pb.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True)

    def ListAndWatch(
        self, request: pb.Empty, context: grpc.ServicerContext
    ) -> Iterator[pb.ListAndWatchResponse]:
        kind = self._resource.kind
        version, inventory = self._watch.current()
        sent = inventory.devices(kind)
        _log.info("ListAndWatch %s: %d devices", self._resource.resource_name, len(sent))
        yield _list_response(sent)
        # A bounded wait keeps the loop responsive to a cancelled stream and to shutdown.
        while context.is_active() and not self._watch.stopped:
            version, inventory = self._watch.wait(version, timeout=0.5)
            devices = inventory.devices(kind)
            if devices != sent:
                sent = devices
                _log.info("ListAndWatch %s: devices changed, now %d", self._resource.resource_name, len(sent))
                yield _list_response(sent)

    def GetPreferredAllocation(
        self, request: pb.PreferredAllocationRequest, context: grpc.ServicerContext
    ) -> pb.PreferredAllocationResponse:
        response = pb.PreferredAllocationResponse()
        for creq in request.container_requests:
            chosen = list(dict.fromkeys(creq.must_include_deviceIDs))
            # Registry order (sorted names) keeps neighbouring devices together for the rest.
            for device in sorted(creq.available_deviceIDs):
                if len(chosen) >= creq.allocation_size:
                    break
                if device not in chosen:
                    chosen.append(device)
            response.container_responses.add(deviceIDs=chosen)
        return response

    def Allocate(self, request: pb.AllocateRequest, context: grpc.ServicerContext) -> pb.AllocateResponse:
        known = set(self._devices())
        response = pb.AllocateResponse()
        for creq in request.container_requests:
            unknown = [d for d in creq.devices_ids if d not in known]
            if unknown:
                message = f"{self._resource.resource_name}: unknown devices {', '.join(unknown)}"
                _log.warning("Allocate: %s", message)
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
            names = [f"{self._resource.kind}={d}" for d in creq.devices_ids]
            cresp = response.container_responses.add()
            cresp.cdi_devices.extend(pb.CDIDevice(name=n) for n in names)
            if self._annotations and names:
                cresp.annotations.update(
                    update_annotations({}, self._annotation_plugin(), _request_id(names), names)
                )
            _log.info("Allocate %s: %s", self._resource.resource_name, ", ".join(names))
        return response

    def PreStartContainer(
        self, request: pb.PreStartContainerRequest, context: grpc.ServicerContext
    ) -> pb.PreStartContainerResponse:
        return pb.PreStartContainerResponse()

    def _annotation_plugin(self) -> str:
        return self._resource.resource_name.replace("/", "-")


def _list_response(devices: Sequence[str]) -> pb.ListAndWatchResponse:
    return pb.ListAndWatchResponse(devices=[pb.Device(ID=d, health=HEALTHY) for d in devices])


def _request_id(names: Sequence[str]) -> str:
    """A short stable ID for one container's request (annotation keys are limited to 63 characters)."""
    return hashlib.sha256(",".join(names).encode()).hexdigest()[:16]


class _Plugin:
    """One resource's gRPC server and its registration state."""

    def __init__(self, resource: Resource, config: DevicePluginConfig, watch: DeviceWatch) -> None:
        self.resource = resource
        self.path = os.path.join(config.plugin_dir, resource.socket_name)
        self._config = config
        self._servicer = _DevicePluginServicer(resource, watch, config.annotations)
        self._server: grpc.Server | None = None
        self.registered_with: SocketId | None = None
        self.serving_on: SocketId | None = None

    def start(self) -> None:
        self.stop()
        self._server = serve(
            self.path, lambda s: pb_grpc.add_DevicePluginServicer_to_server(self._servicer, s)
        )
        self.serving_on = socket_id(self.path)
        self.registered_with = None
        _log.info("serving %s on %s", self.resource.resource_name, self.path)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0.5).wait(timeout=5)
            self._server = None
            # Only remove the socket file if it is still ours (not a successor's).
            if socket_id(self.path) == self.serving_on:
                remove_socket(self.path)

    def register(self, kubelet_path: str) -> None:
        channel = connect(kubelet_path, self._config.register_timeout)
        with channel:
            stub = pb_grpc.RegistrationStub(channel)
            stub.Register(
                pb.RegisterRequest(
                    version=API_VERSION,
                    endpoint=os.path.basename(self.path),
                    resource_name=self.resource.resource_name,
                    options=pb.DevicePluginOptions(get_preferred_allocation_available=True),
                ),
                timeout=self._config.register_timeout,
            )


class DevicePluginManager(Supervised):
    """Runs one device plugin per resource, keeps them registered with the kubelet, stops them cleanly."""

    def __init__(self, registry: RegistryLike, config: DevicePluginConfig) -> None:
        super().__init__(
            config.poll_interval, thread_name="cdikit-dp-monitor", log=_log, what="device plugin"
        )
        self._config = config
        resources = list(config.resources)
        if not resources:
            inventory = take_inventory(registry, None, include_all=config.include_all)
            resources = [Resource(kind, kind) for kind in sorted(inventory.kinds)]
        if not resources:
            _log.warning("no CDI kinds to serve: the spec dirs have no devices (give --resource)")
        self._kubelet_path = os.path.join(config.plugin_dir, KUBELET_SOCKET)
        self._watch = DeviceWatch(
            registry,
            [r.kind for r in resources],
            include_all=config.include_all,
            interval=config.poll_interval,
        )
        self._plugins = [_Plugin(r, config, self._watch) for r in resources]
        self._lock = threading.Lock()

    @property
    def resources(self) -> list[Resource]:
        return [p.resource for p in self._plugins]

    def start(self) -> None:
        """Serve every resource, register, and keep watching for kubelet restarts in a thread."""
        self._watch.start()
        with self._lock:
            for plugin in self._plugins:
                plugin.start()
        self.check()
        self._start_monitor()

    def check(self) -> None:
        """Restart servers whose socket vanished and (re-)register where the kubelet socket is new."""
        with self._lock:
            kubelet = socket_id(self._kubelet_path)
            for plugin in self._plugins:
                if socket_id(plugin.path) != plugin.serving_on:
                    _log.info("socket %s is gone (kubelet restart?), restarting the plugin", plugin.path)
                    plugin.start()
                if kubelet is None or plugin.registered_with == kubelet:
                    continue
                try:
                    plugin.register(self._kubelet_path)
                except (grpc.RpcError, grpc.FutureTimeoutError) as err:
                    _log.warning(
                        "registering %s with the kubelet: %s", plugin.resource.resource_name, _rpc_text(err)
                    )
                    continue
                plugin.registered_with = kubelet
                _log.info(
                    "registered %s with the kubelet at %s", plugin.resource.resource_name, self._kubelet_path
                )

    def stop(self) -> None:
        self._stop_monitor()
        self._watch.stop()
        with self._lock:
            for plugin in self._plugins:
                plugin.stop()
        _log.info("device plugins stopped")


def _rpc_text(err: BaseException) -> str:
    if isinstance(err, grpc.RpcError):
        details = getattr(err, "details", None)
        return str(details()) if callable(details) else str(err)
    return "timed out waiting for the kubelet socket"
