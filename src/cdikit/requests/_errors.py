"""Errors of the requests layer (defined in :mod:`cdikit.errors`, the one hierarchy)."""

from __future__ import annotations

from cdikit.errors import DeviceNotAllowedError, OnDemandError, RequestError

__all__ = ["DeviceNotAllowedError", "OnDemandError", "RequestError"]
