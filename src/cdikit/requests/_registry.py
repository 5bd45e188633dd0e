"""What the requests layer needs of a registry (a structural view of ``cdikit.registry.Registry``).

Typing against this protocol keeps ``cdikit.requests`` import-cheap and lets
any object with the same small surface stand in for the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cdikit.spec.types import Device, Spec

__all__ = ["RegistryLike", "ResolvedDeviceLike", "kinds_present", "merged_annotations"]


class _SpecFileLike(Protocol):
    @property
    def spec(self) -> Spec: ...


class ResolvedDeviceLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def device(self) -> Device: ...

    @property
    def spec(self) -> _SpecFileLike: ...


class RegistryLike(Protocol):
    def list_devices(self) -> list[str]: ...

    def get_device(self, qualified: str) -> ResolvedDeviceLike | None: ...

    def write_spec(self, spec: Spec, name: str) -> str: ...

    def refresh(self) -> None: ...


def kinds_present(registry: RegistryLike) -> set[str]:
    """Every kind (``vendor/class``) the registry currently resolves devices of."""
    return {name.partition("=")[0] for name in registry.list_devices()}


def merged_annotations(resolved: ResolvedDeviceLike | None) -> dict[str, str]:
    """Spec annotations overlaid by device annotations (the device wins), as BuildKit merges them."""
    if resolved is None:
        return {}
    out = dict(resolved.spec.spec.annotations or {})
    out.update(resolved.device.annotations or {})
    return out
