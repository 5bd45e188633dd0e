"""The CDI wire model: types, versions, decoding and encoding of spec documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    # Decoding and encoding load lazily: a registry served from its disk cache, or a
    # runtime hook, needs neither.
    if name == "parse_spec":
        from cdikit.spec.decode import parse_spec

        return parse_spec
    if name in ("encode_spec", "write_spec_file"):
        from cdikit.spec import encode

        return getattr(encode, name)
    raise AttributeError(name)
