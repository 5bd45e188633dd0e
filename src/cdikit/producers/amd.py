"""AMD GPUs: the ``amd-ctk cdi generate`` equivalent, and ``AMD_VISIBLE_DEVICES``.

Discovery follows ROCm's container toolkit (``internal/amdgpu``):

* the driver is present when ``/sys/module/amdgpu/drivers/`` exists;
* every PCI function bound to ``amdgpu``
  (``/sys/module/amdgpu/drivers/pci:amdgpu/DDDD:BB:DD.F``) and every compute
  partition the driver exposes as a platform device
  (``/sys/devices/platform/amdgpu_xcp_*``) is one GPU, whose DRM nodes are the
  ``card*`` and ``renderD*`` entries of its ``drm/`` directory;
* the KFD topology (``/sys/class/kfd/kfd/topology/nodes/*/properties``) maps
  each render minor to its physical device (``location_id``, ``domain``) and
  ``unique_id``; a GPU whose render node is not in the topology is skipped
  (amd-ctk does the same: ROCm cannot use it);
* GPUs are ordered by physical device (first seen), then by render minor, so
  the partitions of one device get consecutive indices.

The spec (kind ``amd.com/gpu``) has one device per GPU named by its index,
each with its DRM nodes plus ``/dev/kfd``, and ``all``. Where amd-ctk's
output differs: the cdiVersion is the minimum the content needs (amd-ctk
always writes 0.6.0, which podman 4 cannot load), and every GPU with a
``unique_id`` is also named by it (``0x…``, as ``amd-ctk gpu list`` prints it),
so a spec name survives re-enumeration (a device's partitions share it: the name
gives all of them, as ``AMD_VISIBLE_DEVICES=<unique id>`` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cdikit.producers._drivers import AMDGPU_DRIVER_DIR as _DRIVER_DIR
from cdikit.producers.amd_visible import ALL_VALUES, entries, uid_digits
from cdikit.producers.amd_visible import VAR as AMD_VISIBLE_DEVICES
from cdikit.producers.hostfs import HostFS, ProducerError
from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Spec

__all__ = [
    "AMD_GPU_KIND",
    "AMD_VISIBLE_DEVICES",
    "AmdGpu",
    "discover",
    "generate",
    "parse_visible_devices",
]

AMD_GPU_KIND = "amd.com/gpu"
_KFD = "/dev/kfd"
_PCI_GLOB = "/sys/module/amdgpu/drivers/pci:amdgpu/[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]:*"
_XCP_GLOB = "/sys/devices/platform/amdgpu_xcp_*"
_TOPOLOGY_GLOB = "/sys/class/kfd/kfd/topology/nodes/*/properties"
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class AmdGpu:
    """One GPU (or compute partition) as ROCm numbers it."""

    index: int
    drm_nodes: tuple[str, ...]
    device_id: str  # "DDDD:BB:DD:0", the physical device
    unique_id: str | None = None  # "0x…" (upper-case hex) when the topology has one
    partition: str = ""  # "cpx_nps1" etc., "" when the driver reports none
    sysfs_path: str = field(default="", compare=False)


def _property(text: str, name: str) -> int | None:
    """An integer property of a KFD topology ``properties`` file (strconv.ParseInt base 0)."""
    match = re.search(rf"(?m)^{re.escape(name)}\s(\d+)", text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value <= _INT64_MAX else None


def _topology(fs: HostFS) -> dict[int, tuple[str, str | None]]:
    """render minor -> (physical device id, unique id)."""
    found: dict[int, tuple[str, str | None]] = {}
    for path in fs.glob(_TOPOLOGY_GLOB):
        text = fs.read_text(path)
        if text is None:
            continue
        minor = _property(text, "drm_render_minor")
        if minor is None or minor <= 0 or minor > 2**31 - 1:
            continue
        location, domain = _property(text, "location_id"), _property(text, "domain")
        if location is None or domain is None:
            continue
        device_id = f"{domain:04x}:{(location >> 8) & 0xFF:02x}:{(location >> 3) & 0x1F:02x}:0"
        unique = _property(text, "unique_id")
        found[minor] = (device_id, f"0x{unique:X}" if unique is not None else None)
    return found


def _partition(fs: HostFS, path: str) -> str:
    compute = (fs.read_text(path + "/current_compute_partition") or "").strip().lower()
    memory = (fs.read_text(path + "/current_memory_partition") or "").strip().lower()
    combined = f"{compute}_{memory}"
    return "" if combined == "_" else combined


def discover(fs: HostFS) -> list[AmdGpu]:
    """The AMD GPUs of the host, in ROCm's order; :class:`ProducerError` without the driver."""
    if not fs.isdir(_DRIVER_DIR):
        raise ProducerError(f"amdgpu driver unavailable: {_DRIVER_DIR} does not exist", field=_DRIVER_DIR)
    topology = _topology(fs)
    groups: dict[str, list[tuple[int, tuple[str, ...], str | None, str, str]]] = {}
    for path in fs.glob(_PCI_GLOB) + fs.glob(_XCP_GLOB):
        nodes: list[str] = []
        render_minor = 0
        for entry in fs.listdir(path + "/drm"):
            if entry.startswith("card") or entry.startswith("renderD"):
                nodes.append("/dev/dri/" + entry)
                if entry.startswith("renderD") and entry[7:].isdigit():
                    render_minor = int(entry[7:])
        if not nodes or render_minor <= 0 or render_minor not in topology:
            continue
        device_id, unique = topology[render_minor]
        groups.setdefault(device_id, []).append(
            (render_minor, tuple(nodes), unique, _partition(fs, path), path)
        )
    gpus: list[AmdGpu] = []
    for device_id, members in groups.items():
        for _, drm_nodes, unique, partition, path in sorted(members, key=lambda m: m[0]):
            gpus.append(
                AmdGpu(
                    index=len(gpus),
                    drm_nodes=drm_nodes,
                    device_id=device_id,
                    unique_id=unique,
                    partition=partition,
                    sysfs_path=path,
                )
            )
    return gpus


