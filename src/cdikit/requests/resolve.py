"""Resolving device requests against a registry, under an allow policy.

Resolution follows BuildKit's ``cdidevices.Manager.parseDevice`` (the device
list is the registry's, sorted byte-wise, so "the first device of a kind" is
the first in sorted order, not in file order), and the policy check follows
``llbsolver.ValidateEntitlements``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cdikit.names import parse_qualifier
from cdikit.requests._errors import RequestError
from cdikit.requests._registry import RegistryLike, kinds_present, merged_annotations
from cdikit.requests.ondemand import OnDemandProviders
from cdikit.requests.policy import CLASS_ANNOTATION, AllowPolicy, not_allowed_error
from cdikit.requests.request import DeviceRequest

__all__ = ["DeviceListing", "RequestResult", "Resolution", "Resolver", "expand_names"]


@dataclass(frozen=True, slots=True)
class RequestResult:
    """What one request resolved to; ``note`` explains an empty or on-demand result."""

    request: DeviceRequest
    devices: tuple[str, ...]
    note: str | None = None
    alias_of: str | None = None


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving requests: ``devices`` to inject, deduplicated, in request order."""

    devices: list[str]
    results: list[RequestResult]
    notes: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeviceListing:
    """One row of a device listing, like ``docker buildx inspect``'s ``Devices:``."""

    name: str
    auto_allowed: bool
    on_demand: bool
    annotations: dict[str, str]


