"""cdikit: the Container Device Interface (CDI) toolkit for Python.

The public API is what this module exports; submodules starting with ``_`` are
private. Attributes load lazily so that ``import cdikit`` stays cheap for the CLI
and runtime hooks.
"""

from __future__ import annotations

from cdikit._lazy import lazy_getattr
from cdikit._version import __version__
from cdikit.errors import (
    AnnotationError,
    CDIError,
    ConflictError,
    DeviceNotAllowedError,
    InjectionError,
    InvalidNameError,
    OnDemandError,
    ParseError,
    RegistryError,
    RequestError,
    UnresolvableDevicesError,
    ValidationError,
    VersionError,
    WriteError,
)

# Not ``typing.TYPE_CHECKING``: importing typing costs more than all of cdikit's
# start-up path, and runtime hooks import this package on every container start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from cdikit.annotations import annotation_key, annotation_value, parse_annotations, update_annotations
    from cdikit.names import (
        is_qualified_name,
        parse_device,
        parse_qualified_name,
        parse_qualifier,
        qualified_name,
        validate_class_name,
        validate_device_name,
        validate_vendor_name,
    )
    from cdikit.oci import inject_edits
    from cdikit.registry import Registry
    from cdikit.spec import (
        ContainerEdits,
        Device,
        DeviceNode,
        Hook,
        IntelRdt,
        Mount,
        NetDevice,
        Spec,
        encode_spec,
        minimum_version,
        parse_spec,
        validate_version,
        write_spec_file,
    )
    from cdikit.specfile import SpecFile, read_spec
    from cdikit.validation import validate_spec


_LAZY = {
    "annotation_key": "cdikit.annotations",
    "annotation_value": "cdikit.annotations",
    "parse_annotations": "cdikit.annotations",
    "update_annotations": "cdikit.annotations",
    "is_qualified_name": "cdikit.names",
    "parse_device": "cdikit.names",
    "parse_qualified_name": "cdikit.names",
    "parse_qualifier": "cdikit.names",
    "qualified_name": "cdikit.names",
    "validate_class_name": "cdikit.names",
    "validate_device_name": "cdikit.names",
    "validate_vendor_name": "cdikit.names",
    "inject_edits": "cdikit.oci",
    "Registry": "cdikit.registry",
    "ContainerEdits": "cdikit.spec",
    "Device": "cdikit.spec",
    "DeviceNode": "cdikit.spec",
    "Hook": "cdikit.spec",
    "IntelRdt": "cdikit.spec",
    "Mount": "cdikit.spec",
    "NetDevice": "cdikit.spec",
    "Spec": "cdikit.spec",
    "encode_spec": "cdikit.spec",
    "minimum_version": "cdikit.spec",
    "parse_spec": "cdikit.spec",
    "validate_version": "cdikit.spec",
    "write_spec_file": "cdikit.spec",
    "SpecFile": "cdikit.specfile",
    "read_spec": "cdikit.specfile",
    "validate_spec": "cdikit.validation",
}

__all__ = [
    "AnnotationError",
    "CDIError",
    "ConflictError",
    "ContainerEdits",
    "Device",
    "DeviceNode",
    "DeviceNotAllowedError",
    "Hook",
    "InjectionError",
    "IntelRdt",
    "InvalidNameError",
    "Mount",
    "NetDevice",
    "OnDemandError",
    "ParseError",
    "Registry",
    "RegistryError",
    "RequestError",
    "Spec",
    "SpecFile",
    "UnresolvableDevicesError",
    "ValidationError",
    "VersionError",
    "WriteError",
    "__version__",
    "annotation_key",
    "annotation_value",
    "encode_spec",
    "inject_edits",
    "is_qualified_name",
    "minimum_version",
    "parse_annotations",
    "parse_device",
    "parse_qualified_name",
    "parse_qualifier",
    "parse_spec",
    "qualified_name",
    "read_spec",
    "update_annotations",
    "validate_class_name",
    "validate_device_name",
    "validate_spec",
    "validate_vendor_name",
    "validate_version",
    "write_spec_file",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
