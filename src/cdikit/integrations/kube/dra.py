"""A DRA kubelet plugin (``v1.DRAPlugin``) for the devices of the CDI registry.

Registration goes through the kubelet's plugin watcher: a ``Registration`` service on a socket in
``/var/lib/kubelet/plugins_registry/`` answers ``GetInfo`` with type ``DRAPlugin``, the driver name, the
DRA socket (``/var/lib/kubelet/plugins/<driver>/dra.sock``) and the service names it serves, exactly
``["v1.DRAPlugin"]`` (current kubelets reject anything else).

``NodePrepareResources`` gets only the claim's namespace, name and UID; the devices allocated to it come
from the ResourceClaim's ``status.allocation.devices.results`` (a :class:`ClaimSource`, normally the API
server). For each CDI kind among them the plugin writes a transient CDI spec named
``generate_transient_spec_name(vendor, class, claimUID)``, holding one device ``<claimUID>-<name>`` per
allocated device with the claim's identity as environment, and returns both the node device and that
transient device as ``cdi_device_ids``. A checkpoint file next to the DRA socket records what was prepared,
so prepare and unprepare are idempotent and survive a plugin restart in between.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import grpc

from cdikit.errors import CDIError
from cdikit.names import parse_qualified_name, parse_qualifier
from cdikit.spec.types import ContainerEdits, Device, Spec

from ._inventory import CLAIM_ANNOTATION, DeviceWatch, RegistryLike, dra_device_names
from ._sockets import Server, SocketId, remove_socket, serve, socket_id
from ._supervise import Supervised
from .protos import dra_v1_pb2 as dra_pb
from .protos import dra_v1_pb2_grpc as dra_grpc
from .protos import pluginregistration_v1_pb2 as reg_pb
from .protos import pluginregistration_v1_pb2_grpc as reg_grpc

__all__ = [
    "DEFAULT_PLUGINS_DIR",
    "DEFAULT_REGISTRY_DIR",
    "PLUGIN_TYPE",
    "SUPPORTED_VERSIONS",
    "AllocatedDevice",
    "ClaimError",
    "ClaimRef",
    "ClaimSource",
    "DRAPlugin",
    "DRAPluginConfig",
    "KubeClaimSource",
    "PreparedDevice",
    "Preparer",
]

_log = logging.getLogger("cdikit.kube.dra")

PLUGIN_TYPE = "DRAPlugin"
# gRPC service names (pkg/apis/dra/v1 DRAPluginService); kubelets match these literally.
SUPPORTED_VERSIONS = ("v1.DRAPlugin",)
DEFAULT_PLUGINS_DIR = "/var/lib/kubelet/plugins"
DEFAULT_REGISTRY_DIR = "/var/lib/kubelet/plugins_registry"
_CHECKPOINT_VERSION = 1


class ClaimError(CDIError):
    """A ResourceClaim that cannot be prepared (not found, not allocated, unknown device)."""


@dataclass(frozen=True)
class ClaimRef:
    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class AllocatedDevice:
    """One entry of ``status.allocation.devices.results``."""

    request: str
    driver: str
    pool: str
    device: str


class ClaimSource(Protocol):
    """Where the devices allocated to a claim come from."""

    def allocated_devices(self, claim: ClaimRef) -> list[AllocatedDevice]: ...


class KubeClaimSource:
    """Reads ResourceClaims (``resource.k8s.io/v1``) from the API server with the ``kubernetes`` client."""

    def __init__(self, api_client: Any, *, timeout: float = 10.0) -> None:
        from kubernetes.client import ResourceV1Api

        self._api = ResourceV1Api(api_client)
        self._timeout = timeout

    def allocated_devices(self, claim: ClaimRef) -> list[AllocatedDevice]:
        from kubernetes.client.exceptions import ApiException

        try:
            response: Any = self._api.read_namespaced_resource_claim(
                claim.name, claim.namespace, _preload_content=False, _request_timeout=self._timeout
            )
        except ApiException as err:
            raise ClaimError(
                f"reading ResourceClaim {claim.namespace}/{claim.name}: {err.status} {err.reason}",
                field="claim",
            ) from err
        doc = json.loads(response.data)
        uid = doc.get("metadata", {}).get("uid")
        if uid != claim.uid:
            raise ClaimError(
                f"ResourceClaim {claim.namespace}/{claim.name} has UID {uid}, kubelet asked for {claim.uid}",
                field="metadata.uid",
            )
        results = (((doc.get("status") or {}).get("allocation") or {}).get("devices") or {}).get(
            "results"
        ) or []
        return [
            AllocatedDevice(r.get("request", ""), r.get("driver", ""), r.get("pool", ""), r.get("device", ""))
            for r in results
        ]


@dataclass
class PreparedDevice:
    """A prepared device as the checkpoint stores it and the kubelet receives it."""

    request_names: list[str]
    pool_name: str
    device_name: str
    cdi_device: str
    """The node's CDI device (``vendor/class=name``)."""

    def transient_name(self, uid: str) -> str:
        vendor, cls, name = parse_qualified_name(self.cdi_device)
        return f"{vendor}/{cls}={uid}-{name}"