def _dedup(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _needs_expansion(name: str) -> bool:
    """Whether ``name`` is a kind-only (``vendor/class``), ``vendor/class=*`` or class-alias request."""
    _, sep, device = name.partition("=")
    return not sep or device == "*"


def expand_names(registry: RegistryLike, names: Iterable[str]) -> list[str]:
    """Qualified device names for ``names``, with BuildKit's rules and no policy or on-demand setup.

    A kind alone selects its first device in sorted order, ``vendor/class=*``
    all devices of the kind, a bare alias the devices whose ``cdi.k8s.io/class``
    annotation names it. Plain qualified names pass through untouched, and a
    request that resolves to nothing is kept as given, so that
    :meth:`~cdikit.registry.Registry.inject_devices` reports it as unresolvable.
    This is what ``cdi-runtime`` does with ``CDI_DEVICES=nvidia.com/gpu``.
    """
    expanded: list[str] = []
    resolver: Resolver | None = None
    for name in names:
        if not _needs_expansion(name):
            expanded.append(name)
            continue
        if resolver is None:
            resolver = Resolver(registry)
        found = resolver.find(DeviceRequest(name, optional=True), on_demand=False).devices
        expanded.extend(found or (name,))
    return _dedup(expanded)


class Resolver:
    """Resolves :class:`DeviceRequest` s to qualified device names.

    ``policy`` None means no policy is enforced (every resolved device is
    allowed); ``providers`` None means no on-demand devices.
    """

    def __init__(
        self,
        registry: RegistryLike,
        *,
        policy: AllowPolicy | None = None,
        providers: OnDemandProviders | None = None,
    ) -> None:
        self.registry = registry
        self.policy = policy
        self.providers = providers if providers is not None else OnDemandProviders()
        # Kinds set up on demand by this resolver: auto-allowed like BuildKit does,
        # even if the written spec's annotation were later edited away.
        self._on_demand_kinds: set[str] = set()

    # -- finding -----------------------------------------------------------------

    def _all(self) -> list[str]:
        # Go's sort.Strings is byte-wise; for str, code-point order is the same.
        return sorted(self.registry.list_devices())

    def _by_class(self, alias: str, all_devices: list[str]) -> list[str]:
        get = self.registry.get_device
        return [d for d in all_devices if merged_annotations(get(d)).get(CLASS_ANNOTATION) == alias]

    def _match(self, name: str, all_devices: list[str]) -> list[str]:
        kind, _, dev = name.partition("=")
        vendor, _ = parse_qualifier(kind)
        out: list[str] = []
        if vendor:
            prefix = kind + "="
            if dev == "":
                first = next((d for d in all_devices if d.startswith(prefix)), None)
                out = [first] if first is not None else []
            elif dev == "*":
                out = [d for d in all_devices if d.startswith(prefix)]
            elif name in all_devices:
                out = [name]
        if not out:
            # BuildKit: a bare alias, or a qualified request that matched nothing,
            # selects devices whose merged class annotation equals the whole request.
            out = self._by_class(name, all_devices)
        return out

    def _maybe_on_demand(self, name: str, written: list[str], notes: list[str]) -> bool:
        """Set up the request's kind on demand when no spec provides it; whether it ran."""
        kind = name.partition("=")[0]
        if kind not in self.providers or kind in kinds_present(self.registry):
            return False
        path = self.providers.setup(kind, self.registry)
        self._on_demand_kinds.add(kind)
        if path is not None:
            written.append(path)
            notes.append(f"on-demand device {kind} set up: wrote {path}")
        return True

    def find(
        self, request: DeviceRequest | str, *, on_demand: bool = True, _state: _State | None = None
    ) -> RequestResult:
        """Resolve one request without the policy; raises :class:`RequestError` if required and empty."""
        if isinstance(request, str):
            request = DeviceRequest(request)
        state = _state or _State()
        note = None
        if on_demand and self._maybe_on_demand(request.name, state.written, state.notes):
            state.all_devices = None
        if state.all_devices is None:
            state.all_devices = self._all()
        found = self._match(request.name, state.all_devices)
        if not found:
            if not request.optional:
                raise RequestError(f"required device {request.name!r} is not registered", device=request.name)
            note = f"optional device {request.name!r} is not registered; dropped"
            state.notes.append(note)
        return RequestResult(request, tuple(found), note)

    # -- resolving under the policy ----------------------------------------------

    def _allowed(self, name: str, granted: set[str]) -> bool:
        assert self.policy is not None
        if name in granted:
            return True
        kind = name.partition("=")[0]
        if kind in self._on_demand_kinds:
            return True
        return self.policy.is_auto_allowed(name, merged_annotations(self.registry.get_device(name)))

    def _granted_by(self, grant: str, all_devices: list[str]) -> list[str]:
        # Deliberate difference: BuildKit resolves a grant like a request, so a
        # kind grant covers only the kind's *first* device and a "kind=*"
        # request under it fails; here a kind grant covers the whole kind.
        kind, eq, _ = grant.partition("=")
        if not eq and parse_qualifier(kind)[0]:
            return [d for d in all_devices if d.startswith(kind + "=")]
        return self._match(grant, all_devices)

    def resolve(self, requests: Sequence[DeviceRequest | str]) -> Resolution:
        """Resolve ``requests`` and check them against the policy.

        Raises :class:`RequestError` for a required request that resolves to
        nothing and :class:`DeviceNotAllowedError` naming every forbidden device.
        """
        state = _State()
        results: list[RequestResult] = []
        checked: list[str] = []
        for raw in requests:
            request = DeviceRequest(raw) if isinstance(raw, str) else raw
            target = self.policy.alias_target(request.name) if self.policy else None
            if target is not None:
                # An alias grant rewrites the request and allows what it resolves to.
                aliased = DeviceRequest(target, request.optional)
                result = self.find(aliased, _state=state)
                results.append(RequestResult(request, result.devices, result.note, alias_of=target))
                continue
            result = self.find(request, _state=state)
            results.append(result)
            checked.extend(result.devices)
        if self.policy is not None and not self.policy.allow_all and checked:
            granted: set[str] = set()
            all_devices = self._all()
            for grant in self.policy.plain_grants():
                granted.update(self._granted_by(grant, all_devices))
            forbidden = [d for d in _dedup(checked) if not self._allowed(d, granted)]
            if forbidden:
                raise not_allowed_error(forbidden)
        devices = _dedup(d for r in results for d in r.devices)
        return Resolution(devices=devices, results=results, notes=state.notes, written=state.written)

    # -- listing -----------------------------------------------------------------

    def list_devices(self) -> list[DeviceListing]:
        """Every device (sorted), then every on-demand kind not yet provided and available."""
        policy = self.policy or AllowPolicy()
        rows: list[DeviceListing] = []
        kinds: set[str] = set()
        for name in self._all():
            kind = name.partition("=")[0]
            kinds.add(kind)
            annotations = merged_annotations(self.registry.get_device(name))
            auto = kind in self._on_demand_kinds or policy.is_auto_allowed(name, annotations)
            rows.append(DeviceListing(name, auto, False, annotations))
        for kind in self.providers.kinds():
            provider = self.providers.get(kind)
            if kind in kinds or provider is None or not provider.available():
                continue
            rows.append(DeviceListing(kind, True, True, {}))
        return rows


@dataclass
class _State:
    """Per-call scratch: the sorted device list (None = stale) and what on-demand setups did."""

    all_devices: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
