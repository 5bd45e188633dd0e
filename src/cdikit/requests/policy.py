"""Which resolved devices a request may use: BuildKit's ``device`` entitlement.

A device is allowed when any of these holds:

1. the policy allows every device (``--allow device``);
2. it is granted by name or kind (``--allow device=NAME``), or the request
   named an alias (``--allow device=NAME,alias=ALIAS`` rewrites a request for
   ``ALIAS`` into ``NAME``, which is then allowed);
3. it is auto-allowed: its full name or kind is in the configured list, its
   merged annotations (spec, then device) carry
   ``org.mobyproject.buildkit.device.autoallow`` with a true value
   (Go's ``strconv.ParseBool``), or it was produced on demand.

Texts of configuration errors are BuildKit's (``util/entitlements``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cdikit._text import go_quote
from cdikit.requests._autoallow import AUTO_ALLOW_ANNOTATION, is_auto_allow_value
from cdikit.requests._errors import DeviceNotAllowedError, RequestError

__all__ = [
    "AUTO_ALLOW_ANNOTATION",
    "CLASS_ANNOTATION",
    "AllowPolicy",
    "is_auto_allow_value",
    "not_allowed_error",
]

CLASS_ANNOTATION = "org.mobyproject.buildkit.device.class"
_DEVICE = "device"
_OTHER_ENTITLEMENTS = frozenset({"network.host", "security.insecure"})


@dataclass
class AllowPolicy:
    """The devices a requester is allowed to use.

    ``grants`` maps a requested name to the name it is rewritten to (``""``
    for a plain grant without alias); ``auto_allowed`` is the configured list
    of device names or kinds that are always allowed.
    """

    allow_all: bool = False
    grants: dict[str, str] = field(default_factory=dict)
    auto_allowed: set[str] = field(default_factory=set)

    @classmethod
    def from_entitlements(
        cls, entitlements: Iterable[str], *, auto_allowed: Iterable[str] = ()
    ) -> AllowPolicy:
        """A policy from ``--allow`` values (``device``, ``device=NAME[,alias=ALIAS]``)."""
        policy = cls(auto_allowed=set(auto_allowed))
        for value in entitlements:
            policy.allow(value)
        return policy

    def allow(self, entitlement: str) -> None:
        """Merge one ``--allow`` value into the policy (BuildKit's ``entitlements.Parse``)."""
        key, eq, rest = entitlement.partition("=")
        if key != _DEVICE:
            if entitlement in _OTHER_ENTITLEMENTS:
                raise RequestError(f"entitlement {entitlement} does not concern devices")
            raise RequestError(f"unknown entitlement {entitlement}")
        if not eq or rest == "":
            self.allow_all = True
            return
        try:
            fields = next(csv.reader([rest], strict=True))
        except csv.Error as err:
            raise RequestError(f"invalid device config {go_quote(rest)}: {err}") from None
        name, alias = fields[0], ""
        for item in fields[1:]:
            k, has_eq, v = item.partition("=")
            if not has_eq:
                raise RequestError(f"invalid device config {go_quote(item)}")
            if k != "alias":
                raise RequestError(f"unknown device config key {go_quote(k)}")
            alias = v
        if alias:
            self.grants[alias] = name
        else:
            self.grants[name] = ""

    def alias_target(self, request_name: str) -> str | None:
        """The name a request for ``request_name`` is rewritten to, if it is an alias."""
        return self.grants.get(request_name) or None

    def plain_grants(self) -> list[str]:
        """Granted names or kinds without alias, in grant order."""
        return [name for name, target in self.grants.items() if not target]

    def is_auto_allowed(self, name: str, annotations: Mapping[str, str] | None) -> bool:
        """Auto-allowed by the configured list (name or kind) or by annotation."""
        if name in self.auto_allowed or name.partition("=")[0] in self.auto_allowed:
            return True
        return is_auto_allow_value(annotations)


def not_allowed_error(names: list[str]) -> DeviceNotAllowedError:
    """The error for devices the policy forbids, naming each and the three ways to allow one."""
    if len(names) == 1:
        name = names[0]
        kind = name.partition("=")[0]
        head = f"device {name} is requested but not allowed"
        target, kind_text, subject = name, kind, "it"
    else:
        head = f"devices {', '.join(names)} are requested but not allowed"
        target, kind_text, subject = "NAME", "KIND", "a device"
    ways = (
        f"to allow {subject}: (1) grant it with --allow device={target} "
        f"(its kind: --allow device={kind_text}; every device: --allow device), "
        f"(2) set the annotation {AUTO_ALLOW_ANNOTATION}=true on its spec or device, or "
        f"(3) add {target} or {kind_text} to the configured auto-allowed devices"
    )
    return DeviceNotAllowedError(f"{head}; {ways}", names)
