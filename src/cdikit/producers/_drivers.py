"""Where each vendor's driver shows itself in sysfs, and cheap "is it here" checks.

``cdi devices`` asks every on-demand provider whether it can run on this host,
so these checks use ``os`` alone: importing a generator (and with it the spec
model) would slow every listing.
"""

from __future__ import annotations

import os

__all__ = [
    "AMDGPU_DRIVER_DIR",
    "GAUDI_DRIVER",
    "INTEL_GPU_DRIVERS",
    "amd_present",
    "is_pci_address",
    "pci_bound",
]

AMDGPU_DRIVER_DIR = "/sys/module/amdgpu/drivers/"
INTEL_GPU_DRIVERS = ("i915", "xe")
GAUDI_DRIVER = "habanalabs"
_HEX = frozenset("0123456789abcdef")


def is_pci_address(name: str) -> bool:
    """Whether ``name`` is a PCI address as sysfs spells it (``0000:03:00.0``, lowercase hex).

    Plain string tests: ``re`` alone would cost ``cdi devices`` more than its own work.
    """
    return (
        len(name) == 12
        and name[4] == ":"
        and name[7] == ":"
        and name[10] == "."
        and _HEX.issuperset(name[:4] + name[5:7] + name[8:10] + name[11])
    )


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
        if any(is_pci_address(name) for name in names):
            return True
    return False
