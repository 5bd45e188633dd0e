"""On-demand devices: specs generated the first time a request names their kind.

A provider is a callable returning a :class:`~cdikit.spec.types.Spec` for one
kind. This layer knows only the protocol: producers supply providers and the
caller registers them (``cdikit.producers.default_providers()`` gives the
built-in ones, ``nvidia.com/gpu`` -> the NVIDIA generator), as httpx's caller
chooses its transport. When a request names a
kind that no spec provides, :meth:`OnDemandProviders.setup` runs the provider,
writes the spec atomically into the registry's highest-priority spec dir,
refreshes the registry and lets resolution continue.

Unlike BuildKit (which remembers in memory only that the kind is
auto-allowed), the written spec carries the auto-allow annotation, so the
devices stay allowed across restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cdikit.errors import CDIError, InvalidNameError, RegistryError
from cdikit.names import parse_qualifier, validate_class_name, validate_vendor_name
from cdikit.requests._errors import OnDemandError, RequestError
from cdikit.requests._registry import RegistryLike, kinds_present
from cdikit.requests.policy import AUTO_ALLOW_ANNOTATION

if TYPE_CHECKING:
    from cdikit.spec.types import Spec

__all__ = ["OnDemandProvider", "OnDemandProviders"]


def _always() -> bool:
    return True


@dataclass(frozen=True)
class OnDemandProvider:
    """How to produce the spec of one kind.

    ``available`` says whether the provider can run on this host (BuildKit's
    ``Validate``); ``spec_name`` is the file name to write (default
    ``vendor-class``).
    """

    kind: str
    generate: Callable[[], Spec]
    available: Callable[[], bool] = _always
    spec_name: str | None = None


@dataclass
class OnDemandProviders:
    """Providers keyed by kind, with at most one setup per kind at a time."""

    _providers: dict[str, OnDemandProvider] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def register(
        self,
        kind: str,
        generate: Callable[[], Spec],
        *,
        available: Callable[[], bool] | None = None,
        spec_name: str | None = None,
    ) -> None:
        """Register ``generate`` as the provider of ``kind`` (replacing any earlier one)."""
        self.add(OnDemandProvider(kind, generate, available or _always, spec_name))

    def add(self, provider: OnDemandProvider) -> None:
        """Register a ready-made :class:`OnDemandProvider` (replacing any for its kind)."""
        vendor, cls = parse_qualifier(provider.kind)
        try:
            validate_vendor_name(vendor)
            validate_class_name(cls)
        except InvalidNameError as err:
            raise RequestError(f"invalid on-demand kind {provider.kind!r}: {err}", field="kind") from err
        self._providers[provider.kind] = provider

    def get(self, kind: str) -> OnDemandProvider | None:
        return self._providers.get(kind)

    def kinds(self) -> list[str]:
        """Registered kinds, sorted."""
        return sorted(self._providers)

    def __contains__(self, kind: object) -> bool:
        return kind in self._providers

    def _lock(self, kind: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(kind, threading.Lock())

    def setup(self, kind: str, registry: RegistryLike) -> str | None:
        """Generate, write and load the spec of ``kind``; the path written.

        Returns None when a spec already provides the kind (nothing to do).
        Raises :class:`OnDemandError` naming the kind on any failure.
        """
        provider = self._providers.get(kind)
        if provider is None:
            raise OnDemandError(f"no on-demand provider for {kind}", field="kind")
        with self._lock(kind):
            if kind in kinds_present(registry):
                return None
            if not provider.available():
                raise OnDemandError(f"failed to find preconditions for {kind} device", field="kind")
            try:
                spec = _with_auto_allow(provider.generate())
            except CDIError as err:
                raise OnDemandError(f"failed to create {kind} device: {err}", field="kind") from err
            if spec.kind != kind:
                raise OnDemandError(
                    f"failed to create {kind} device: the provider produced a spec of kind {spec.kind!r}",
                    field="kind",
                )
            vendor, cls = parse_qualifier(kind)
            name = provider.spec_name or f"{vendor}-{cls}"
            try:
                path = registry.write_spec(spec, name)
            except CDIError as err:
                raise OnDemandError(f"failed to create {kind} device: {err}", field="kind") from err
            try:
                registry.refresh()
            except RegistryError:
                # Refresh reports errors of *every* file; an unrelated broken spec
                # must not fail this setup. Whether ours loaded is checked next.
                pass
            if kind not in kinds_present(registry):
                raise OnDemandError(
                    f"failed to refresh CDI cache: {path} provides no {kind} devices",
                    path=path,
                    field="kind",
                )
            return path


def _with_auto_allow(spec: Spec) -> Spec:
    import msgspec

    annotations = dict(spec.annotations or {})
    annotations.setdefault(AUTO_ALLOW_ANNOTATION, "true")
    return msgspec.structs.replace(spec, annotations=annotations)
