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

from _thread import LockType, allocate_lock

from cdikit.errors import CDIError, InvalidNameError, RegistryError
from cdikit.names import parse_qualifier, validate_class_name, validate_vendor_name
from cdikit.requests._autoallow import AUTO_ALLOW_ANNOTATION
from cdikit.requests._errors import OnDemandError, RequestError

# Not typing's TYPE_CHECKING, and plain classes rather than dataclasses: ``cdi devices``
# builds the providers on every run, and those imports would cost more than the listing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from cdikit.requests._registry import RegistryLike
    from cdikit.spec.types import Spec

__all__ = ["OnDemandProvider", "OnDemandProviders"]


def _always() -> bool:
    return True


class OnDemandProvider:
    """How to produce the spec of one kind (immutable, compared by its fields).

    ``available`` says whether the provider can run on this host (BuildKit's
    ``Validate``); ``spec_name`` is the file name to write (default
    ``vendor-class``).
    """

    __slots__ = ("available", "generate", "kind", "spec_name")

    kind: str
    generate: Callable[[], Spec]
    available: Callable[[], bool]
    spec_name: str | None

    def __init__(
        self,
        kind: str,
        generate: Callable[[], Spec],
        available: Callable[[], bool] = _always,
        spec_name: str | None = None,
    ) -> None:
        for name, value in (
            ("kind", kind),
            ("generate", generate),
            ("available", available),
            ("spec_name", spec_name),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _fields(self) -> tuple[object, ...]:
        return (self.kind, self.generate, self.available, self.spec_name)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, OnDemandProvider)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"OnDemandProvider(kind={self.kind!r}, generate={self.generate!r}, "
            f"available={self.available!r}, spec_name={self.spec_name!r})"
        )


class OnDemandProviders:
    """Providers keyed by kind, with at most one setup per kind at a time."""

    def __init__(self) -> None:
        self._providers: dict[str, OnDemandProvider] = {}
        self._locks: dict[str, LockType] = {}
        self._guard = allocate_lock()

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

    def _lock(self, kind: str) -> LockType:
        with self._guard:
            return self._locks.setdefault(kind, allocate_lock())

    def setup(self, kind: str, registry: RegistryLike) -> str | None:
        """Generate, write and load the spec of ``kind``; the path written.

        Returns None when a spec already provides the kind (nothing to do).
        Raises :class:`OnDemandError` naming the kind on any failure.
        """
        from cdikit.requests._registry import kinds_present

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
