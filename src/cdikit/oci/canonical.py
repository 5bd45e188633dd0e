"""The Go struct re-encoding of an OCI runtime spec (runtime-spec v1.3.0, ``encoding/json``).

The reference decodes ``config.json`` into Go structs and encodes it again, so
what it hands back has a canonical shape: unknown keys dropped, keys matched to
fields case-insensitively, non-``omitempty`` zero fields always present
(``ociVersion``, ``process.user.uid``, ``process.cwd``, ``linux.devices[].major``
...), ``omitempty`` zero fields never. :func:`go_canonical` reproduces that
re-encoding, so documents can be compared with what the reference produced.

The sections CDI edits (process, user, mounts, hooks, linux devices, cgroup
device rules, namespaces, net devices, intelRdt, id mappings) are modelled
field by field; deeper sections CDI never touches (seccomp, cpu/memory
resources, other platforms) are passed through as they are.
"""

from __future__ import annotations

from cdikit._text import go_fold
from cdikit.spec.hooks import HOOK_NAMES

# Not typing's TYPE_CHECKING: the runtime shim edits config.json through this module
# and must not import typing (start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["go_canonical", "go_decoded"]


# name, kind (see _canon()), omitempty
class _Field:
    """One field of a Go struct: JSON name, kind, ``omitempty``.

    A plain class: no typing.NamedTuple (typing) and no namedtuple (collections), this
    module is on the runtime shim's warm start path.
    """

    __slots__ = ("kind", "name", "omitempty")

    def __init__(self, name: str, kind: Any, omitempty: bool) -> None:
        self.name = name
        self.kind = kind
        self.omitempty = omitempty

    def __repr__(self) -> str:
        return f"_Field({self.name!r}, {self.kind!r}, {self.omitempty!r})"


# Kinds: "s" string, "n" number, "b" bool, "any" opaque list or map (passed through),
# "anyptr" opaque pointer to a struct (passed through, emitted whenever set),
# ("ptr", STRUCT) pointer to struct, ("val", STRUCT) struct value (always emitted),
# ("ptrv",) pointer to a scalar (emitted when set, even 0), ("list", KIND), ("map", KIND).
def _s(name: str, omit: bool = True) -> _Field:
    return _Field(name, "s", omit)


def _n(name: str, omit: bool = False) -> _Field:
    return _Field(name, "n", omit)


def _strs(name: str) -> _Field:
    return _Field(name, ("list", "s"), True)


def _opaque(name: str) -> _Field:
    return _Field(name, "anyptr", True)


def _opaque_list(name: str) -> _Field:
    return _Field(name, "any", True)


