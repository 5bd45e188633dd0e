"""Semantic validation of a decoded spec: the reference's rules, verdicts and texts.

Order and wording follow ``pkg/cdi/spec.go``, ``device.go`` and
``container-edits.go`` of the Go library (v1.1.0): the first failure wins.
Every error carries ``device`` and ``field`` so tools can point at the culprit;
``str(error)`` is the reference's text.
"""

from __future__ import annotations

import re
from itertools import chain, repeat
from operator import attrgetter

from cdikit._text import go_quote
from cdikit.errors import InvalidNameError, ValidationError, VersionError
from cdikit.names import (
    _is_device_name,
    parse_qualifier,
    validate_class_name,
    validate_device_name,
    validate_vendor_name,
)
from cdikit.spec.hooks import HOOK_NAMES
from cdikit.spec.types import ContainerEdits, IntelRdt, NetDevice, Spec
from cdikit.spec.version import validate_version

__all__ = ["VALID_HOOK_NAMES", "validate_edits", "validate_spec"]

VALID_HOOK_NAMES = frozenset(HOOK_NAMES)
_NODE_TYPES = frozenset(("", "b", "c", "u", "p"))
_PERMISSIONS = re.compile(r"[rwm]*")
_SPEC_PREFIX = "invalid CDI Spec: "


class _EditsError(Exception):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _check_env(env: list[str] | None, field: str, context: str) -> None:
    """Each entry needs "=" after a non-empty name ("FOO=" is fine, "=x" and "FOO" are not)."""
    for i, entry in enumerate(env or ()):
        if entry.find("=") <= 0:
            raise _EditsError(f"{context}invalid environment variable {go_quote(entry)}", f"{field}[{i}]")


def _check_rdt(rdt: IntelRdt, field: str) -> None:
    clos = rdt.clos_id
    if clos == "/" or not clos:
        return
    if len(clos) >= 4096 or clos in (".", "..") or "/" in clos or "\n" in clos:
        raise _EditsError("invalid ClosID", f"{field}.closID")


def _check_net_devices(devices: list[NetDevice], field: str) -> None:
    host_seen: dict[str, str] = {}
    name_seen: dict[str, str] = {}
    for i, dev in enumerate(devices):
        where = f"{field}[{i}]"
        if not dev.host_interface_name:
            raise _EditsError(
                "invalid linux net device, empty HostInterfaceName", f"{where}.hostInterfaceName"
            )
        if not dev.name:
            raise _EditsError("invalid linux net device, empty Name", f"{where}.name")
        other = host_seen.get(dev.host_interface_name)
        if other is not None:
            raise _EditsError(
                "invalid linux net device, duplicate HostInterfaceName "
                f"{go_quote(dev.host_interface_name)} with names {go_quote(dev.name)} and {go_quote(other)}",
                f"{where}.hostInterfaceName",
            )
        host_seen[dev.host_interface_name] = dev.name
        other = name_seen.get(dev.name)
        if other is not None:
            raise _EditsError(
                "invalid linux net device, duplicate Name "
                f"{go_quote(dev.name)} with HostInterfaceName {go_quote(dev.host_interface_name)} and {go_quote(other)}",
                f"{where}.name",
            )
        name_seen[dev.name] = dev.host_interface_name


_path = attrgetter("path")
_type = attrgetter("type")
_permissions = attrgetter("permissions")
_hook_name = attrgetter("hook_name")
_host_path = attrgetter("host_path")
_container_path = attrgetter("container_path")
_name = attrgetter("name")
_env = attrgetter("env")
_device_nodes = attrgetter("device_nodes")
_hooks = attrgetter("hooks")
_mounts = attrgetter("mounts")
_intel_rdt = attrgetter("intel_rdt")
_net_devices = attrgetter("net_devices")
_container_edits = attrgetter("container_edits")
_flat = chain.from_iterable


def _env_ok(env: list[str] | None) -> bool:
    # Every entry has "=" after a non-empty name: the smallest find("=") is positive.
    return not env or min(map(str.find, env, repeat("="))) > 0


def _all_look_valid(edits: list[ContainerEdits]) -> bool:
    """The common, valid case of every edit set in ``edits`` at once, tested with C-level
    primitives over their items put together (no per-item or per-edits Python code).

    ``False`` only means "look closer": ``_check_edits`` then finds the first error
    exactly as the reference reports it.
    """
    if not _env_ok(list(_flat(filter(None, map(_env, edits))))):
        return False
    nodes = list(_flat(filter(None, map(_device_nodes, edits))))
    if nodes and not (
        all(map(_path, nodes))
        and _NODE_TYPES.issuperset(map(_type, nodes))
        and all(_PERMISSIONS.fullmatch(p) for p in set(map(_permissions, nodes)))
    ):
        return False
    hooks = list(_flat(filter(None, map(_hooks, edits))))
    if hooks and not (
        VALID_HOOK_NAMES.issuperset(map(_hook_name, hooks))
        and all(map(_path, hooks))
        and _env_ok(list(_flat(filter(None, map(_env, hooks)))))
    ):
        return False
    mounts = list(_flat(filter(None, map(_mounts, edits))))
    if mounts and not (all(map(_host_path, mounts)) and all(map(_container_path, mounts))):
        return False
    # Structs are always true, None is false: any() finds a set intelRdt or a non-empty list.
    return not any(map(_intel_rdt, edits)) and not any(map(_net_devices, edits))


