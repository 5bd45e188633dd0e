"""Applying CDI container edits to an OCI runtime spec (a ``config.json`` dict).

Mirrors ``ContainerEdits.Apply`` of the reference (v1.1.0, which edits through
runtime-tools' ``generate`` package) step by step, in its fixed order: env,
device nodes (host fill, cgroup rules, process uid/gid), net devices, mounts
(replacement, then a stable sort of *all* mounts by depth), hooks, intelRdt,
additional gids. The sections it creates have the shape Go's encoding of
runtime-spec v1.3.0 gives them (see ``canonical.py``).

One deliberate difference: the edit is transactional. Sections are copied
before they are changed (copy-on-write, never a deep copy of the document),
and only a fully successful edit replaces the caller's dict contents; on error
the caller's document is untouched. The cached spec objects are never written
to either (the reference stores host-filled values back into them).
"""

from __future__ import annotations

import posixpath

from cdikit._text import go_quote
from cdikit.errors import InjectionError
from cdikit.oci.canonical import go_decoded
from cdikit.oci.hostdev import fill_device_node
from cdikit.spec.hooks import HOOK_NAMES as _HOOK_ORDER

# Not typing's TYPE_CHECKING: the edits only need attribute access at run time, so a
# runtime shim applying cached edits imports neither typing nor msgspec.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

    from cdikit.spec.types import ContainerEdits, Hook, IntelRdt, Mount

__all__ = ["HOOK_NAMES", "inject_edits"]

if TYPE_CHECKING:  # annotations only (they are strings at run time)
    JSONDict = dict[str, Any]

#: OCI hook lists a CDI hook can go to (``hookName``).
HOOK_NAMES = frozenset(_HOOK_ORDER)

_PREFIX = "failed to inject devices: "
_TOMBSTONE: Any = object()


def inject_edits(oci: JSONDict, edits: Sequence[ContainerEdits]) -> None:
    """Merge ``edits`` (in order) and apply them to ``oci`` in place, exactly like the reference.

    Merging follows ``ContainerEdits.Append``: lists are concatenated, the
    last non-null ``intelRdt`` wins. Raises InjectionError
    (``failed to inject devices: <reason>``) and leaves ``oci`` unchanged
    when any step fails.
    """
    if not isinstance(oci, dict):
        raise InjectionError(_PREFIX + "OCI spec is not a JSON object")
    # Keys spelled in another case (``HOOKS``) are the same field to Go: edit that field.
    edited = _Editor(go_decoded(oci)).apply(edits)
    if edited is not oci:
        oci.clear()
        oci.update(edited)


def _invalid(where: str, what: str) -> InjectionError:
    # Go would have refused such a document when decoding it; say where it is wrong.
    return InjectionError(f"{_PREFIX}invalid OCI spec: {where} is not {what}", field=where)


def _obj(value: Any, where: str) -> JSONDict | None:
    if value is None or isinstance(value, dict):
        return value
    raise _invalid(where, "an object")