@dataclass
class _ClaimRecord:
    namespace: str
    name: str
    devices: list[PreparedDevice] = field(default_factory=list)


@dataclass
class DRAPluginConfig:
    driver_name: str
    node_name: str
    kinds: Sequence[str] = ()
    """CDI kinds offered through DRA; empty means every kind."""
    include_all: bool = False
    plugins_dir: str = DEFAULT_PLUGINS_DIR
    registry_dir: str = DEFAULT_REGISTRY_DIR
    poll_interval: float = 1.0

    @property
    def plugin_dir(self) -> str:
        return os.path.join(self.plugins_dir, self.driver_name)

    @property
    def dra_socket(self) -> str:
        return os.path.join(self.plugin_dir, "dra.sock")

    @property
    def registration_socket(self) -> str:
        return os.path.join(self.registry_dir, f"{self.driver_name}-reg.sock")

    @property
    def checkpoint_path(self) -> str:
        return os.path.join(self.plugin_dir, "checkpoint.json")


class Preparer:
    """Prepares and unprepares claims: transient CDI specs plus the checkpoint. Calls are serialized."""

    def __init__(
        self,
        registry: RegistryLike,
        claims: ClaimSource,
        config: DRAPluginConfig,
        watch: DeviceWatch,
    ) -> None:
        self._registry = registry
        self._claims = claims
        self._config = config
        self._watch = watch
        self._lock = threading.Lock()
        self._records = self._load_checkpoint()

    # -- checkpoint ---------------------------------------------------------------------------------

    def _load_checkpoint(self) -> dict[str, _ClaimRecord]:
        path = self._config.checkpoint_path
        try:
            with open(path, "rb") as f:
                doc = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            raise CDIError(f"reading DRA checkpoint: {err}", path=path) from err
        if doc.get("version") != _CHECKPOINT_VERSION:
            raise CDIError(
                f"unsupported DRA checkpoint version {doc.get('version')!r}", path=path, field="version"
            )
        records = {}
        for uid, rec in doc.get("claims", {}).items():
            devices = [PreparedDevice(**d) for d in rec.get("devices", [])]
            records[uid] = _ClaimRecord(rec["namespace"], rec["name"], devices)
        _log.info("checkpoint %s: %d prepared claims", path, len(records))
        return records

    def _save_checkpoint(self) -> None:
        doc = {"version": _CHECKPOINT_VERSION, "claims": {uid: asdict(r) for uid, r in self._records.items()}}
        from cdikit._atomic import atomic_write

        # A torn checkpoint would lose track of prepared claims: replaced atomically, no temp file left.
        atomic_write(self._config.checkpoint_path, json.dumps(doc, indent=1, sort_keys=True).encode())

    def prepared_claims(self) -> list[str]:
        with self._lock:
            return sorted(self._records)

    # -- prepare ------------------------------------------------------------------------------------

    def prepare(self, claim: ClaimRef) -> list[PreparedDevice]:
        with self._lock:
            record = self._records.get(claim.uid)
            if record is None:
                record = _ClaimRecord(claim.namespace, claim.name, self._resolve(claim))
                # Record before writing: a crash in between leaves a claim that unprepare can clean up.
                self._records[claim.uid] = record
                self._save_checkpoint()
            # Rewriting on a repeated call also restores specs lost meanwhile (/var/run is a tmpfs).
            self._write_specs(claim.uid, record)
            return record.devices

    def _resolve(self, claim: ClaimRef) -> list[PreparedDevice]:
        _version, inventory = self._watch.current()
        by_dra_name = dra_device_names(inventory)
        prepared: dict[str, PreparedDevice] = {}
        for result in self._claims.allocated_devices(claim):
            if result.driver != self._config.driver_name:
                continue
            if result.pool != self._config.node_name:
                raise ClaimError(
                    f"claim {claim.uid}: device {result.device} is in pool {result.pool!r}, "
                    f"this node serves pool {self._config.node_name!r}",
                    device=result.device,
                    field="status.allocation.devices.results.pool",
                )
            qualified = by_dra_name.get(result.device)
            if qualified is None:
                raise ClaimError(
                    f"claim {claim.uid}: device {result.device} is not (or no longer) on this node",
                    device=result.device,
                    field="status.allocation.devices.results.device",
                )
            entry = prepared.setdefault(
                result.device, PreparedDevice([], result.pool, result.device, qualified)
            )
            if result.request and result.request not in entry.request_names:
                entry.request_names.append(result.request)
        return list(prepared.values())

    def _write_specs(self, uid: str, record: _ClaimRecord) -> None:
        from cdikit.registry import generate_transient_spec_name

        env = [
            f"CDIKIT_CLAIM_UID={uid}",
            f"CDIKIT_CLAIM_NAMESPACE={record.namespace}",
            f"CDIKIT_CLAIM_NAME={record.name}",
        ]
        by_kind: dict[str, list[Device]] = {}
        for dev in record.devices:
            vendor, cls, name = parse_qualified_name(dev.cdi_device)
            by_kind.setdefault(f"{vendor}/{cls}", []).append(
                Device(name=f"{uid}-{name}", container_edits=ContainerEdits(env=list(env)))
            )
        for kind, devices in sorted(by_kind.items()):
            vendor, cls = parse_qualifier(kind)
            spec = Spec(cdi_version="0.6.0", kind=kind, annotations={CLAIM_ANNOTATION: uid}, devices=devices)
            path = self._registry.write_spec(spec, generate_transient_spec_name(vendor, cls, uid))
            _log.info("claim %s: wrote transient CDI spec %s", uid, path)

    # -- unprepare ----------------------------------------------------------------------------------

    def unprepare(self, uid: str) -> None:
        from cdikit.registry import generate_transient_spec_name

        with self._lock:
            record = self._records.get(uid)
            if record is None:
                _log.info("claim %s: not prepared here, nothing to do", uid)
                return
            kinds = sorted({dev.cdi_device.partition("=")[0] for dev in record.devices})
            for kind in kinds:
                vendor, cls = parse_qualifier(kind)
                self._registry.remove_spec(generate_transient_spec_name(vendor, cls, uid))
            del self._records[uid]
            self._save_checkpoint()
            _log.info("claim %s: unprepared (%d transient specs removed)", uid, len(kinds))


