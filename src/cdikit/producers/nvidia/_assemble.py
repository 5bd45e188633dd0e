"""Spec assembly as the reference does it: dedupe, simplify, sort, merged ``all``, version.

* dedupe: identical nodes/mounts/hooks (compared as their JSON), env strings, gids;
* simplify: a device entry identical to a spec-level one is dropped, unless the
  device would become empty;
* sort: nodes and mounts by path depth, then path; devices by name (plain string order);
* ``all``: every device's edits merged (skipped if a device is already called ``all``
  or the only device is ``none``);
* version: the minimum the content needs (``cdikit.spec.version``), unless pinned.
"""

from __future__ import annotations

import os

from cdikit._rootfs import Root
from cdikit.producers.nvidia._errors import GenerateError
from cdikit.spec.plain import ContainerEdits, Device, DeviceNode, Hook, Mount, Spec, identity

TYPE_CHECKING = False  # not typing's (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import TypeVar

    T = TypeVar("T")

__all__ = [
    "IPC_OPTIONS",
    "RO_OPTIONS",
    "assemble",
    "make_edits",
    "merge",
    "node_gids",
    "normalise",
    "ro_mount",
    "with_version",
    "without_common",
]

RO_OPTIONS = ["ro", "nosuid", "nodev", "rbind", "rprivate"]
IPC_OPTIONS = ["nosuid", "nodev", "rbind", "rprivate", "noexec"]


def ro_mount(root: Root, rel: str, container: str | None = None) -> Mount:
    return Mount(host_path=root.host(rel), container_path=container or rel, options=list(RO_OPTIONS))


def node_gids(nodes: Iterable[DeviceNode]) -> list[int]:
    """Groups a container needs for nodes that are not world read-write (reference rule)."""
    out = set()
    for n in nodes:
        if n.gid and n.file_mode is not None and n.file_mode & 0o006 != 0o006:
            out.add(n.gid)
    return sorted(out)


def make_edits(
    env: Sequence[str] = (),
    nodes: Sequence[DeviceNode] = (),
    hooks: Sequence[Hook | None] = (),
    mounts: Sequence[Mount] = (),
    gids: Sequence[int] = (),
) -> ContainerEdits:
    real_hooks = [h for h in hooks if h is not None]
    return ContainerEdits(
        env=list(env) or None,
        device_nodes=list(nodes) or None,
        hooks=real_hooks or None,
        mounts=list(mounts) or None,
        additional_gids=list(gids) or None,
    )


def _ident(item: object) -> object:
    """Identity for deduplication: records compare as their JSON (as the reference does)."""
    if isinstance(item, str | int):
        return item
    return identity(item)


def _dedupe(items: list[T] | None) -> list[T] | None:
    if not items:
        return None
    seen: dict[object, T] = {}
    for item in items:
        seen.setdefault(_ident(item), item)
    return list(seen.values())


def _depth_key(path: str) -> tuple[int, str]:
    return (os.path.normpath(path).count("/"), path)


def normalise(e: ContainerEdits) -> ContainerEdits:
    """Deduplicate and sort the way the reference does (nodes/mounts by depth then path)."""
    nodes = _dedupe(e.device_nodes)
    mounts = _dedupe(e.mounts)
    return ContainerEdits(
        env=_dedupe(e.env),
        device_nodes=sorted(nodes, key=lambda n: _depth_key(n.path)) if nodes else None,
        hooks=_dedupe(e.hooks),
        mounts=sorted(mounts, key=lambda m: _depth_key(m.container_path)) if mounts else None,
        additional_gids=sorted(set(e.additional_gids)) if e.additional_gids else None,
    )


def merge(edits: Iterable[ContainerEdits]) -> ContainerEdits:
    env: list[str] = []
    nodes: list[DeviceNode] = []
    hooks: list[Hook] = []
    mounts: list[Mount] = []
    gids: list[int] = []
    for e in edits:
        env += e.env or []
        nodes += e.device_nodes or []
        hooks += e.hooks or []
        mounts += e.mounts or []
        gids += e.additional_gids or []
    return normalise(make_edits(env, nodes, hooks, mounts, gids))


def without_common(dev: ContainerEdits, common: ContainerEdits) -> ContainerEdits:
    """Drop device entries already present at spec level, unless that empties the device."""

    def keep(items: list[T] | None, spec_items: Sequence[object] | None) -> list[T] | None:
        if not items:
            return None
        have = {_ident(i) for i in spec_items or ()}
        return [i for i in items if _ident(i) not in have] or None

    slim = ContainerEdits(
        env=keep(dev.env, common.env),
        device_nodes=keep(dev.device_nodes, common.device_nodes),
        hooks=keep(dev.hooks, common.hooks),
        mounts=keep(dev.mounts, common.mounts),
        additional_gids=keep(dev.additional_gids, common.additional_gids),
    )
    return dev if slim.is_empty() else slim


def assemble(
    kind: str,
    devices: list[tuple[str, ContainerEdits]],
    common: ContainerEdits,
    *,
    no_all_device: bool = False,
    spec_version: str | None = None,
    warnings: list[str] | None = None,
) -> Spec:
    """The spec of ``kind`` from ``(name, edits)`` devices and the spec-level edits.

    ``NVIDIA_VISIBLE_DEVICES=void`` is added at spec level (so a runtime hook never
    injects GPUs a second time); the first device of a name wins.
    """
    common = normalise(
        ContainerEdits(
            env=[*(common.env or []), "NVIDIA_VISIBLE_DEVICES=void"],
            device_nodes=common.device_nodes,
            hooks=common.hooks,
            mounts=common.mounts,
            additional_gids=common.additional_gids,
        )
    )
    entries: dict[str, ContainerEdits] = {}
    for name, edits in devices:
        entries.setdefault(name, without_common(normalise(edits), common))
    only_none = list(entries) == ["none"]
    if not no_all_device and "all" not in entries and entries and not only_none:
        entries["all"] = without_common(merge(entries.values()), common)
    spec_devices = [Device(name=n, container_edits=entries[n]) for n in sorted(entries)]
    spec = Spec(
        cdi_version="",
        kind=kind,
        devices=spec_devices,
        container_edits=None if common.is_empty() else common,
    )
    return with_version(spec, spec_version, warnings)


def with_version(spec: Spec, requested: str | None, warnings: list[str] | None = None) -> Spec:
    """Set ``cdiVersion``: the minimum the content needs, or ``requested``.

    A ``requested`` version below the minimum is met by dropping
    ``additionalGids`` (podman 4.3 loads 0.5.0 at most), each drop reported in
    ``warnings``; other content the version cannot express is an error.
    """
    from cdikit.errors import VersionError
    from cdikit.spec.version import KNOWN_VERSIONS, fit_version, minimum_version, version_key

    minimum = minimum_version(spec)
    if requested:
        wanted = requested.removeprefix("v")
        if wanted not in KNOWN_VERSIONS:
            raise GenerateError(f"unknown CDI spec version {requested!r}", field="cdiVersion")
        if version_key(wanted) < version_key(minimum):
            try:
                dropped = fit_version(spec, wanted)
            except VersionError:
                raise GenerateError(
                    f"the generated spec needs CDI version {minimum} or later, not {wanted}",
                    field="cdiVersion",
                ) from None
            if warnings is not None:
                warnings.extend(dropped)
        minimum = wanted
    spec.cdi_version = minimum
    return spec
