"""Which CDI devices a container asks for, read from its OCI runtime spec.

Four sources, in this order of precedence:

1. annotations whose key starts with one of the configured prefixes
   (``cdi.k8s.io/`` by default), with the reference library's verdicts;
2. volume-mount requests (when accepted): ``/dev/null`` bound at
   ``/var/run/nvidia-container-devices/<id>``, as the NVIDIA device plugin
   asks for GPUs (``<id>`` is a bare id, or ``cdi/vendor/class/name``);
3. the container env var ``CDI_DEVICES`` (comma-separated qualified names);
4. the vendors' variables: the NVIDIA-compatible ``NVIDIA_VISIBLE_DEVICES``
   (``all``, ``none``, ``void``, indices, UUIDs, MIG ``gpu:mig``, qualified
   names), whose bare ids get the default kind (``nvidia.com/gpu=<id>``), and
   ROCm's ``AMD_VISIBLE_DEVICES`` (``all``, indices, ranges ``a-b``, unique
   ids), which name ``amd.com/gpu`` devices as ``cdi generate amd`` writes them.

Sources 1 to 3 are explicit requests and are combined. Source 4 is read
only when they are all empty: CUDA images set ``NVIDIA_VISIBLE_DEVICES=all``
in their env, and that must not add every GPU to a container that asked for
specific CDI devices (the NVIDIA runtime gives annotations the same priority).

The request policy: annotations and mounts are set by whoever creates the
container (engine, kubelet), the env by the image. Env requests (sources 3
and 4, and the legacy ``CUDA_VERSION`` rule) are honoured only for a
privileged container (:func:`is_privileged`) unless the configuration
accepts them from every container; ignored ones are reported in
:attr:`DeviceRequests.ignored` so the shim can log them.
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
    "VOLUME_MOUNT_ROOT",
    "DeviceRequests",
    "collect_requests",
    "env_lookup",
    "from_amd_env",
    "from_annotations",
    "from_cdi_env",
    "from_nvidia_env",
    "from_volume_mounts",
    "is_privileged",
    "kind_allowed",
    "not_allowed",
]

# Where the NVIDIA device plugin (volume-mounts strategy) asks for devices: /dev/null bound here.
VOLUME_MOUNT_ROOT = "/var/run/nvidia-container-devices"
_CAP_SYS_ADMIN = "CAP_SYS_ADMIN"
# A container's env var can be megabytes: logs quote at most this much of a value.
_LOG_VALUE_MAX = 80


class DeviceRequests:
    """The requested device names, in order and without duplicates.

    ``optional`` names are dropped (not an error) when the registry does not
    know them (no source marks any today: ``NVIDIA_VISIBLE_DEVICES=none`` asks
    for ``<kind>=none`` and fails when no spec provides it, as nvidia's runtime).
    ``source`` says where they came from (for the log).
    """

    __slots__ = ("ignored", "names", "optional", "source")

    def __init__(
        self,
        names: Sequence[str] = (),
        *,
        optional: Sequence[str] = (),
        source: str = "",
        ignored: Sequence[str] = (),
    ) -> None:
        self.names: list[str] = list(dict.fromkeys(names))
        self.optional: set[str] = set(optional)
        self.source = source if self.names else ""
        # Env requests the policy refused (``VAR=value`` shortened for the log).
        self.ignored: list[str] = list(ignored)

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


AMD_GPU_KIND = "amd.com/gpu"
_AMD_RANGE_MAX = 1024  # GPUs a range may name: bounded work for an image-chosen value


def from_amd_env(value: str | None, var: str = "AMD_VISIBLE_DEVICES") -> list[str]:
    """``amd.com/gpu`` names for an ``AMD_VISIBLE_DEVICES`` value, read as ROCm's runtime reads it.

    ``all``/``All``/``ALL``; a comma list of indices, ranges ``a-b`` and
    unique ids (``0x…`` or more than 8 hex digits, any case), which become
    the ``0x<HEX>`` names ``cdi generate amd`` gives each GPU (the grammar:
    :mod:`cdikit.producers.amd_visible`). Unset or empty: nothing. Anything
    else is an error naming the entry (ROCm's runtime refuses such a
    container too).
    """
    if not value:
        return []
    from cdikit.producers.amd_visible import ALL_VALUES, entries, uid_digits, unique_id_name

    if value in ALL_VALUES:
        return [f"{AMD_GPU_KIND}=all"]
    names: list[str] = []
    for kind, first, last, item in entries(value):
        if kind == "uid":
            names.append(f"{AMD_GPU_KIND}={unique_id_name(uid_digits(item))}")
        elif kind == "index" or (kind == "range" and last <= first + _AMD_RANGE_MAX):
            names += [f"{AMD_GPU_KIND}={i}" for i in range(first, last + 1)]
        else:
            raise ShimError(
                f"env {var}: invalid AMD GPU list {_shorten(value)} (want all, indices, ranges a-b or unique ids)",
                field=f"process.env[{var}]",
            )
    return names


def is_privileged(oci: Mapping[str, Any]) -> bool:
    """Whether the container may have device requests honoured from its env.

    The NVIDIA runtime's rule (``internal/config/image/privileged.go``):
    ``CAP_SYS_ADMIN`` in ``process.capabilities.bounding``. Only the engine
    sets capabilities (``--privileged``, ``--cap-add``), never the image;
    the bounding set is checked so a non-root user in a privileged container
    still counts.
    """
    process = oci.get("process")
    caps = process.get("capabilities") if isinstance(process, dict) else None
    bounding = caps.get("bounding") if isinstance(caps, dict) else None
    return isinstance(bounding, list) and _CAP_SYS_ADMIN in bounding


def _volume_mount_id(mount: object) -> str | None:
    """The device id a mount requests, or None (not ``/dev/null`` under the request root)."""
    if not isinstance(mount, dict):
        return None
    source, destination = mount.get("source"), mount.get("destination")
    if not isinstance(source, str) or not isinstance(destination, str):
        return None
    from cdikit._paths import go_clean

    if go_clean(source) != "/dev/null":
        return None
    destination = go_clean(destination)
    if not destination.startswith(VOLUME_MOUNT_ROOT + "/"):
        return None
    return destination[len(VOLUME_MOUNT_ROOT) + 1 :] or None


def from_volume_mounts(mounts: object, default_kind: str) -> list[str]:
    """Device names from ``/dev/null`` mounts at ``/var/run/nvidia-container-devices/<id>``.

    ``<id>`` is ``cdi/vendor/class/name`` or ``cdi/vendor/class=name`` (a
    qualified name), ``imex/...`` (IMEX channels: not a CDI request, skipped)
    or a bare id that gets the default kind, as in the NVIDIA runtime. Only
    the caller can bind ``/dev/null`` there (an image's ``VOLUME`` cannot),
    so these requests are trusted like annotations.
    """
    if not isinstance(mounts, list):
        return []
    names: list[str] = []
    for mount in mounts:
        device = _volume_mount_id(mount)
        if device is None or device.startswith("imex/"):
            continue
        if device.startswith("cdi/"):
            from cdikit.names import is_qualified_name

            rest = device[4:]
            if not is_qualified_name(rest):
                parts = rest.split("/", 2)
                rest = f"{parts[0]}/{parts[1]}={parts[2]}" if len(parts) == 3 else rest
            if not is_qualified_name(rest):
                raise ShimError(
                    f"mount {_shorten(VOLUME_MOUNT_ROOT + '/' + device)}: invalid CDI device request "
                    "(want cdi/vendor.com/class/name or cdi/vendor.com/class=name)",
                    field="mounts",
                )
            names.append(rest)
        elif "/" in device:
            raise ShimError(
                f"mount {_shorten(VOLUME_MOUNT_ROOT + '/' + device)}: invalid device id (a bare id or cdi/...)",
                field="mounts",
            )
        else:
            names.append(f"{default_kind}={device}")
    return names


def kind_allowed(name: str, allowed_kinds: Sequence[str]) -> bool:
    """Whether the device ``name`` (``vendor/class=dev``) is of a kind in ``allowed_kinds``.

    An empty list allows every kind; an entry is a kind (``vendor.com/class``)
    or ``vendor.com/*`` for every class of a vendor.
    """
    if not allowed_kinds:
        return True
    kind = name.partition("=")[0]
    vendor = kind.partition("/")[0]
    return kind in allowed_kinds or f"{vendor}/*" in allowed_kinds


def not_allowed(names: Sequence[str], allowed_kinds: Sequence[str]) -> list[str]:
    """The names in ``names`` whose kind ``allowed_kinds`` does not allow."""
    return [n for n in names if not kind_allowed(n, allowed_kinds)]


def _shorten(text: str) -> str:
    """``text`` quoted for a log (control characters escaped) and cut to a bounded length."""
    if len(text) <= _LOG_VALUE_MAX:
        return repr(text)
    return repr(text[:_LOG_VALUE_MAX]) + f"...({len(text)} chars)"


def collect_requests(
    oci: Mapping[str, Any],
    *,
    annotation_prefixes: Sequence[str],
    env_var: str,
    nvidia_env_var: str,
    default_kind: str,
    accept_env_unprivileged: bool = False,
    accept_volume_mounts: bool = False,
    amd_env_var: str = "AMD_VISIBLE_DEVICES",
) -> DeviceRequests:
    """All device requests of one container (see the module docstring for the rules).

    Env requests of a container that is not privileged are dropped unless
    ``accept_env_unprivileged``; the variables that asked are then listed in
    the result's ``ignored``. A container's env is never parsed when its
    requests would be dropped anyway, so a malformed value cannot fail it.
    """
    caller = from_annotations(oci.get("annotations"), annotation_prefixes)
    if accept_volume_mounts:
        caller += from_volume_mounts(oci.get("mounts"), default_kind)
    process = oci.get("process") or {}
    env = process.get("env") if isinstance(process, dict) else None
    env_trusted = accept_env_unprivileged or is_privileged(oci)
    ignored: list[str] = []
    explicit = list(caller)
    if env_var:
        value = env_lookup(env, env_var)
        if env_trusted:
            explicit += from_cdi_env(value, env_var)
        elif value and value.strip(", "):
            ignored.append(f"{env_var}={_shorten(value)}")
    if explicit:
        sources = ["annotations"] if not accept_volume_mounts else ["annotations", "mounts"]
        return DeviceRequests(explicit, source="+".join([*sources, env_var or "-"]), ignored=ignored)
    amd_value = env_lookup(env, amd_env_var) if amd_env_var else None
    if amd_value and not env_trusted:
        ignored.append(f"{amd_env_var}={_shorten(amd_value)}")
        amd_value = None
    amd_names = from_amd_env(amd_value, amd_env_var) if amd_value else []
    if not nvidia_env_var:
        return DeviceRequests(amd_names, source="amd-env", ignored=ignored)
    value = env_lookup(env, nvidia_env_var)
    # An image built for the legacy NVIDIA hook (CUDA_VERSION without
    # NVIDIA_REQUIRE_CUDA) expects every GPU when the variable is unset.
    legacy = (
        value is None
        and env_lookup(env, "CUDA_VERSION") is not None
        and env_lookup(env, "NVIDIA_REQUIRE_CUDA") is None
    )
    requests = from_nvidia_env(value, default_kind, legacy_all=legacy)
    if requests and not env_trusted:
        ignored.append(
            f"{nvidia_env_var}={_shorten(value)}" if value is not None else "CUDA_VERSION (legacy image)"
        )
        return DeviceRequests(amd_names, source="amd-env", ignored=ignored)
    if amd_names:
        both = DeviceRequests(
            requests.names + amd_names,
            optional=sorted(requests.optional),
            source="+".join(x for x in (requests.source, "amd-env") if x),
        )
        both.ignored = ignored
        return both
    requests.ignored = ignored
    return requests
