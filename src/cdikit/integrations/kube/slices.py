"""Publishing the node's CDI devices as a ``resource.k8s.io/v1`` ResourceSlice.

One slice per node and driver, named ``<node>-<driver>``, pool = the node name, owned by the Node object
(so it goes away with the node). Each CDI device becomes a slice device with a DNS-label name
(:func:`~._inventory.dra_device_name`) and the string attributes ``cdiKind``, ``cdiName`` and
``cdiDevice`` (the fully qualified CDI name), which DeviceClass CEL selectors can match, e.g.
``device.attributes["gpu.example.com"].cdiKind == "example.com/gpu"``.

The publisher rewrites the slice whenever the inventory changes, bumping the pool generation, using the
official ``kubernetes`` client (``ResourceV1Api``); API errors are logged and retried on the next change
or poll, never fatal.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

from cdikit.names import parse_qualified_name

from ._inventory import DeviceWatch, Inventory, dra_device_names

__all__ = ["ResourceSlicePublisher", "build_slice", "slice_name"]

_log = logging.getLogger("cdikit.kube.slices")

API_VERSION = "resource.k8s.io/v1"


def slice_name(node_name: str, driver: str) -> str:
    """``<node>-<driver>`` as a DNS subdomain (lower case, ``[a-z0-9.-]``, at most 253 characters)."""
    name = re.sub(r"[^a-z0-9.-]", "-", f"{node_name}-{driver}".lower()).strip("-.")
    return name[:253].rstrip("-.")


def build_slice(
    inventory: Inventory,
    *,
    driver: str,
    node_name: str,
    generation: int,
    node_uid: str | None = None,
    resource_version: str | None = None,
) -> dict[str, Any]:
    """The ResourceSlice object (as JSON-ready dict) for ``inventory``."""
    devices = []
    for dra_name, qualified in sorted(dra_device_names(inventory).items()):
        vendor, cls, name = parse_qualified_name(qualified)
        devices.append(
            {
                "name": dra_name,
                "attributes": {
                    "cdiKind": {"string": f"{vendor}/{cls}"},
                    "cdiName": {"string": name},
                    "cdiDevice": {"string": qualified},
                },
            }
        )
    metadata: dict[str, Any] = {"name": slice_name(node_name, driver)}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    if node_uid:
        metadata["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid, "controller": True}
        ]
    return {
        "apiVersion": API_VERSION,
        "kind": "ResourceSlice",
        "metadata": metadata,
        "spec": {
            "driver": driver,
            "nodeName": node_name,
            "pool": {"name": node_name, "generation": generation, "resourceSliceCount": 1},
            "devices": devices,
        },
    }


def _as_model(model: Any, body: dict[str, Any]) -> Any:
    # The client's methods take its pydantic models; from_dict keeps every field we set.
    obj = model.from_dict(body)
    if obj is None:
        raise ValueError(f"cannot build {model.__name__} from {body!r}")
    return obj


class ResourceSlicePublisher:
    """Keeps this node's ResourceSlice in line with a :class:`DeviceWatch`."""

    def __init__(
        self,
        api_client: Any,
        watch: DeviceWatch,
        *,
        driver: str,
        node_name: str,
        timeout: float = 10.0,
        retry_interval: float = 5.0,
    ) -> None:
        from kubernetes.client import CoreV1Api, ResourceV1Api

        self._resource = ResourceV1Api(api_client)
        self._core = CoreV1Api(api_client)
        self._watch = watch
        self._driver = driver
        self._node = node_name
        self._name = slice_name(node_name, driver)
        self._timeout = timeout
        self._retry = retry_interval
        self._published: Inventory | None = None
        self._node_uid: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self._name

    def _node_owner_uid(self) -> str | None:
        from kubernetes.client.exceptions import ApiException

        if self._node_uid is None:
            try:
                response: Any = self._core.read_node(
                    self._node, _preload_content=False, _request_timeout=self._timeout
                )
            except ApiException as err:
                # Without the Node's UID the slice just has no owner; it is still usable.
                _log.warning("reading Node %s for the slice owner: %s %s", self._node, err.status, err.reason)
                return None
            self._node_uid = json.loads(response.data).get("metadata", {}).get("uid")
        return self._node_uid

    def publish(self, inventory: Inventory) -> bool:
        """Create or update the slice for ``inventory``; True when the API server has it."""
        from kubernetes.client import V1ResourceSlice
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            try:
                response: Any = self._resource.read_resource_slice(
                    self._name, _preload_content=False, _request_timeout=self._timeout
                )
                current: dict[str, Any] | None = json.loads(response.data)
            except ApiException as err:
                if err.status != 404:
                    raise
                current = None
            if current is None:
                body = build_slice(
                    inventory,
                    driver=self._driver,
                    node_name=self._node,
                    generation=1,
                    node_uid=self._node_owner_uid(),
                )
                self._resource.create_resource_slice(
                    _as_model(V1ResourceSlice, body), _preload_content=False, _request_timeout=self._timeout
                )
                _log.info(
                    "created ResourceSlice %s with %d devices", self._name, len(body["spec"]["devices"])
                )
            else:
                spec = current.get("spec") or {}
                wanted = build_slice(inventory, driver=self._driver, node_name=self._node, generation=0)
                if spec.get("devices") == wanted["spec"]["devices"] and spec.get("driver") == self._driver:
                    _log.debug("ResourceSlice %s is up to date", self._name)
                else:
                    generation = int((spec.get("pool") or {}).get("generation") or 0) + 1
                    body = build_slice(
                        inventory,
                        driver=self._driver,
                        node_name=self._node,
                        generation=generation,
                        node_uid=self._node_owner_uid(),
                        resource_version=(current.get("metadata") or {}).get("resourceVersion"),
                    )
                    self._resource.replace_resource_slice(
                        self._name,
                        _as_model(V1ResourceSlice, body),
                        _preload_content=False,
                        _request_timeout=self._timeout,
                    )
                    _log.info(
                        "updated ResourceSlice %s: %d devices, pool generation %d",
                        self._name,
                        len(body["spec"]["devices"]),
                        generation,
                    )
        except ApiException as err:
            _log.warning("publishing ResourceSlice %s: %s %s", self._name, err.status, err.reason)
            return False
        except (HTTPError, OSError) as err:  # API server unreachable
            _log.warning("publishing ResourceSlice %s: %s", self._name, err)
            return False
        self._published = inventory
        return True

    def delete(self) -> None:
        """Remove the slice (when the driver is uninstalled for good)."""
        from kubernetes.client.exceptions import ApiException

        try:
            self._resource.delete_resource_slice(
                self._name, _preload_content=False, _request_timeout=self._timeout
            )
        except ApiException as err:
            if err.status != 404:
                _log.warning("deleting ResourceSlice %s: %s %s", self._name, err.status, err.reason)

    def _loop(self) -> None:
        version, inventory = self._watch.current()
        ok = self.publish(inventory)
        while not self._stop.is_set():
            # After a failure, retry after retry_interval even without a change.
            version, inventory = self._watch.wait(version, timeout=1.0 if ok else self._retry)
            if self._stop.is_set():
                break
            if inventory != self._published:
                ok = self.publish(inventory)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="cdikit-slice-publisher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 5)
