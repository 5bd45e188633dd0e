"""The spec-directory registry: scanning, incremental refresh, auto-refresh, producer writes."""

from __future__ import annotations

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
