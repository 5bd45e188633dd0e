"""A kubelet device plugin (API ``v1beta1``) that serves the devices of the CDI registry.

One plugin per CDI kind: kind ``vendor.com/gpu`` becomes the extended resource ``vendor.com/gpu`` (or a
configured name), its device names are the kubelet's device IDs, and ``Allocate`` answers with the CDI
names in ``cdi_devices`` (the kubelet forwards them to the runtime in CRI ``CDI_devices``; GA since
Kubernetes 1.31), optionally also as ``cdi.k8s.io/`` annotations for runtimes that only read those.

Each plugin listens on its own socket (mode 0600) in the device-plugins directory and registers at
``kubelet.sock`` there. A kubelet restart wipes that directory and recreates ``kubelet.sock``: the manager
notices (socket identity changed or our socket gone), restarts the servers and registers again. A dead
``kubelet.sock`` (the file is there, nobody listens) is noticed with one refused connect per check, made
outside the manager's lock.

Requests are bounded: ``ListAndWatch`` streams are coroutines (any number of them leaves ``Allocate``
its workers), a container cannot ask for more device IDs than the resource has, and error texts and log
lines quote at most a few IDs, each shortened.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc

from cdikit.annotations import update_annotations
from cdikit.errors import CDIError
from cdikit.names import parse_qualifier

from ._inventory import DeviceWatch, RegistryLike, take_inventory
from ._sockets import Server, SocketId, connect, probe, remove_socket, serve, socket_id
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
# Bounds on what one request may make the plugin do, say or log.
MAX_CONTAINER_REQUESTS = 128
MAX_PREFERRED_SLACK = 64
MAX_QUOTED_IDS = 5
MAX_QUOTED_ID_CHARS = 64


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


def _quote_ids(ids: Sequence[str]) -> str:
    """At most a few IDs, each shortened: error texts and logs stay small whatever the request."""
    shown = [repr(i if len(i) <= MAX_QUOTED_ID_CHARS else i[:MAX_QUOTED_ID_CHARS] + "...") for i in ids]
    text = ", ".join(shown[:MAX_QUOTED_IDS])
    return text + (f" and {len(ids) - MAX_QUOTED_IDS} more" if len(ids) > MAX_QUOTED_IDS else "")


class _Changes:
    """Wakes ``ListAndWatch`` coroutines (on a server's event loop) when the device watch changes."""

    def __init__(self, watch: DeviceWatch) -> None:
        self._watch = watch
        self._waiters: dict[asyncio.Future[None], asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()
        watch.subscribe(self._on_change)

    def _on_change(self) -> None:  # the watch's thread
        with self._lock:
            waiters = list(self._waiters.items())
        for future, loop in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: its server is gone
                loop.call_soon_threadsafe(_resolve, future)

    async def wait(self, version: int, timeout: float) -> None:
        """Return once the watch is past ``version``, or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters[future] = loop
        try:
            if self._watch.current()[0] == version and not self._watch.stopped:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, timeout)
        finally:
            with self._lock:
                self._waiters.pop(future, None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _DevicePluginServicer(pb_grpc.DevicePluginServicer):
    """The DevicePlugin service for one resource."""

    def __init__(self, resource: Resource, watch: DeviceWatch, annotations: bool) -> None:
        self._resource = resource
        self._watch = watch
        self._annotations = annotations
        self._changes = _Changes(watch)

    def _refuse(self, context: grpc.ServicerContext, message: str) -> None:
        text = f"{self._resource.resource_name}: {message}"
        _log.warning("refused request: %s", text)
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, text)

    def _devices(self) -> tuple[str, ...]:
        return self._watch.current()[1].devices(self._resource.kind)

    def GetDevicePluginOptions(
        self, request: pb.Empty, context: grpc.ServicerContext
    ) -> pb.DevicePluginOptions:
        return pb.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True)

    async def ListAndWatch(  # type: ignore[override]
        self, request: pb.Empty, context: grpc.aio.ServicerContext[pb.Empty, pb.ListAndWatchResponse]
    ) -> AsyncIterator[pb.ListAndWatchResponse]:
        # A coroutine, not a worker thread: a waiting stream costs nothing, so streams never starve
        # Allocate. A cancelled stream or a stopping server ends it with CancelledError.
        kind = self._resource.kind
        version, inventory = self._watch.current()
        sent = inventory.devices(kind)
        _log.info("ListAndWatch %s: %d devices", self._resource.resource_name, len(sent))
        yield _list_response(sent)
        while not self._watch.stopped:
            await self._changes.wait(version, timeout=1.0)
            version, inventory = self._watch.current()
            devices = inventory.devices(kind)
            if devices != sent:
                sent = devices
                _log.info("ListAndWatch %s: devices changed, now %d", self._resource.resource_name, len(sent))
                yield _list_response(sent)

    def GetPreferredAllocation(
        self, request: pb.PreferredAllocationRequest, context: grpc.ServicerContext
    ) -> pb.PreferredAllocationResponse:
        if len(request.container_requests) > MAX_CONTAINER_REQUESTS:
            self._refuse(context, f"{len(request.container_requests)} container requests in one call")
        # The kubelet offers what we advertised; a little slack for devices that went away meanwhile.
        limit = len(self._devices()) + MAX_PREFERRED_SLACK
        for creq in request.container_requests:
            for what, ids in (
                ("available", creq.available_deviceIDs),
                ("must-include", creq.must_include_deviceIDs),
            ):
                if len(ids) > limit:
                    self._refuse(
                        context,
                        f"{len(ids)} {what} device IDs, the resource has {limit - MAX_PREFERRED_SLACK}",
                    )
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
        if len(request.container_requests) > MAX_CONTAINER_REQUESTS:
            self._refuse(context, f"{len(request.container_requests)} container requests in one Allocate")
        for creq in request.container_requests:
            # More IDs than devices cannot be a real allocation: refuse before looking at them.
            if len(creq.devices_ids) > len(known):
                self._refuse(
                    context, f"{len(creq.devices_ids)} device IDs asked, the resource has {len(known)}"
                )
            unknown = [d for d in creq.devices_ids if d not in known]
            if unknown:
                self._refuse(context, f"unknown devices {_quote_ids(unknown)}")
        response = pb.AllocateResponse()
        for creq in request.container_requests:
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
        self._server: Server | None = None
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
            self._server.stop(grace=0.5)
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
        self._register_lock = threading.Lock()
        self._dead_kubelet: SocketId | None = None

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
        """Restart servers whose socket vanished and (re-)register where the kubelet socket is new.

        Registering dials the kubelet, which may be dead or slow: it happens outside the lock (``stop``
        never waits for it), after one plain connect shows the socket accepts connections at all.
        """
        with self._lock:
            kubelet = socket_id(self._kubelet_path)
            for plugin in self._plugins:
                if socket_id(plugin.path) != plugin.serving_on:
                    _log.info("socket %s is gone (kubelet restart?), restarting the plugin", plugin.path)
                    plugin.start()
            pending = [p for p in self._plugins if kubelet is not None and p.registered_with != kubelet]
        if not pending:
            return
        with self._register_lock:
            try:
                probe(self._kubelet_path, self._config.register_timeout)
            except OSError as err:
                if self._dead_kubelet != kubelet:  # once per kubelet socket, not every poll
                    _log.warning("kubelet socket %s does not accept connections: %s", self._kubelet_path, err)
                self._dead_kubelet = kubelet
                return
            self._dead_kubelet = None
            for plugin in pending:
                try:
                    plugin.register(self._kubelet_path)
                except (grpc.RpcError, grpc.FutureTimeoutError, OSError) as err:
                    _log.warning(
                        "registering %s with the kubelet: %s", plugin.resource.resource_name, _rpc_text(err)
                    )
                    continue
                with self._lock:
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
    if isinstance(err, OSError):
        return str(err)
    return "timed out waiting for the kubelet socket"
