"""The node's device inventory as the Kubernetes plugins see it, and a watch that reports its changes.

Both plugins and the ResourceSlice publisher read the same thing: the devices of the CDI registry,
grouped by kind, restricted to the configured kinds, without the conventional ``all`` device unless
asked, and without the transient per-claim devices the DRA plugin writes itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cdikit.errors import CDIError
from cdikit.names import parse_qualified_name

__all__ = [
    "CLAIM_ANNOTATION",
    "DeviceWatch",
    "Inventory",
    "RegistryLike",
    "dra_device_name",
    "dra_device_names",
    "take_inventory",
]

_log = logging.getLogger("cdikit.kube")

# Spec-level annotation carried by the transient specs the DRA plugin writes: marks their devices as
# claim-private so they are never advertised as node devices themselves.
CLAIM_ANNOTATION = "cdikit.io/claim-uid"


class RegistryLike(Protocol):
    """The part of :class:`cdikit.registry.Registry` the Kubernetes plugins use."""

    def refresh(self) -> None: ...

    def list_devices(self) -> list[str]: ...

    def get_device(self, qualified: str) -> Any: ...

    def write_spec(self, spec: Any, name: str) -> str: ...

    def remove_spec(self, name: str) -> None: ...


@dataclass(frozen=True)
class Inventory:
    """Device names per kind: ``{"vendor.com/class": ("dev0", "dev1")}``, each tuple sorted."""

    kinds: Mapping[str, tuple[str, ...]]

    def devices(self, kind: str) -> tuple[str, ...]:
        return self.kinds.get(kind, ())

    def qualified_names(self) -> list[str]:
        return [f"{kind}={name}" for kind in sorted(self.kinds) for name in self.kinds[kind]]


def _is_transient(registry: RegistryLike, qualified: str) -> bool:
    resolved = registry.get_device(qualified)
    if resolved is None:
        return False
    annotations = getattr(getattr(resolved.spec, "spec", None), "annotations", None) or {}
    return CLAIM_ANNOTATION in annotations


def take_inventory(registry: RegistryLike, kinds: Sequence[str] | None, *, include_all: bool) -> Inventory:
    """The registry's devices of ``kinds`` (every kind when None or empty)."""
    wanted = set(kinds) if kinds else None
    grouped: dict[str, list[str]] = {kind: [] for kind in wanted or ()}
    for qualified in registry.list_devices():
        vendor, cls, name = parse_qualified_name(qualified)
        kind = f"{vendor}/{cls}"
        if wanted is not None and kind not in wanted:
            continue
        if name == "all" and not include_all:
            continue
        if _is_transient(registry, qualified):
            continue
        grouped.setdefault(kind, []).append(name)
    return Inventory({kind: tuple(sorted(names)) for kind, names in grouped.items()})


class DeviceWatch:
    """Keeps the current :class:`Inventory` and wakes waiters when it changes.

    Changes arrive through the registry's listener (``add_listener``) when it has one; a poll every
    ``interval`` seconds (which also refreshes a registry that has no listener) is the safety net, so a
    missed notification delays an update by at most one interval.
    """

    def __init__(
        self,
        registry: RegistryLike,
        kinds: Sequence[str] | None = None,
        *,
        include_all: bool = False,
        interval: float = 1.0,
    ) -> None:
        self._registry = registry
        self._kinds = list(kinds or ())
        self._include_all = include_all
        self._interval = interval
        self._cond = threading.Condition()
        self._version = 0
        self._inventory = Inventory({})
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribers: list[Callable[[], None]] = []
        add_listener: Callable[[Callable[..., None]], object] | None = getattr(registry, "add_listener", None)
        self._listening = add_listener is not None
        if add_listener is not None:
            add_listener(self._on_registry_change)
        self._update()

    def _on_registry_change(self, *_args: object, **_kwargs: object) -> None:
        self._wake.set()

    def _update(self) -> None:
        if not self._listening:
            try:
                self._registry.refresh()
            except CDIError as err:
                # Broken spec files drop out of the registry; the rest stays served.
                _log.warning("registry refresh: %s", err)
        try:
            inventory = take_inventory(self._registry, self._kinds, include_all=self._include_all)
        except CDIError as err:
            _log.warning("reading the registry: %s", err)
            return
        with self._cond:
            changed = inventory != self._inventory
            if changed:
                self._inventory = inventory
                self._version += 1
                self._cond.notify_all()
        if changed:
            self._notify_subscribers()

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the watch's thread; it must not block) after each change and on stop."""
        with self._cond:
            self._subscribers.append(callback)

    def _notify_subscribers(self) -> None:
        with self._cond:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception:  # a subscriber's bug must not stop the watch
                _log.exception("device watch subscriber failed")

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._update()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="cdikit-device-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        remove_listener = getattr(self._registry, "remove_listener", None)
        if self._listening and remove_listener is not None:
            with contextlib.suppress(ValueError):  # already removed
                remove_listener(self._on_registry_change)
            self._listening = False
        self._stop.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()
        self._notify_subscribers()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def poke(self) -> None:
        """Re-read the registry now (after this process changed it)."""
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def current(self) -> tuple[int, Inventory]:
        with self._cond:
            return self._version, self._inventory

    def wait(self, version: int, timeout: float) -> tuple[int, Inventory]:
        """The inventory once its version differs from ``version``, or the current one after ``timeout``."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != version or self._stop.is_set(), timeout=timeout)
            return self._version, self._inventory


_DNS_LABEL_MAX = 63


def dra_device_name(qualified: str) -> str:
    """The ResourceSlice device name (a DNS label) for a CDI device: ``<class>-<name>``, lower-cased.

    Characters a DNS label cannot hold become ``-``; when that loses information (or the name is too
    long) a hash of the full CDI name is appended so that two CDI devices never share a DRA name.
    """
    _vendor, cls, name = parse_qualified_name(qualified)
    raw = f"{cls}-{name}"
    label = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in raw.lower()).strip("-")
    if label == raw and len(label) <= _DNS_LABEL_MAX:
        return label
    suffix = hashlib.sha256(qualified.encode()).hexdigest()[:8]
    return f"{label[: _DNS_LABEL_MAX - len(suffix) - 1].rstrip('-')}-{suffix}".lstrip("-")


def dra_device_names(inventory: Inventory) -> dict[str, str]:
    """``{dra_name: qualified_cdi_name}`` for every device; kinds sharing a class get hashed names."""
    qualified = inventory.qualified_names()
    names: dict[str, str] = {}
    clashing: set[str] = set()
    for q in qualified:
        label = dra_device_name(q)
        if label in names:
            clashing.add(label)
        names[label] = q
    if clashing:
        for q in qualified:
            label = dra_device_name(q)
            if label in clashing:
                names.pop(label, None)
                names[f"{label[:54]}-{hashlib.sha256(q.encode()).hexdigest()[:8]}"] = q
    return names
