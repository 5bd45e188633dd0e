"""Errors of the ``cdi-hook`` OCI hooks (all :class:`cdikit.errors.CDIError`)."""

from __future__ import annotations

from cdikit.errors import CDIError

__all__ = ["HookError"]


class HookError(CDIError):
    """A hook could not do its work; the runtime then fails container creation."""