def _arr(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    raise _invalid(where, "an array")


def _arr_of(value: Any, where: str, item: type, what: str) -> list[Any]:
    """``_arr`` whose items must all be exactly ``item`` (``what`` names such a list in the error)."""
    items = _arr(value, where)
    if not all(type(x) is item for x in items):
        raise _invalid(where, what)
    return items


class _IndexedList:
    """A list with Go's "first entry whose key is K" lookups in O(1).

    Removed entries are tombstoned and squeezed out once at the end, so the
    order of the surviving entries is exactly what slice surgery in Go gives.
    """

    __slots__ = ("_field", "_items", "_where", "positions")

    def __init__(self, items: list[Any], field: str, where: str) -> None:
        self._items = items
        self._field = field
        self._where = where
        self.positions: dict[Any, list[int]] = {}
        for i, item in enumerate(items):
            self.positions.setdefault(self._key(item, i), []).append(i)

    def _key(self, item: Any, i: int) -> Any:
        if not isinstance(item, dict):
            raise _invalid(f"{self._where}[{i}]", "an object")
        key = item.get(self._field)
        if key is None:
            return ""
        if not isinstance(key, str):
            raise _invalid(f"{self._where}[{i}].{self._field}", "a string")
        return key

    def remove_first(self, key: str) -> None:
        where = self.positions.get(key)
        if where:
            self._items[where.pop(0)] = _TOMBSTONE

    def append(self, key: str, item: JSONDict) -> None:
        self._items.append(item)
        self.positions.setdefault(key, []).append(len(self._items) - 1)

    def replace_or_append(self, key: str, item: JSONDict) -> None:
        where = self.positions.get(key)
        if where:
            self._items[where[0]] = item
        else:
            self.append(key, item)

    def result(self) -> list[Any]:
        return [item for item in self._items if item is not _TOMBSTONE]


def _each(edits: Sequence[ContainerEdits], field: str) -> Iterator[Any]:
    """The concatenation of one list field over all edit sets (``Append`` without copying)."""
    for edit in edits:
        values = getattr(edit, field)
        if values:
            yield from values


class _Editor:
    """One transactional edit: a shallow copy of the document plus copy-on-write sections."""

    __slots__ = ("_hooks", "_linux", "_process", "_resources", "_user", "spec")

    def __init__(self, oci: JSONDict) -> None:
        self.spec: JSONDict = dict(oci)
        self._process: JSONDict | None = None
        self._user: JSONDict | None = None
        self._linux: JSONDict | None = None
        self._resources: JSONDict | None = None
        self._hooks: JSONDict | None = None

    # -- copy-on-write sections (created with the Go zero shape when missing) --

    def process(self) -> JSONDict:
        if self._process is None:
            current = _obj(self.spec.get("process"), "process")
            # A created Process encodes as its non-omitempty zero fields.
            proc = {"user": {"uid": 0, "gid": 0}, "cwd": ""} if current is None else dict(current)
            self.spec["process"] = self._process = proc
        return self._process

    def user(self) -> JSONDict:
        if self._user is None:
            proc = self.process()
            current = _obj(proc.get("user"), "process.user")
            user = {"uid": 0, "gid": 0} if current is None else dict(current)
            proc["user"] = self._user = user
        return self._user

    def linux(self) -> JSONDict:
        if self._linux is None:
            current = _obj(self.spec.get("linux"), "linux")
            self.spec["linux"] = self._linux = {} if current is None else dict(current)
        return self._linux

    def resources(self) -> JSONDict:
        if self._resources is None:
            linux = self.linux()
            current = _obj(linux.get("resources"), "linux.resources")
            linux["resources"] = self._resources = {} if current is None else dict(current)
        return self._resources

    def hooks(self) -> JSONDict:
        if self._hooks is None:
            current = _obj(self.spec.get("hooks"), "hooks")
            self.spec["hooks"] = self._hooks = {} if current is None else dict(current)
        return self._hooks

    # -- the steps, in the reference's order --

    def apply(self, edits: Sequence[ContainerEdits]) -> JSONDict:
        self._env(edits)
        self._device_nodes(edits)
        self._net_devices(edits)
        self._mounts(edits)
        self._hooks_step(edits)
        self._intel_rdt(edits)
        self._additional_gids(edits)
        return self.spec

    def _env(self, edits: Sequence[ContainerEdits]) -> None:
        entries = list(_each(edits, "env"))
        if not entries:
            return
        proc = self.process()
        env = _arr_of(proc.get("env"), "process.env", str, "a list of strings")
        # runtime-tools indexes the existing env by the *whole* entry but looks new
        # entries up by name: only a bare "NAME" (or an earlier CDI entry) is replaced.
        index = {entry: i for i, entry in enumerate(env)}
        for entry in entries:
            name = entry.partition("=")[0]
            i = index.get(name)
            if i is None:
                index[name] = len(env)
                env.append(entry)
            else:
                env[i] = entry
        proc["env"] = env

    def _process_id(self, field: str) -> int:
        # The process as it is at this moment (a process created for env counts, uid 0).
        proc = self.spec.get("process")
        if not isinstance(proc, dict):
            return 0
        user = proc.get("user")
        value = user.get(field) if isinstance(user, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def _device_nodes(self, edits: Sequence[ContainerEdits]) -> None:
        nodes = list(_each(edits, "device_nodes"))
        if not nodes:
            return
        linux = self.linux()
        devices = _IndexedList(_arr(linux.get("devices"), "linux.devices"), "path", "linux.devices")
        rules: list[Any] | None = None
        proc_uid = self._process_id("uid")
        proc_gid = self._process_id("gid")
        for node in nodes:
            try:
                filled = fill_device_node(node)
            except InjectionError as err:
                raise InjectionError(_PREFIX + err.message, field=f"deviceNodes {node.path}") from None
            dev: JSONDict = {
                "path": node.path,
                "type": filled.type,
                "major": filled.major,
                "minor": filled.minor,
            }
            if filled.file_mode is not None:
                dev["fileMode"] = filled.file_mode
            uid = node.uid if node.uid is not None else (proc_uid if proc_uid > 0 else None)
            gid = node.gid if node.gid is not None else (proc_gid if proc_gid > 0 else None)
            if uid is not None:
                dev["uid"] = uid
            if gid is not None:
                dev["gid"] = gid
            devices.remove_first(node.path)
            devices.replace_or_append(node.path, dev)
            if filled.type in ("b", "c"):
                access = node.permissions
                if access == "":
                    access = "rwm"
                elif access == "none":
                    access = ""
                rule: JSONDict = {
                    "allow": True,
                    "type": filled.type,
                    "major": filled.major,
                    "minor": filled.minor,
                }
                if access:
                    rule["access"] = access
                if rules is None:
                    resources = self.resources()
                    rules = _arr(resources.get("devices"), "linux.resources.devices")
                    resources["devices"] = rules
                rules.append(rule)
        linux["devices"] = devices.result()

    def _net_devices(self, edits: Sequence[ContainerEdits]) -> None:
        net_devices = list(_each(edits, "net_devices"))
        if not net_devices:
            return
        linux = self.linux()
        current = _obj(linux.get("netDevices"), "linux.netDevices")
        table = {} if current is None else dict(current)
        for dev in net_devices:
            table[dev.host_interface_name] = {"name": dev.name} if dev.name else {}
        linux["netDevices"] = table

    def _mounts(self, edits: Sequence[ContainerEdits]) -> None:
        cdi_mounts = list(_each(edits, "mounts"))
        if not cdi_mounts:
            return
        mounts = _IndexedList(_arr(self.spec.get("mounts"), "mounts"), "destination", "mounts")
        idmap = _has_user_namespace(self.spec)
        for mount in cdi_mounts:
            mounts.remove_first(mount.container_path)
            mounts.append(mount.container_path, _oci_mount(mount, idmap))
        # Every mount is re-sorted by depth, pre-existing ones included (stable, like sort.Stable).
        self.spec["mounts"] = sorted(mounts.result(), key=_mount_depth)

    def _hooks_step(self, edits: Sequence[ContainerEdits]) -> None:
        cdi_hooks: list[Hook] = list(_each(edits, "hooks"))
        if not cdi_hooks:
            return
        hooks = self.hooks()
        copied: set[str] = set()
        for hook in cdi_hooks:
            kind = hook.hook_name
            if kind not in HOOK_NAMES:
                raise InjectionError(f"{_PREFIX}unknown hook name {go_quote(kind)}", field="hookName")
            if kind not in copied:
                hooks[kind] = _arr(hooks.get(kind), f"hooks.{kind}")
                copied.add(kind)
            hooks[kind].append(_oci_hook(hook))

    def _intel_rdt(self, edits: Sequence[ContainerEdits]) -> None:
        rdt: IntelRdt | None = None
        for edit in edits:
            if edit.intel_rdt is not None:
                rdt = edit.intel_rdt
        if rdt is None:
            return
        # Replaced as a whole, never merged with what the OCI spec had.
        out: JSONDict = {}
        if rdt.clos_id:
            out["closID"] = rdt.clos_id
        if rdt.l3_cache_schema:
            out["l3CacheSchema"] = rdt.l3_cache_schema
        if rdt.mem_bw_schema:
            out["memBwSchema"] = rdt.mem_bw_schema
        if rdt.schemata:
            out["schemata"] = list(rdt.schemata)
        if rdt.enable_monitoring:
            out["enableMonitoring"] = True
        self.linux()["intelRdt"] = out

    def _additional_gids(self, edits: Sequence[ContainerEdits]) -> None:
        gids = [gid for gid in _each(edits, "additional_gids") if gid != 0]
        if not gids:
            return
        user = self.user()
        present = _arr_of(
            user.get("additionalGids"), "process.user.additionalGids", int, "a list of integers"
        )
        seen = set(present)
        for gid in gids:
            if gid not in seen:
                seen.add(gid)
                present.append(gid)
        user["additionalGids"] = present


def _oci_hook(hook: Hook) -> JSONDict:
    out: JSONDict = {"path": hook.path}
    if hook.args:
        out["args"] = list(hook.args)
    if hook.env:
        out["env"] = list(hook.env)
    if hook.timeout is not None:
        out["timeout"] = hook.timeout
    return out


def _oci_mount(mount: Mount, idmap: bool) -> JSONDict:
    out: JSONDict = {"destination": mount.container_path}
    if mount.type:
        out["type"] = mount.type
    if mount.host_path:
        out["source"] = mount.host_path
    options = list(mount.options) if mount.options else []
    if idmap:
        options = _with_idmap(options, mount.type)
    if options:
        out["options"] = options
    return out


def _with_idmap(options: list[str], mount_type: str) -> list[str]:
    """Bind mounts into a user-namespaced container get ``idmap`` (``ridmap`` when recursive).

    The reference (v1.1.0, ``withIDMapForBindMount``) idmaps injected bind
    mounts when the OCI spec has a user namespace, so that their files are
    not seen as owned by the overflow id; mounts already idmapped are left alone.
    """
    if "idmap" in options or "ridmap" in options:
        return options
    if "rbind" in options:
        return [*options, "ridmap"]
    if "bind" in options or mount_type == "bind":
        return [*options, "idmap"]
    return options


def _has_user_namespace(spec: JSONDict) -> bool:
    linux = spec.get("linux")
    if not isinstance(linux, dict):
        return False
    namespaces = linux.get("namespaces")
    if not isinstance(namespaces, list):
        return False
    return any(isinstance(ns, dict) and ns.get("type") == "user" for ns in namespaces)


def _mount_depth(mount: JSONDict) -> int:
    dest = mount.get("destination")
    return _depth(dest if isinstance(dest, str) else "")


_DEPTHS: dict[str, int] = {}  # a bounded memo (functools is not loaded on the shim's warm path)


def _depth(destination: str) -> int:
    """Number of ``/`` in Go's ``filepath.Clean(destination)``."""
    depth = _DEPTHS.get(destination)
    if depth is None:
        depth = _clean_depth(destination)
        if len(_DEPTHS) >= 4096:
            _DEPTHS.clear()
        _DEPTHS[destination] = depth
    return depth


def _clean_depth(destination: str) -> int:
    cleaned = posixpath.normpath(destination) if destination else "."
    if cleaned.startswith("//"):
        # POSIX keeps a leading "//"; Go's Clean does not.
        cleaned = cleaned[1:]
    return cleaned.count("/")
