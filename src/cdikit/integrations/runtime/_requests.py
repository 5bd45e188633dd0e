"""Which CDI devices a container asks for, read from its OCI runtime spec.

Three sources, in this order of precedence:

1. annotations whose key starts with one of the configured prefixes
   (``cdi.k8s.io/`` by default), with the reference library's verdicts;
2. the container env var ``CDI_DEVICES`` (comma-separated qualified names);
3. the NVIDIA-compatible ``NVIDIA_VISIBLE_DEVICES`` (``all``, ``none``,
   ``void``, indices, UUIDs, MIG ``gpu:mig``, qualified names), whose bare ids
   get the default kind (``nvidia.com/gpu=<id>``).

Sources 1 and 2 are explicit CDI requests and are combined. Source 3 is read
only when they are both empty: CUDA images set ``NVIDIA_VISIBLE_DEVICES=all``
in their env, and that must not add every GPU to a container that asked for
specific CDI devices (the NVIDIA runtime gives annotations the same priority).
"""

from __future__ import annotations

from cdikit.integrations.runtime._errors import ShimError

# The create path of the shim is latency-sensitive: typing, re (via
# cdikit.names) and the annotation helpers load only when there is something
# for them to check.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = [
    "DeviceRequests",
    "collect_requests",
    "env_lookup",
    "from_annotations",
    "from_cdi_env",
    "from_nvidia_env",
]


class DeviceRequests:
    """The requested device names, in order and without duplicates.

    ``optional`` names are dropped (not an error) when the registry does not
    know them (no source marks any today: ``NVIDIA_VISIBLE_DEVICES=none`` asks
    for ``<kind>=none`` and fails when no spec provides it, as nvidia's runtime).
    ``source`` says where they came from (for the log).
    """

    __slots__ = ("names", "optional", "source")

    def __init__(self, names: Sequence[str] = (), *, optional: Sequence[str] = (), source: str = "") -> None:
        self.names: list[str] = list(dict.fromkeys(names))
        self.optional: set[str] = set(optional)
        self.source = source if self.names else ""

    def __bool__(self) -> bool:
        return bool(self.names)


def env_lookup(env: Sequence[str] | None, name: str) -> str | None:
    """The value of ``name`` in an OCI ``process.env`` list (the last entry wins, as in execve)."""
    value: str | None = None
    prefix = name + "="
    for entry in env or ():
        if entry.startswith(prefix):
            value = entry[len(prefix) :]
    return value


def from_annotations(annotations: Mapping[str, str] | None, prefixes: Sequence[str]) -> list[str]:
    """Device names from annotations under any of ``prefixes`` (keys in sorted order).

    Each prefix is read with :func:`cdikit.annotations.parse_annotations`, so
    a value that is not a qualified name is refused exactly as the reference
    library refuses it.
    """
    if not annotations:
        return []
    devices: list[str] = []
    for key in sorted(annotations):
        for prefix in prefixes:
            if prefix and key.startswith(prefix):
                from cdikit.annotations import ANNOTATION_PREFIX, parse_annotations
                from cdikit.errors import AnnotationError

                # Re-home the key under the standard prefix to reuse the reference verdicts.
                try:
                    _, found = parse_annotations({ANNOTATION_PREFIX + key[len(prefix) :]: annotations[key]})
                except AnnotationError as e:
                    raise ShimError(f"annotation {key!r}: {e}", field=f"annotations[{key!r}]") from e
                devices.extend(found)
                break
    return devices


def from_cdi_env(value: str | None, var: str) -> list[str]:
    """Device names from the ``CDI_DEVICES``-style env var (qualified names only)."""
    if not value:
        return []
    from cdikit.names import is_qualified_name

    names = [item.strip() for item in value.split(",") if item.strip()]
    for name in names:
        if not is_qualified_name(name):
            raise ShimError(
                f"env {var}: invalid CDI device name {name!r} (want vendor.com/class=name)",
                device=name,
                field=f"process.env[{var}]",
            )
    return names


def from_nvidia_env(
    value: str | None,
    default_kind: str,
    *,
    legacy_all: bool = False,
) -> DeviceRequests:
    """Device names for an ``NVIDIA_VISIBLE_DEVICES`` value.

    =====================  ====================================================
    value                  requests
    =====================  ====================================================
    unset                  nothing (``all`` for a legacy CUDA image: ``legacy_all``)
    ``""``, any ``void``   nothing
    ``all``                ``<kind>=all``
    ``none``               ``<kind>=none`` (unresolvable unless a spec has it)
    ``0,1``, ``0:1``       ``<kind>=0``, ``<kind>=1``; ``<kind>=0:1`` (MIG)
    ``GPU-…``, ``MIG-…``   ``<kind>=GPU-…`` (UUIDs)
    ``vendor.com/c=x``     passed through
    =====================  ====================================================

    The first ``all`` or ``none`` element decides for the whole list, as in the
    NVIDIA runtime.
    """
    if value is None:
        value = "all" if legacy_all else ""
    ids = [item.strip() for item in value.split(",")]
    ids = [item for item in ids if item]
    if not ids or "void" in ids:
        return DeviceRequests(source="nvidia-env")
    for item in ids:
        if item == "all":
            return DeviceRequests([f"{default_kind}=all"], source="nvidia-env")
        if item == "none":
            # A spec (or JIT-CDI) must provide <kind>=none, else the container fails
            # to start with "unresolvable CDI devices", exactly as nvidia's runtime.
            return DeviceRequests([f"{default_kind}=none"], source="nvidia-env")
    names = [item if "/" in item else f"{default_kind}={item}" for item in ids]
    return DeviceRequests(names, source="nvidia-env")


def collect_requests(
    oci: Mapping[str, Any],
    *,
    annotation_prefixes: Sequence[str],
    env_var: str,
    nvidia_env_var: str,
    default_kind: str,
) -> DeviceRequests:
    """All device requests of one container (see the module docstring for the rules)."""
    explicit = from_annotations(oci.get("annotations"), annotation_prefixes)
    process = oci.get("process") or {}
    env = process.get("env") if isinstance(process, dict) else None
    if env_var:
        explicit += from_cdi_env(env_lookup(env, env_var), env_var)
    if explicit:
        return DeviceRequests(explicit, source="annotations+" + (env_var or "-"))
    if not nvidia_env_var:
        return DeviceRequests()
    value = env_lookup(env, nvidia_env_var)
    # An image built for the legacy NVIDIA hook (CUDA_VERSION without
    # NVIDIA_REQUIRE_CUDA) expects every GPU when the variable is unset.
    legacy = (
        value is None
        and env_lookup(env, "CUDA_VERSION") is not None
        and env_lookup(env, "NVIDIA_REQUIRE_CUDA") is None
    )
    return from_nvidia_env(value, default_kind, legacy_all=legacy)