class _RegistrationServicer(reg_grpc.RegistrationServicer):
    def __init__(self, config: DRAPluginConfig, plugin: DRAPlugin) -> None:
        self._config = config
        self._plugin = plugin

    def GetInfo(self, request: reg_pb.InfoRequest, context: grpc.ServicerContext) -> reg_pb.PluginInfo:
        return reg_pb.PluginInfo(
            type=PLUGIN_TYPE,
            name=self._config.driver_name,
            endpoint=self._config.dra_socket,
            supported_versions=list(SUPPORTED_VERSIONS),
        )

    def NotifyRegistrationStatus(
        self, request: reg_pb.RegistrationStatus, context: grpc.ServicerContext
    ) -> reg_pb.RegistrationStatusResponse:
        self._plugin._registration_status(request.plugin_registered, request.error)
        return reg_pb.RegistrationStatusResponse()


# Bounds on one request: the kubelet prepares the claims of one pod per call.
MAX_CLAIMS_PER_CALL = 128
_MAX_UID = 128  # Kubernetes UIDs are 36-character UUIDs
_MAX_NAME = 253  # DNS subdomain names


def _claim_problem(claim: dra_pb.Claim) -> str | None:
    """Why ``claim`` cannot be a real claim reference (its UID names files), or None."""
    uid = claim.uid
    if not uid or len(uid) > _MAX_UID or not all(c.isascii() and (c.isalnum() or c == "-") for c in uid):
        return f"invalid claim UID {_short(uid)} (want a Kubernetes UID)"
    if not claim.name or len(claim.name) > _MAX_NAME or len(claim.namespace) > _MAX_NAME:
        return f"invalid claim name {_short(claim.namespace)}/{_short(claim.name)}"
    return None


def _short(text: str, limit: int = 64) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _check_claim_count(context: grpc.ServicerContext, count: int) -> None:
    if count > MAX_CLAIMS_PER_CALL:
        message = f"{count} claims in one call (at most {MAX_CLAIMS_PER_CALL})"
        _log.warning("refused request: %s", message)
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)


