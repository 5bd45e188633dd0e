"""CDI spec versions: the known list, the minimum a spec's content needs, the version check.

Mirrors ``specs-go/version.go`` of the reference (v1.1.0).
"""

from __future__ import annotations

from cdikit._text import go_quote
from cdikit.errors import VersionError

TYPE_CHECKING = False  # not typing's: version checks need neither typing nor msgspec
if TYPE_CHECKING:
    from cdikit.spec.types import ContainerEdits, Spec

__all__ = [
    "CURRENT_VERSION",
    "KNOWN_VERSIONS",
    "fit_version",
    "minimum_version",
    "validate_version",
    "version_key",
]

CURRENT_VERSION = "1.1.0"
KNOWN_VERSIONS: tuple[str, ...] = (
    "0.1.0",
    "0.2.0",
    "0.3.0",
    "0.4.0",
    "0.5.0",
    "0.6.0",
    "0.7.0",
    "0.8.0",
    "1.0.0",
    "1.1.0",
)
_KNOWN = frozenset(KNOWN_VERSIONS)
_RANK = {v: i for i, v in enumerate(KNOWN_VERSIONS)}


def version_key(version: str) -> tuple[int, ...]:
    """Sort key for a known version string (with or without a leading ``v``)."""
    return tuple(int(p) for p in version.removeprefix("v").split("."))


def _edits_minimum(edits: ContainerEdits | None, current: int) -> int:
    if edits is None:
        return current
    rank = current
    if edits.mounts and rank < _RANK["0.4.0"]:
        for m in edits.mounts:
            if m.type:
                rank = _RANK["0.4.0"]
                break
    if edits.device_nodes and rank < _RANK["0.5.0"]:
        for n in edits.device_nodes:
            if n.host_path:
                rank = _RANK["0.5.0"]
                break
    if rank < _RANK["0.7.0"] and (edits.intel_rdt is not None or edits.additional_gids):
        rank = _RANK["0.7.0"]
    rdt = edits.intel_rdt
    if rdt is not None and (rdt.schemata is not None or rdt.enable_monitoring):
        rank = _RANK["1.1.0"]
    if edits.net_devices:
        rank = _RANK["1.1.0"]
    return rank


def minimum_version(spec: Spec) -> str:
    """The lowest spec version able to express ``spec`` (never below 0.3.0)."""
    rank = _RANK["0.3.0"]
    if spec.annotations:
        rank = max(rank, _RANK["0.6.0"])
    _, _, cls = spec.kind.partition("/")
    if "." in cls:
        rank = max(rank, _RANK["0.6.0"])
    rank = _edits_minimum(spec.container_edits, rank)
    for dev in spec.devices or ():
        if dev.name[:1].isascii() and dev.name[:1].isdigit():
            rank = max(rank, _RANK["0.5.0"])
        if dev.annotations:
            rank = max(rank, _RANK["0.6.0"])
        rank = _edits_minimum(dev.container_edits, rank)
    return KNOWN_VERSIONS[rank]


def normalize_version(version: str) -> str | None:
    """The known version ``version`` names (``v1.1.0`` -> ``1.1.0``), or None."""
    bare = version[1:] if version.startswith("v") else version
    return bare if bare in _KNOWN else None


def validate_version(spec: Spec) -> None:
    """The reference's version check: a known version, at least the content's minimum."""
    declared = normalize_version(spec.cdi_version)
    if declared is None:
        raise VersionError(f"invalid version {go_quote(spec.cdi_version)}", field="cdiVersion")
    minimum = minimum_version(spec)
    if _RANK[declared] < _RANK[minimum]:
        raise VersionError(f"the spec version must be at least v{minimum}", field="cdiVersion")


def fit_version(spec: Spec, target: str) -> list[str]:
    """Make ``spec`` loadable as ``cdiVersion`` ``target`` by dropping what that version lacks.

    Only ``additionalGids`` (0.7.0) can be dropped without changing what a
    device is: the groups only let a non-root container user open nodes that
    are not world-accessible (``--group-add`` does the same). Anything else
    the version lacks raises :class:`VersionError`. Returns one message per
    dropped entry; sets ``spec.cdi_version`` to ``target``. Consumers built on
    CDI library 0.5 (podman 4.3) load 0.5.0 at most.
    """
    wanted = normalize_version(target)
    if wanted is None:
        raise VersionError(f"invalid version {go_quote(target)}", field="cdiVersion")
    dropped: list[str] = []
    if _RANK[minimum_version(spec)] > _RANK[wanted] and _RANK[wanted] < _RANK["0.7.0"]:
        holders = [("spec", spec.container_edits)] + [
            (f"device {d.name}", d.container_edits) for d in spec.devices or ()
        ]
        for where, edits in holders:
            if edits is not None and edits.additional_gids:
                gids = ", ".join(str(g) for g in edits.additional_gids)
                dropped.append(
                    f"{where}: dropped additionalGids [{gids}] (cdiVersion 0.7.0); a non-root container "
                    f"user needs --group-add {gids.replace(', ', ' --group-add ')} instead"
                )
                edits.additional_gids = None
    minimum = minimum_version(spec)
    if _RANK[minimum] > _RANK[wanted]:
        raise VersionError(
            f"the spec needs cdiVersion {minimum} or later, not {wanted} (only additionalGids can be dropped)",
            field="cdiVersion",
        )
    spec.cdi_version = wanted
    return dropped