_ID_MAPPING = (_n("containerID"), _n("hostID"), _n("size"))
_USER = (
    _n("uid"),
    _n("gid"),
    _Field("umask", ("ptrv",), True),
    _Field("additionalGids", ("list", "n"), True),
    _s("username"),
)
_BOX = (_n("height"), _n("width"))
_CAPABILITIES = tuple(_strs(n) for n in ("bounding", "effective", "inheritable", "permitted", "ambient"))
_RLIMIT = (_s("type", omit=False), _n("hard"), _n("soft"))
_PROCESS = (
    _Field("terminal", "b", True),
    _Field("consoleSize", ("ptr", _BOX), True),
    _Field("user", ("val", _USER), False),
    _strs("args"),
    _s("commandLine"),
    _strs("env"),
    _s("cwd", omit=False),
    _Field("capabilities", ("ptr", _CAPABILITIES), True),
    _Field("rlimits", ("list", ("val", _RLIMIT)), True),
    _Field("noNewPrivileges", "b", True),
    _s("apparmorProfile"),
    _Field("oomScoreAdj", ("ptrv",), True),
    _opaque("scheduler"),
    _s("selinuxLabel"),
    _opaque("ioPriority"),
    _opaque("execCPUAffinity"),
)
_ROOT = (_s("path", omit=False), _Field("readonly", "b", True))
_MOUNT = (
    _s("destination", omit=False),
    _s("type"),
    _s("source"),
    _strs("options"),
    _Field("uidMappings", ("list", ("val", _ID_MAPPING)), True),
    _Field("gidMappings", ("list", ("val", _ID_MAPPING)), True),
)
_HOOK = (_s("path", omit=False), _strs("args"), _strs("env"), _Field("timeout", ("ptrv",), True))
_HOOKS = tuple(_Field(n, ("list", ("val", _HOOK)), True) for n in HOOK_NAMES)
_DEVICE = (
    _s("path", omit=False),
    _s("type", omit=False),
    _n("major"),
    _n("minor"),
    _Field("fileMode", ("ptrv",), True),
    _Field("uid", ("ptrv",), True),
    _Field("gid", ("ptrv",), True),
)
_DEVICE_CGROUP = (
    _Field("allow", "b", False),
    _s("type"),
    _Field("major", ("ptrv",), True),
    _Field("minor", ("ptrv",), True),
    _s("access"),
)
_RESOURCES = (
    _Field("devices", ("list", ("val", _DEVICE_CGROUP)), True),
    _opaque("memory"),
    _opaque("cpu"),
    _opaque("pids"),
    _opaque("blockIO"),
    _opaque_list("hugepageLimits"),
    _opaque("network"),
    _opaque_list("rdma"),
    _Field("unified", ("map", "s"), True),
)
_NAMESPACE = (_s("type", omit=False), _s("path"))
_NET_DEVICE = (_s("name"),)
_INTEL_RDT = (
    _s("closID"),
    _s("l3CacheSchema"),
    _s("memBwSchema"),
    _strs("schemata"),
    _Field("enableMonitoring", "b", True),
)
_LINUX = (
    _Field("uidMappings", ("list", ("val", _ID_MAPPING)), True),
    _Field("gidMappings", ("list", ("val", _ID_MAPPING)), True),
    _Field("sysctl", ("map", "s"), True),
    _Field("resources", ("ptr", _RESOURCES), True),
    _s("cgroupsPath"),
    _Field("namespaces", ("list", ("val", _NAMESPACE)), True),
    _Field("devices", ("list", ("val", _DEVICE)), True),
    _Field("netDevices", ("map", ("val", _NET_DEVICE)), True),
    _opaque("seccomp"),
    _s("rootfsPropagation"),
    _strs("maskedPaths"),
    _strs("readonlyPaths"),
    _s("mountLabel"),
    _Field("intelRdt", ("ptr", _INTEL_RDT), True),
    _opaque("memoryPolicy"),
    _opaque("personality"),
    _opaque_list("timeOffsets"),
)
_SPEC = (
    _s("ociVersion", omit=False),
    _Field("process", ("ptr", _PROCESS), True),
    _Field("root", ("ptr", _ROOT), True),
    _s("hostname"),
    _s("domainname"),
    _Field("mounts", ("list", ("val", _MOUNT)), True),
    _Field("hooks", ("ptr", _HOOKS), True),
    _Field("annotations", ("map", "s"), True),
    _Field("linux", ("ptr", _LINUX), True),
    _opaque("solaris"),
    _opaque("windows"),
    _opaque("vm"),
    _opaque("zos"),
    _opaque("freebsd"),
)


class _Lookup:
    """A struct's fields by exact JSON name and by Go-folded name."""

    __slots__ = ("exact", "folded")

    def __init__(self, exact: dict[str, _Field], folded: dict[str, _Field]) -> None:
        self.exact = exact
        self.folded = folded


_LOOKUPS: dict[int, _Lookup] = {}


def _lookup(fields: tuple[_Field, ...]) -> _Lookup:
    found = _LOOKUPS.get(id(fields))
    if found is None:
        folded: dict[str, _Field] = {}
        for f in fields:
            folded.setdefault(go_fold(f.name), f)
        found = _LOOKUPS[id(fields)] = _Lookup({f.name: f for f in fields}, folded)
    return found


_NILABLE = ("ptr", "ptrv", "list", "map")


def _nilable(kind: Any) -> bool:
    return kind in ("any", "anyptr") or (isinstance(kind, tuple) and kind[0] in _NILABLE)


def _zero(kind: Any) -> Any:
    if kind == "s":
        return ""
    if kind == "n":
        return 0
    if kind == "b":
        return False
    if isinstance(kind, tuple) and kind[0] == "val":
        return _struct({}, kind[1])
    return None