def _spec_looks_valid(spec: Spec) -> bool:
    """Everything ``validate_spec`` checks after the version and the kind, for the common,
    valid case, in one pass over the whole spec; ``False`` only means "look closer"."""
    devices = spec.devices
    if not devices:
        return False
    names = list(map(_name, devices))
    if len(set(names)) != len(names) or not all(map(_is_device_name, names)):
        return False
    edits = list(map(_container_edits, devices))
    if not all(edits) or any(map(ContainerEdits.is_empty, edits)):  # None is false, a struct true
        return False
    if spec.container_edits is not None:
        edits.append(spec.container_edits)
    return _all_look_valid(edits)


def _looks_valid(edits: ContainerEdits) -> bool:
    return _all_look_valid([edits])


def _check_edits(edits: ContainerEdits, field: str) -> None:
    if _looks_valid(edits):
        return
    _check_env(edits.env, f"{field}.env", "invalid container edits: ")
    for i, node in enumerate(edits.device_nodes or ()):
        where = f"{field}.deviceNodes[{i}]"
        if not node.path:
            raise _EditsError("invalid (empty) device path", f"{where}.path")
        if node.type not in _NODE_TYPES:
            raise _EditsError(
                f"device {go_quote(node.path)}: invalid type {go_quote(node.type)}", f"{where}.type"
            )
        if node.permissions and not _PERMISSIONS.fullmatch(node.permissions):
            raise _EditsError(
                f"device {go_quote(node.path)}: invalid permissions {go_quote(node.permissions)}",
                f"{where}.permissions",
            )
    for i, hook in enumerate(edits.hooks or ()):
        where = f"{field}.hooks[{i}]"
        if hook.hook_name not in VALID_HOOK_NAMES:
            raise _EditsError(f"invalid hook name {go_quote(hook.hook_name)}", f"{where}.hookName")
        if not hook.path:
            raise _EditsError(f"invalid hook {go_quote(hook.hook_name)} with empty path", f"{where}.path")
        _check_env(hook.env, f"{where}.env", f"invalid hook {go_quote(hook.hook_name)}: ")
    for i, mount in enumerate(edits.mounts or ()):
        where = f"{field}.mounts[{i}]"
        if not mount.host_path:
            raise _EditsError("invalid mount, empty host path", f"{where}.hostPath")
        if not mount.container_path:
            raise _EditsError("invalid mount, empty container path", f"{where}.containerPath")
    if edits.intel_rdt is not None:
        _check_rdt(edits.intel_rdt, f"{field}.intelRdt")
    if edits.net_devices:
        _check_net_devices(edits.net_devices, f"{field}.netDevices")


def validate_edits(
    edits: ContainerEdits, *, field: str = "containerEdits", device: str | None = None
) -> None:
    """Validate one edit set; raises :class:`ValidationError` with the reference's text."""
    try:
        _check_edits(edits, field)
    except _EditsError as err:
        raise ValidationError(err.message, device=device, field=err.field) from None


def validate_spec(spec: Spec, *, path: str | None = None) -> None:
    """Validate a whole spec exactly like the reference's ``newSpec`` does.

    Raises :class:`VersionError`, :class:`InvalidNameError` (``go_panics`` for names
    the Go library crashes on) or :class:`ValidationError`; the message starts with
    ``invalid CDI Spec: `` as in the reference.
    """
    try:
        validate_version(spec)
    except VersionError as err:
        raise VersionError(_SPEC_PREFIX + err.message, path=path, field=err.field) from None
    vendor, cls = parse_qualifier(spec.kind)
    try:
        validate_vendor_name(vendor)
        validate_class_name(cls)
    except InvalidNameError as err:
        raise InvalidNameError(
            _SPEC_PREFIX + err.message, go_panics=err.go_panics, path=path, field="kind"
        ) from None
    # Spec and device annotations: the reference never validates them (its validator
    # only inspects map[string]interface{}); they only count for the minimum version.
    if _spec_looks_valid(spec):
        return
    if spec.container_edits is not None:
        try:
            _check_edits(spec.container_edits, "containerEdits")
        except _EditsError as err:
            raise ValidationError(_SPEC_PREFIX + err.message, path=path, field=err.field) from None
    seen: set[str] = set()
    for i, dev in enumerate(spec.devices or ()):
        name = dev.name
        where = f"devices[{i}]"
        try:
            validate_device_name(name)
        except InvalidNameError as err:
            raise ValidationError(
                f"{_SPEC_PREFIX}failed add device {go_quote(name)}: {err.message}",
                path=path,
                device=name,
                field=f"{where}.name",
            ) from None
        edits = dev.container_edits
        if edits is None or edits.is_empty():
            raise ValidationError(
                f"{_SPEC_PREFIX}failed add device {go_quote(name)}: invalid device, empty device edits",
                path=path,
                device=name,
                field=f"{where}.containerEdits",
            )
        try:
            _check_edits(edits, f"{where}.containerEdits")
        except _EditsError as err:
            raise ValidationError(
                f"{_SPEC_PREFIX}failed add device {go_quote(name)}: invalid device {go_quote(name)}: {err.message}",
                path=path,
                device=name,
                field=err.field,
            ) from None
        if name in seen:
            raise ValidationError(
                f"{_SPEC_PREFIX}invalid spec, multiple device {go_quote(name)}",
                path=path,
                device=name,
                field=where,
            )
        seen.add(name)
    if not seen:
        raise ValidationError(f"{_SPEC_PREFIX}invalid spec, no devices", path=path, field="devices")
