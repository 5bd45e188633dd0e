"""The CDI wire model: types, versions, decoding and encoding of spec documents.

Every name loads lazily: importing one leaf module (as the runtime shim does on
every container start) must not pull in msgspec.
"""

from __future__ import annotations

from cdikit._lazy import lazy_getattr

TYPE_CHECKING = False  # not typing's: see cdikit/__init__.py
if TYPE_CHECKING:
    from cdikit.spec.decode import parse_spec
    from cdikit.spec.encode import encode_spec, write_spec_file
    from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, IntelRdt, Mount, NetDevice, Spec
    from cdikit.spec.version import CURRENT_VERSION, KNOWN_VERSIONS, minimum_version, validate_version

_WHERE = {
    **dict.fromkeys(
        ("ContainerEdits", "Device", "DeviceNode", "Hook", "IntelRdt", "Mount", "NetDevice", "Spec"),
        "cdikit.spec.types",
    ),
    **dict.fromkeys(
        ("CURRENT_VERSION", "KNOWN_VERSIONS", "minimum_version", "validate_version"), "cdikit.spec.version"
    ),
    "parse_spec": "cdikit.spec.decode",
    "encode_spec": "cdikit.spec.encode",
    "write_spec_file": "cdikit.spec.encode",
}

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

__getattr__ = lazy_getattr(__name__, _WHERE)