def _omitted(value: Any, kind: Any) -> bool:
    """encoding/json's omitempty: false, 0, "", nil pointers, empty (or nil) arrays and maps."""
    if value is None:
        return True
    if kind == "anyptr" or (isinstance(kind, tuple) and kind[0] in ("ptr", "ptrv", "val")):
        return False  # a set pointer is emitted even when it points at a zero value
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    return value is False or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _canon(value: Any, kind: Any) -> Any:
    if kind in ("s", "n", "b"):
        return value
    if kind in ("any", "anyptr"):
        return _copy(value)
    tag = kind[0]
    if value is None:
        return _zero(kind) if tag == "val" else None
    if tag == "ptrv":
        return value
    if tag in ("ptr", "val"):
        return _struct(value, kind[1]) if isinstance(value, dict) else _copy(value)
    if tag == "list":
        return [_canon(v, kind[1]) for v in value] if isinstance(value, list) else _copy(value)
    # map: keys are taken verbatim (no case folding for map keys)
    return {k: _canon(v, kind[1]) for k, v in value.items()} if isinstance(value, dict) else _copy(value)


def _struct(obj: dict[str, Any], fields: tuple[_Field, ...]) -> dict[str, Any]:
    lookup = _lookup(fields)
    assigned: dict[str, Any] = {}
    for key, value in obj.items():
        field = lookup.exact.get(key) or lookup.folded.get(go_fold(key))
        if field is None:
            continue  # unknown keys are dropped
        if value is None and not _nilable(field.kind):
            continue  # JSON null leaves a non-pointer Go field untouched
        assigned[field.name] = value
    out: dict[str, Any] = {}
    for field in fields:
        value = _canon(assigned[field.name], field.kind) if field.name in assigned else _zero(field.kind)
        if field.omitempty and _omitted(value, field.kind):
            continue
        out[field.name] = value
    return out


def go_canonical(oci: dict[str, Any]) -> dict[str, Any]:
    """``oci`` as the reference would hand it back after decoding and re-encoding it.

    Returns a new dict (the input is not modified). Idempotent: a canonical
    document comes back equal to itself.
    """
    return _struct(go_decoded(oci), _SPEC)


_MISSING: Any = object()


def go_decoded(oci: dict[str, Any]) -> dict[str, Any]:
    """``oci`` with its keys as Go's decoding resolves them, everything else kept.

    encoding/json matches a key to a struct field exactly or else case-insensitively
    (``HOOKS``, or ``ociVerXion`` with X the long s U+017F), and applies keys in document order: a later key for
    the same field decodes into what the earlier one left (objects merge field by
    field, arrays element by element, ``null`` clears pointers, slices and maps and
    leaves other fields alone). This renames every such key to its field's name and
    merges the repeats the same way, so editing the result edits what Go would see.
    Unknown keys are kept as they are. Returns ``oci`` itself when nothing changes.
    """
    changed = [False]
    out = _decoded_struct(oci, _SPEC, None, changed)
    return out if changed[0] else oci


def _decoded_struct(
    obj: dict[str, Any], fields: tuple[_Field, ...], old: dict[str, Any] | None, changed: list[bool]
) -> dict[str, Any]:
    lookup = _lookup(fields)
    out: dict[str, Any] = dict(old) if old else {}
    for key, value in obj.items():
        field = lookup.exact.get(key) or lookup.folded.get(go_fold(key))
        if field is None:
            out[key] = value
            continue
        if field.name != key:
            changed[0] = True
        previous = out.get(field.name, _MISSING)
        if previous is not _MISSING:
            changed[0] = True
        out[field.name] = _decoded_value(value, field.kind, previous, changed)
    return out


def _decoded_value(value: Any, kind: Any, previous: Any, changed: list[bool]) -> Any:
    if value is None:
        return None if _nilable(kind) or previous is _MISSING else previous
    if not isinstance(kind, tuple):
        return value
    tag = kind[0]
    if tag in ("ptr", "val") and isinstance(value, dict):
        return _decoded_struct(value, kind[1], previous if isinstance(previous, dict) else None, changed)
    if tag == "list" and isinstance(value, list) and isinstance(kind[1], tuple):
        before = previous if isinstance(previous, list) else []
        return [
            _decoded_value(item, kind[1], before[i] if i < len(before) else _MISSING, changed)
            for i, item in enumerate(value)
        ]
    return value