class _DRAServicer(dra_grpc.DRAPluginServicer):
    def __init__(self, preparer: Preparer) -> None:
        self._preparer = preparer

    def NodePrepareResources(
        self, request: dra_pb.NodePrepareResourcesRequest, context: grpc.ServicerContext
    ) -> dra_pb.NodePrepareResourcesResponse:
        _check_claim_count(context, len(request.claims))
        response = dra_pb.NodePrepareResourcesResponse()
        for claim in request.claims:
            entry = response.claims[claim.uid]
            problem = _claim_problem(claim)
            if problem is not None:
                _log.error("NodePrepareResources: %s", problem)
                entry.error = problem
                continue
            try:
                devices = self._preparer.prepare(ClaimRef(claim.namespace, claim.name, claim.uid))
            except (CDIError, OSError) as err:
                _claim_failed(entry, "NodePrepareResources", claim, err)
                continue
            for dev in devices:
                entry.devices.add(
                    request_names=dev.request_names,
                    pool_name=dev.pool_name,
                    device_name=dev.device_name,
                    cdi_device_ids=[dev.cdi_device, dev.transient_name(claim.uid)],
                )
            _log.info(
                "NodePrepareResources %s/%s (%s): %d devices",
                claim.namespace,
                claim.name,
                claim.uid,
                len(devices),
            )
        return response

    def NodeUnprepareResources(
        self, request: dra_pb.NodeUnprepareResourcesRequest, context: grpc.ServicerContext
    ) -> dra_pb.NodeUnprepareResourcesResponse:
        _check_claim_count(context, len(request.claims))
        response = dra_pb.NodeUnprepareResourcesResponse()
        for claim in request.claims:
            entry = response.claims[claim.uid]
            problem = _claim_problem(claim)
            if problem is not None:
                _log.error("NodeUnprepareResources: %s", problem)
                entry.error = problem
                continue
            try:
                self._preparer.unprepare(claim.uid)
            except (CDIError, OSError) as err:
                _claim_failed(entry, "NodeUnprepareResources", claim, err)
        return response


def _claim_failed(
    entry: dra_pb.NodePrepareResourceResponse | dra_pb.NodeUnprepareResourceResponse,
    rpc: str,
    claim: dra_pb.Claim,
    err: Exception,
) -> None:
    """Log a claim's failure and report it in its response ``entry`` (the kubelet retries the claim)."""
    _log.error("%s %s/%s (%s): %s", rpc, claim.namespace, claim.name, claim.uid, err)
    entry.error = str(err)


class DRAPlugin(Supervised):
    """The DRA kubelet plugin: the registration and DRA gRPC servers, kept alive until stopped."""

    def __init__(
        self, registry: RegistryLike, claims: ClaimSource, config: DRAPluginConfig, watch: DeviceWatch
    ) -> None:
        super().__init__(config.poll_interval, thread_name="cdikit-dra-monitor", log=_log, what="DRA plugin")
        self._config = config
        self._watch = watch
        self.preparer = Preparer(registry, claims, config, watch)
        self._dra_servicer = _DRAServicer(self.preparer)
        self._reg_servicer = _RegistrationServicer(config, self)
        self._servers: dict[str, tuple[Server, SocketId | None]] = {}
        self._lock = threading.Lock()
        self.registered = threading.Event()
        self.registration_error = ""

    def _registration_status(self, registered: bool, error: str) -> None:
        if registered:
            self.registration_error = ""
            self.registered.set()
            _log.info("registered with the kubelet as DRA driver %s", self._config.driver_name)
        else:
            self.registration_error = error
            self.registered.clear()
            _log.error("kubelet rejected DRA driver %s: %s", self._config.driver_name, error)

    def _start_server(self, path: str) -> None:
        old = self._servers.pop(path, None)
        if old is not None:
            old[0].stop(grace=0.5)
        if path == self._config.dra_socket:
            server = serve(path, lambda s: dra_grpc.add_DRAPluginServicer_to_server(self._dra_servicer, s))
        else:
            server = serve(path, lambda s: reg_grpc.add_RegistrationServicer_to_server(self._reg_servicer, s))
        self._servers[path] = (server, socket_id(path))
        _log.info("serving on %s", path)

    def start(self) -> None:
        """Serve both sockets and keep them alive (re-created if wiped) from a thread."""
        with self._lock:
            # The DRA socket first: the kubelet dials it as soon as it sees the registration socket.
            self._start_server(self._config.dra_socket)
            self._start_server(self._config.registration_socket)
        self._start_monitor()

    def check(self) -> None:
        """Restart a server whose socket file vanished (a wiped plugin directory)."""
        with self._lock:
            for path in (self._config.dra_socket, self._config.registration_socket):
                entry = self._servers.get(path)
                if entry is None or socket_id(path) != entry[1]:
                    _log.info("socket %s is gone, serving it again", path)
                    self._start_server(path)

    def stop(self) -> None:
        self._stop_monitor()
        with self._lock:
            # Registration socket first, so the kubelet stops using the plugin before its API goes away.
            for path in (self._config.registration_socket, self._config.dra_socket):
                entry = self._servers.pop(path, None)
                if entry is None:
                    continue
                entry[0].stop(grace=0.5)
                if socket_id(path) == entry[1]:
                    remove_socket(path)
        _log.info("DRA plugin %s stopped", self._config.driver_name)
