"""BuildKit-style device requests: kind-only requests, allow policy, on-demand devices.

>>> from cdikit.registry import Registry
>>> from cdikit.requests import AllowPolicy, Resolver, parse_request
>>> resolver = Resolver(Registry(["/etc/cdi"]), policy=AllowPolicy.from_entitlements(["device"]))
>>> resolver.resolve([parse_request("nvidia.com/gpu,required")]).devices  # doctest: +SKIP
['nvidia.com/gpu=0']

Names are loaded on first use (PEP 562), so importing ``cdikit.requests``
to register ``cdi request`` costs nothing beyond argparse.
"""

from __future__ import annotations

from cdikit._lazy import lazy_getattr

# Not ``typing.TYPE_CHECKING``: importing typing costs more than this whole
# package's start-up path (the same trick as ``cdikit/__init__.py``).
TYPE_CHECKING = False

if TYPE_CHECKING:
    from cdikit.requests._autoallow import AUTO_ALLOW_ANNOTATION, is_auto_allow_value
    from cdikit.requests._errors import DeviceNotAllowedError, OnDemandError, RequestError
    from cdikit.requests.ondemand import OnDemandProvider, OnDemandProviders
    from cdikit.requests.policy import CLASS_ANNOTATION, AllowPolicy
    from cdikit.requests.request import DeviceRequest, parse_request
    from cdikit.requests.resolve import DeviceListing, RequestResult, Resolution, Resolver, expand_names

_WHERE = {
    "DeviceNotAllowedError": "_errors",
    "OnDemandError": "_errors",
    "RequestError": "_errors",
    "OnDemandProvider": "ondemand",
    "OnDemandProviders": "ondemand",
    "AUTO_ALLOW_ANNOTATION": "_autoallow",
    "is_auto_allow_value": "_autoallow",
    "CLASS_ANNOTATION": "policy",
    "AllowPolicy": "policy",
    "DeviceRequest": "request",
    "parse_request": "request",
    "DeviceListing": "resolve",
    "RequestResult": "resolve",
    "Resolution": "resolve",
    "Resolver": "resolve",
    "expand_names": "resolve",
}

__all__ = [
    "AUTO_ALLOW_ANNOTATION",
    "CLASS_ANNOTATION",
    "AllowPolicy",
    "DeviceListing",
    "DeviceNotAllowedError",
    "DeviceRequest",
    "OnDemandError",
    "OnDemandProvider",
    "OnDemandProviders",
    "RequestError",
    "RequestResult",
    "Resolution",
    "Resolver",
    "expand_names",
    "is_auto_allow_value",
    "parse_request",
]


__getattr__ = lazy_getattr(__name__, {name: "." + module for name, module in _WHERE.items()})


def __dir__() -> list[str]:
    return sorted(__all__)
