"""The spec-directory registry: scanning, incremental refresh, auto-refresh, producer writes.

Names load on first use (PEP 562): the light modules of this package (the disk
cache's index, scanning) serve ``cdi devices`` without the spec model.
"""

from __future__ import annotations

from cdikit._lazy import lazy_getattr

TYPE_CHECKING = False  # not typing's: importing typing costs more than the lean listing path
if TYPE_CHECKING:
    from cdikit.registry.names import (
        generate_name_for_spec,
        generate_name_for_transient_spec,
        generate_spec_name,
        generate_transient_spec_name,
        spec_file_path,
        validate_spec_name,
    )
    from cdikit.registry.registry import DEFAULT_SPEC_DIRS, NilOCISpecError, Registry, ResolvedDevice

__all__ = [
    "DEFAULT_SPEC_DIRS",
    "NilOCISpecError",
    "Registry",
    "ResolvedDevice",
    "generate_name_for_spec",
    "generate_name_for_transient_spec",
    "generate_spec_name",
    "generate_transient_spec_name",
    "spec_file_path",
    "validate_spec_name",
]

_WHERE = {
    **dict.fromkeys(["DEFAULT_SPEC_DIRS", "NilOCISpecError", "Registry", "ResolvedDevice"], ".registry"),
    **dict.fromkeys(
        [
            "generate_name_for_spec",
            "generate_name_for_transient_spec",
            "generate_spec_name",
            "generate_transient_spec_name",
            "spec_file_path",
            "validate_spec_name",
        ],
        ".names",
    ),
}

__getattr__ = lazy_getattr(__name__, _WHERE)
