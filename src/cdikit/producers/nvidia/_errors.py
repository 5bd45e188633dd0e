"""Errors of the NVIDIA generator (one base so callers can catch every generation failure)."""

from __future__ import annotations

from cdikit.errors import CDIError

__all__ = ["DiscoveryError", "DriverNotFoundError", "GenerateError"]


class GenerateError(CDIError):
    """The spec cannot be generated (bad option, missing required driver file, NVML failure)."""


class DriverNotFoundError(GenerateError):
    """No usable NVIDIA driver: NVML cannot be initialised or no driver version can be found."""


class DiscoveryError(GenerateError):
    """A required host file is missing or malformed (device node, MIG caps minors)."""
