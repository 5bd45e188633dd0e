"""The CDI wire model: types, versions, decoding and encoding of spec documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdikit._lazy import lazy_getattr
from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, IntelRdt, Mount, NetDevice, Spec
from cdikit.spec.version import CURRENT_VERSION, KNOWN_VERSIONS, minimum_version, validate_version

if TYPE_CHECKING:
    from cdikit.spec.decode import parse_spec
    from cdikit.spec.encode import encode_spec, write_spec_file

__all__ = [
    "CURRENT_VERSION",
    "KNOWN_VERSIONS",
    "ContainerEdits",
    "Device",
    "DeviceNode",
    "Hook",
    "IntelRdt",
    "Mount",
    "NetDevice",
    "Spec",
    "encode_spec",
    "minimum_version",
    "parse_spec",
    "validate_version",
    "write_spec_file",
]


# Decoding and encoding load lazily: a registry served from its disk cache, or a
# runtime hook, needs neither.
__getattr__ = lazy_getattr(
    __name__,
    {
        "parse_spec": "cdikit.spec.decode",
        "encode_spec": "cdikit.spec.encode",
        "write_spec_file": "cdikit.spec.encode",
    },
)
