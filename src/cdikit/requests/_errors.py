"""Errors of the requests layer.

LOCAL SHIM: these belong in :mod:`cdikit.errors` (one hierarchy, one module);
they live here until the coordinator moves them. Both derive from
:class:`~cdikit.errors.CDIError`, so ``except CDIError`` already catches them.
"""

from __future__ import annotations

from cdikit.errors import CDIError

__all__ = ["DeviceNotAllowedError", "OnDemandError", "RequestError"]


class RequestError(CDIError):
    """A device request that is malformed or (when required) resolves to nothing."""


class DeviceNotAllowedError(RequestError):
    """Resolved devices that the allow policy does not permit.

    ``names`` lists every forbidden device, in resolution order.
    """

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message, device=names[0] if names else None)
        self.names = list(names)


class OnDemandError(RequestError):
    """An on-demand provider failed to produce, write or expose its devices."""
