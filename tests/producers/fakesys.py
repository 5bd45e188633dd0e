"""Fake sysfs and /dev trees for the AMD, Intel and generic generators.

Laid out as the kernel lays them out (sysfs driver links are relative
symlinks into ``/sys/devices``). Device nodes are real character devices when
the tests run as root (cloned from ``/dev/null``'s numbers unless told
otherwise, so a real container can open them), else empty regular files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

IS_ROOT = os.geteuid() == 0


def node(root: Path, path: str, *, rdev: int | None = None, mode: int = 0o660, gid: int = 0) -> Path:
    """A device node at host path ``path`` inside ``root``."""
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if IS_ROOT:
        os.mknod(target, stat.S_IFCHR | mode, rdev if rdev is not None else os.stat("/dev/null").st_rdev)
        os.chown(target, 0, gid)
        os.chmod(target, mode)
    else:
        target.write_bytes(b"")
    return target


def write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _pci_device(root: Path, address: str) -> Path:
    dev = root / "sys/devices/pci0000:00" / address
    dev.mkdir(parents=True, exist_ok=True)
    return dev


def _bind(root: Path, driver_dir: str, address: str) -> None:
    link = root / driver_dir.lstrip("/") / address
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(_pci_device(root, address), link.parent))


def amd_gpu(
    root: Path,
    address: str,
    *,
    card: int,
    render: int,
    location_id: int,
    unique_id: int | None,
    node_index: int,
    in_topology: bool = True,
    partitions: list[tuple[int, int]] | None = None,
) -> None:
    """An amdgpu PCI function (+ optional ``amdgpu_xcp_N`` compute partitions (card, render))."""
    (root / "sys/module/amdgpu/drivers").mkdir(parents=True, exist_ok=True)
    _bind(root, "/sys/module/amdgpu/drivers/pci:amdgpu", address)
    dev = _pci_device(root, address)

    def drm(where: Path, c: int, r: int, idx: int) -> None:
        (where / "drm" / f"card{c}").mkdir(parents=True, exist_ok=True)
        (where / "drm" / f"renderD{r}").mkdir(parents=True, exist_ok=True)
        node(root, f"/dev/dri/card{c}")
        node(root, f"/dev/dri/renderD{r}")
        if in_topology:
            props = f"cpu_cores_count 0\nlocation_id {location_id}\ndomain 0\ndrm_render_minor {r}\n"
            if unique_id is not None:
                props += f"unique_id {unique_id}\n"
            write(root, f"/sys/class/kfd/kfd/topology/nodes/{idx}/properties", props)

    drm(dev, card, render, node_index)
    for n, (c, r) in enumerate(partitions or []):
        xcp = root / f"sys/devices/platform/amdgpu_xcp_{n}"
        xcp.mkdir(parents=True, exist_ok=True)
        (xcp / "current_compute_partition").write_text("CPX\n", encoding="utf-8")
        (xcp / "current_memory_partition").write_text("NPS1\n", encoding="utf-8")
        drm(xcp, c, r, node_index + 1 + n)
    if not (root / "dev/kfd").exists():
        node(root, "/dev/kfd")
    # The CPU node of the topology has no render minor.
    write(root, "/sys/class/kfd/kfd/topology/nodes/0/properties", "cpu_cores_count 8\ndrm_render_minor 0\n")


def intel_gpu(
    root: Path,
    address: str,
    device_id: str,
    *,
    driver: str,
    card: int,
    render: int | None,
    bypath: bool = True,
) -> None:
    _bind(root, f"/sys/bus/pci/drivers/{driver}", address)
    dev = _pci_device(root, address)
    (dev / "device").write_text(device_id + "\n", encoding="utf-8")
    (dev / "drm" / f"card{card}").mkdir(parents=True, exist_ok=True)
    node(root, f"/dev/dri/card{card}")
    if render is not None:
        (dev / "drm" / f"renderD{render}").mkdir(parents=True, exist_ok=True)
        node(root, f"/dev/dri/renderD{render}")
    if bypath:
        links = root / "dev/dri/by-path"
        links.mkdir(parents=True, exist_ok=True)
        (links / f"pci-{address}-card").symlink_to(f"../card{card}")
        if render is not None:
            (links / f"pci-{address}-render").symlink_to(f"../renderD{render}")


def gaudi(root: Path, address: str, device_id: str, *, accel: int, uverbs: int | None = None) -> None:
    _bind(root, "/sys/bus/pci/drivers/habanalabs", address)
    dev = _pci_device(root, address)
    (dev / "device").write_text(device_id + "\n", encoding="utf-8")
    (dev / "accel" / f"accel{accel}").mkdir(parents=True, exist_ok=True)
    node(root, f"/dev/accel/accel{accel}")
    node(root, f"/dev/accel/accel_controlD{accel}")
    if uverbs is not None:
        (dev / "infiniband_verbs" / f"uverbs{uverbs}").mkdir(parents=True, exist_ok=True)
        node(root, f"/dev/infiniband/uverbs{uverbs}")