def generate(root: str = "/", *, uuid_names: bool = True) -> Spec:
    """The ``amd.com/gpu`` spec for the GPUs found under ``root``."""
    fs = HostFS(root)
    gpus = discover(fs)
    if not gpus:
        raise ProducerError("no AMD GPUs found (no amdgpu device with a render node in the KFD topology)")
    kfd = fs.device_node(_KFD, details=True, permissions="rwm")
    cache: dict[str, DeviceNode] = {}

    def node(path: str) -> DeviceNode:
        if path not in cache:
            cache[path] = fs.device_node(path, details=True, permissions="rwm")
        return cache[path]

    devices: list[Device] = []
    for gpu in gpus:
        nodes = [node(p) for p in gpu.drm_nodes] + [kfd]
        devices.append(Device(name=str(gpu.index), container_edits=ContainerEdits(device_nodes=nodes)))
    if uuid_names:
        # Partitions of one device share its unique_id: that name gives all of them, as
        # AMD_VISIBLE_DEVICES=<unique id> does in ROCm's runtime.
        by_unique: dict[str, list[str]] = {}
        for gpu in gpus:
            if gpu.unique_id:
                by_unique.setdefault(gpu.unique_id, []).extend(gpu.drm_nodes)
        for unique, paths in by_unique.items():
            nodes = [node(p) for p in paths] + [kfd]
            devices.append(Device(name=unique, container_edits=ContainerEdits(device_nodes=nodes)))
    every = [node(p) for gpu in gpus for p in gpu.drm_nodes] + [kfd]
    devices.append(Device(name="all", container_edits=ContainerEdits(device_nodes=every)))
    from cdikit.spec.version import minimum_version

    spec = Spec(cdi_version="", kind=AMD_GPU_KIND, devices=devices)
    spec.cdi_version = minimum_version(spec)
    return spec


def parse_visible_devices(value: str, gpus: list[AmdGpu]) -> list[int]:
    """GPU indices for an ``AMD_VISIBLE_DEVICES`` value, as ROCm's runtime reads it.

    ``all`` (any of ``all``/``All``/``ALL``); a comma list of indices, ranges
    ``a-b`` and unique ids (``0x…`` or more than 8 hex digits, any case).
    Unknown entries raise :class:`ProducerError` naming them (ROCm's runtime
    refuses to start such a container too). The result is sorted, as ROCm's.
    """
    if value in ALL_VALUES:
        return [gpu.index for gpu in gpus]
    by_unique: dict[str, list[int]] = {}
    for gpu in gpus:
        if gpu.unique_id:
            by_unique.setdefault(gpu.unique_id[2:].lower(), []).append(gpu.index)
    chosen: list[int] = []
    invalid: list[str] = []
    for kind, first, last, item in entries(value):
        if kind == "uid":
            digits = uid_digits(item)
            found = by_unique.get(digits.lstrip("0") or "0") or by_unique.get(digits)
            if found:
                chosen.extend(found)
            else:
                invalid.append(item)
        elif kind in ("index", "range"):
            chosen.extend(range(first, min(last, len(gpus) - 1) + 1))
            if last >= len(gpus):
                # Named once, not index by index: "0-99999999" must not build a list that long.
                invalid.append(item if kind == "index" else f"{max(first, len(gpus))}-{last}")
        else:
            invalid.append(item)
    if invalid:
        raise ProducerError(
            f"{AMD_VISIBLE_DEVICES}: no such AMD GPU: {', '.join(invalid)}", field=AMD_VISIBLE_DEVICES
        )
    return sorted(chosen)
