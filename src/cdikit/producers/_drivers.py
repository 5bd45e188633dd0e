"""Where each vendor's driver shows itself in sysfs, and cheap "is it here" checks.

``cdi devices`` asks every on-demand provider whether it can run on this host,
so these checks use ``os`` alone: importing a generator (and with it the spec
model) would slow every listing.
"""

from __future__ import annotations

import os
import re

__all__ = [
    "AMDGPU_DRIVER_DIR",
    "GAUDI_DRIVER",
    "INTEL_GPU_DRIVERS",
    "PCI_ADDRESS",
    "amd_present",
    "pci_bound",
]

AMDGPU_DRIVER_DIR = "/sys/module/amdgpu/drivers/"
INTEL_GPU_DRIVERS = ("i915", "xe")
GAUDI_DRIVER = "habanalabs"
PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]$")


def _host(root: str, path: str) -> str:
    return path if root in ("", "/") else os.path.join(root, path.lstrip("/"))


def amd_present(root: str = "/") -> bool:
    """Whether the amdgpu driver is loaded."""
    return os.path.isdir(_host(root, AMDGPU_DRIVER_DIR))


def pci_bound(root: str, drivers: tuple[str, ...]) -> bool:
    """Whether any PCI function is bound to one of ``drivers``."""
    for driver in drivers:
        try:
            names = os.listdir(_host(root, f"/sys/bus/pci/drivers/{driver}"))
        except OSError:
            continue
        if any(PCI_ADDRESS.match(name) for name in names):
            return True
    return False
