"""Errors of the ``cdi-runtime`` shim (all :class:`cdikit.errors.CDIError`)."""

from __future__ import annotations

from cdikit.errors import CDIError

__all__ = ["CommandLineError", "ConfigError", "ShimError"]


class ShimError(CDIError):
    """The shim refused to start the container (config.json is left untouched)."""


class ConfigError(ShimError):
    """The shim's TOML configuration is unreadable or has a bad key."""


class CommandLineError(ShimError):
    """A runtime command line the shim cannot read (the runtime would refuse it too)."""
