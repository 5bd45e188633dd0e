"""CDI wire model (SPEC 1.1.0): plain typed records, no behaviour.

Field order follows the reference ``specs-go/config.go`` so that encoded specs
come out in the same order as the Go tools write them. ``None`` means "unset"
wherever the reference distinguishes unset from zero (``fileMode``, ``uid``,
``gid``, ``timeout``, ``intelRdt``, ``schemata`` and the lists in general).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# Integer ranges of the reference's Go types: decoding rejects what Go rejects.
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Uint32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]

__all__ = [
    "ContainerEdits",
    "Device",
    "DeviceNode",
    "Hook",
    "IntelRdt",
    "Mount",
    "NetDevice",
    "Spec",
]


_SPECIAL_KEYS = {"cdi_version": "cdiVersion", "clos_id": "closID", "additional_gids": "additionalGids"}


def _wire_name(field: str) -> str:
    special = _SPECIAL_KEYS.get(field)
    if special is not None:
        return special
    head, *rest = field.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Wire(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, rename=_wire_name, gc=False):
    """Base of every wire record: strict (unknown keys rejected), camelCase keys.

    ``gc=False``: wire records never form reference cycles, so the garbage collector
    need not track the tens of thousands of them a large registry holds.
    """


class DeviceNode(_Wire):
    path: str = ""
    host_path: str = ""
    type: str = ""
    major: Int64 = 0
    minor: Int64 = 0
    file_mode: Uint32 | None = None
    permissions: str = ""
    uid: Uint32 | None = None
    gid: Uint32 | None = None


class Mount(_Wire):
    host_path: str = ""
    container_path: str = ""
    options: list[str] | None = None
    type: str = ""


class Hook(_Wire):
    hook_name: str = ""
    path: str = ""
    args: list[str] | None = None
    env: list[str] | None = None
    timeout: Int64 | None = None


class IntelRdt(_Wire):
    clos_id: str = ""
    l3_cache_schema: str = ""
    mem_bw_schema: str = ""
    schemata: list[str] | None = None
    enable_monitoring: bool = False


class NetDevice(_Wire):
    host_interface_name: str = ""
    name: str = ""


class ContainerEdits(_Wire):
    env: list[str] | None = None
    device_nodes: list[DeviceNode] | None = None
    net_devices: list[NetDevice] | None = None
    hooks: list[Hook] | None = None
    mounts: list[Mount] | None = None
    intel_rdt: IntelRdt | None = None
    additional_gids: list[Uint32] | None = None

    def is_empty(self) -> bool:
        """True when the edits would change nothing (the reference's "empty edits")."""
        return not (
            self.env
            or self.device_nodes
            or self.hooks
            or self.mounts
            or self.additional_gids
            or self.net_devices
            or self.intel_rdt is not None
        )


class Device(_Wire):
    name: str = ""
    annotations: dict[str, str] | None = None
    container_edits: ContainerEdits | None = None

    @property
    def edits(self) -> ContainerEdits:
        """The device's edits, empty when the file has none."""
        return self.container_edits if self.container_edits is not None else _EMPTY_EDITS


class Spec(_Wire):
    cdi_version: str = ""
    kind: str = ""
    annotations: dict[str, str] | None = None
    devices: list[Device] | None = None
    container_edits: ContainerEdits | None = None

    @property
    def edits(self) -> ContainerEdits:
        """Spec-level edits, empty when the file has none."""
        return self.container_edits if self.container_edits is not None else _EMPTY_EDITS


_EMPTY_EDITS = ContainerEdits()
