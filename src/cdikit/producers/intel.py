"""Intel GPUs (``i915``/``xe``) and Gaudi accelerators (``habanalabs``).

Modelled on Intel's generator in intel-resource-drivers-for-kubernetes:

* **GPUs** (kind ``intel.com/gpu``): every PCI function bound to ``i915`` or
  ``xe`` (``/sys/bus/pci/drivers/{i915,xe}/DDDD:BB:DD.F``) with a DRM card
  node is one device, named by its UID ``DDDD-BB-DD-F-0xDEVICE`` (PCI address
  made RFC 1123-safe, then the PCI device id; ``naming="classic"`` names it
  ``cardN`` instead). Its edits are ``/dev/dri/cardN``, ``/dev/dri/renderDN``
  when the driver made one, and bind mounts of the ``/dev/dri/by-path``
  links that exist.
* **Gaudi** (kind ``intel.com/gaudi``): every PCI function bound to
  ``habanalabs`` with an ``accel/accelN`` entry, named by UID; its edits are
  ``/dev/accel/accelN``, ``/dev/accel/accel_controlDN`` and, when the card
  has one, its ``/dev/infiniband/uverbsN``.

Nodes carry only path and type: the runtime reads major, minor and mode from
the host node when it injects them, as with Intel's specs. Each kind also
gets ``all`` (Intel's generator has none; ``--device intel.com/gpu=all`` is
what users of the other vendors' specs expect).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdikit.producers._drivers import GAUDI_DRIVER as _GAUDI_DRIVER
from cdikit.producers._drivers import INTEL_GPU_DRIVERS as _GPU_DRIVERS
from cdikit.producers._drivers import is_pci_address
from cdikit.producers.hostfs import HostFS, ProducerError
from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Mount, Spec

__all__ = [
    "GAUDI_KIND",
    "GPU_KIND",
    "IntelDevice",
    "discover_gaudi",
    "discover_gpus",
    "generate_gaudi",
    "generate_gpus",
]

GPU_KIND = "intel.com/gpu"
GAUDI_KIND = "intel.com/gaudi"


@dataclass(frozen=True)
class IntelDevice:
    """One Intel PCI device and the nodes that expose it."""

    uid: str  # "0000-03-00-0-0x56c0"
    pci_address: str  # "0000:03:00.0"
    driver: str
    nodes: tuple[str, ...]  # host paths under /dev
    bypath: tuple[str, ...] = ()  # /dev/dri/by-path links that exist

    @property
    def classic_name(self) -> str:
        card = next((n for n in self.nodes if "/card" in n or "/accel" in n), self.nodes[0])
        return card.rsplit("/", 1)[1]


def device_uid(pci_address: str, device_id: str) -> str:
    """Intel's UID: ``0000:00:02.0`` and ``0x56c0`` -> ``0000-00-02-0-0x56c0``."""
    if len(device_id) == 4:
        device_id = "0x" + device_id
    return pci_address.replace(":", "-").replace(".", "-") + "-" + device_id


def _functions(fs: HostFS, driver: str) -> list[tuple[str, str]]:
    """(PCI address, sysfs dir) of the functions bound to ``driver``."""
    base = f"/sys/bus/pci/drivers/{driver}"
    return [(name, f"{base}/{name}") for name in fs.listdir(base) if is_pci_address(name)]


def _device_id(fs: HostFS, sysdir: str) -> str | None:
    text = fs.read_text(sysdir + "/device")
    return text.strip() if text and text.strip() else None


def discover_gpus(fs: HostFS) -> list[IntelDevice]:
    """Intel GPUs bound to ``i915`` or ``xe``, in PCI address order."""
    found: list[IntelDevice] = []
    for driver in _GPU_DRIVERS:
        for address, sysdir in _functions(fs, driver):
            device_id = _device_id(fs, sysdir)
            if device_id is None:
                continue
            entries = fs.listdir(sysdir + "/drm")
            cards = [e for e in entries if re.fullmatch(r"card\d+", e)]
            if not cards:
                continue  # not a DRM device (bound to VFIO, survivability mode)
            nodes = ["/dev/dri/" + cards[0]]
            renders = [e for e in entries if re.fullmatch(r"renderD\d+", e)]
            if renders:
                nodes.append("/dev/dri/" + renders[0])
            links = tuple(
                link
                for link in (f"/dev/dri/by-path/pci-{address}-card", f"/dev/dri/by-path/pci-{address}-render")
                if fs.exists(link)
            )
            found.append(IntelDevice(device_uid(address, device_id), address, driver, tuple(nodes), links))
    return sorted(found, key=lambda d: d.pci_address)


def discover_gaudi(fs: HostFS) -> list[IntelDevice]:
    """Gaudi accelerators bound to ``habanalabs``, in PCI address order."""
    found: list[IntelDevice] = []
    for address, sysdir in _functions(fs, _GAUDI_DRIVER):
        device_id = _device_id(fs, sysdir)
        accels = [e for e in fs.listdir(sysdir + "/accel") if re.fullmatch(r"accel\d+", e)]
        if device_id is None or not accels:
            continue
        index = accels[0][len("accel") :]
        nodes = [f"/dev/accel/accel{index}", f"/dev/accel/accel_controlD{index}"]
        verbs = [e for e in fs.listdir(sysdir + "/infiniband_verbs") if re.fullmatch(r"uverbs\d+", e)]
        if verbs:
            nodes.append("/dev/infiniband/" + verbs[0])
        found.append(IntelDevice(device_uid(address, device_id), address, _GAUDI_DRIVER, tuple(nodes)))
    return sorted(found, key=lambda d: d.pci_address)


def _spec(kind: str, fs: HostFS, devices: list[IntelDevice], naming: str) -> Spec:
    if naming not in ("uid", "classic"):
        raise ProducerError(f"unknown naming style {naming!r} (want uid or classic)", field="naming")
    if not devices:
        raise ProducerError(f"no {kind} devices found")

    def nodes_of(dev: IntelDevice) -> list[DeviceNode]:
        return [fs.device_node(p) for p in dev.nodes if fs.exists(p) or p == dev.nodes[0]]

    def mounts_of(dev: IntelDevice) -> list[Mount] | None:
        mounts = [
            Mount(host_path=fs.host(link), container_path=link, type="none", options=["bind", "rw"])
            for link in dev.bypath
        ]
        return mounts or None

    out: list[Device] = []
    for dev in devices:
        name = dev.uid if naming == "uid" else dev.classic_name
        edits = ContainerEdits(device_nodes=nodes_of(dev), mounts=mounts_of(dev))
        out.append(Device(name=name, container_edits=edits))
    every = ContainerEdits(
        device_nodes=[n for dev in devices for n in nodes_of(dev)],
        mounts=[m for dev in devices for m in (mounts_of(dev) or [])] or None,
    )
    out.append(Device(name="all", container_edits=every))
    from cdikit.spec.version import minimum_version

    spec = Spec(kind=kind, devices=out)
    spec.cdi_version = minimum_version(spec)
    return spec


def generate_gpus(root: str = "/", *, naming: str = "uid") -> Spec:
    """The ``intel.com/gpu`` spec for the GPUs found under ``root``."""
    fs = HostFS(root)
    return _spec(GPU_KIND, fs, discover_gpus(fs), naming)


def generate_gaudi(root: str = "/", *, naming: str = "uid") -> Spec:
    """The ``intel.com/gaudi`` spec for the accelerators found under ``root``."""
    fs = HostFS(root)
    return _spec(GAUDI_KIND, fs, discover_gaudi(fs), naming)
