"""Plain-Python stand-ins of the wire records, for spec producers on start-up paths.

:mod:`cdikit.spec.types` is built on msgspec, whose import (with
typing_extensions, inspect, datetime, uuid, decimal) costs more than
``cdi generate nvidia --mode management`` does all its discovery in. The
generator therefore builds its spec from these records: the same class names,
fields (names, order, defaults) and ``edits``/``is_empty`` helpers, so that the
encoder (:mod:`cdikit.spec.encode`, which only reads attributes) and the version
rules (:mod:`cdikit.spec.version`) take them as they are, byte for byte.
:func:`to_struct` turns them into the typed records the library API returns.

For type checkers these *are* the typed records (the two are interchangeable
wherever only fields are read or set); ``tests/spec/testplain.py`` keeps the
field lists equal to :mod:`cdikit.spec.types`.
"""

from __future__ import annotations

from cdikit._record import record

TYPE_CHECKING = False  # not typing's (start-up time)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, Mount, Spec

    T = TypeVar("T")
else:

    @record()
    class DeviceNode:
        path: str = ""
        host_path: str = ""
        type: str = ""
        major: int = 0
        minor: int = 0
        file_mode: int | None = None
        permissions: str = ""
        uid: int | None = None
        gid: int | None = None

    @record()
    class Mount:
        host_path: str = ""
        container_path: str = ""
        options: list[str] | None = None
        type: str = ""

    @record()
    class Hook:
        hook_name: str = ""
        path: str = ""
        args: list[str] | None = None
        env: list[str] | None = None
        timeout: int | None = None

    @record()
    class ContainerEdits:
        env: list[str] | None = None
        device_nodes: list[DeviceNode] | None = None
        net_devices: list[object] | None = None
        hooks: list[Hook] | None = None
        mounts: list[Mount] | None = None
        intel_rdt: object | None = None
        additional_gids: list[int] | None = None

        def is_empty(self) -> bool:
            """True when the edits would change nothing (as the typed record's)."""
            return not (
                self.env
                or self.device_nodes
                or self.hooks
                or self.mounts
                or self.additional_gids
                or self.net_devices
                or self.intel_rdt is not None
            )

    @record()
    class Device:
        name: str = ""
        annotations: dict[str, str] | None = None
        container_edits: ContainerEdits | None = None

        @property
        def edits(self) -> ContainerEdits:
            return self.container_edits if self.container_edits is not None else ContainerEdits()

    @record()
    class Spec:
        cdi_version: str = ""
        kind: str = ""
        annotations: dict[str, str] | None = None
        devices: list[Device] | None = None
        container_edits: ContainerEdits | None = None

        @property
        def edits(self) -> ContainerEdits:
            return self.container_edits if self.container_edits is not None else ContainerEdits()


__all__ = [
    "ContainerEdits",
    "Device",
    "DeviceNode",
    "Hook",
    "Mount",
    "Spec",
    "identity",
    "replace",
    "to_struct",
]


def _fields(obj: object) -> tuple[str, ...] | None:
    names: tuple[str, ...] | None = getattr(type(obj), "__record_fields__", None)
    return names


def replace(obj: T, **changes: Any) -> T:
    """A copy of ``obj`` (a plain or a typed record) with ``changes`` applied."""
    names = _fields(obj)
    if names is None:
        import msgspec

        return msgspec.structs.replace(obj, **changes)  # type: ignore[type-var]
    values = {name: getattr(obj, name) for name in names}
    values.update(changes)
    return type(obj)(**values)


def _frozen(value: object) -> object:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    names = _fields(value)
    if names is not None:
        return (type(value).__name__, *(_frozen(getattr(value, n)) for n in names))
    return value


def identity(obj: object) -> object:
    """A hashable key equal for two records exactly when their JSON encodings are equal.

    Typed records answer their JSON (what the reference compares); plain ones the
    tuple of their field values, which is equal exactly when that JSON would be.
    """
    names = _fields(obj)
    if names is not None:
        key: list[object] = [type(obj).__name__]
        for name in names:
            value = getattr(obj, name)
            if type(value) is list:  # a node's, mount's or hook's strings: no deeper walk needed
                value = tuple(value) if all(type(v) is str for v in value) else _frozen(value)
            elif type(value) is dict or _fields(value) is not None:
                value = _frozen(value)
            key.append(value)
        return tuple(key)
    import msgspec

    return msgspec.json.encode(obj)


def to_struct(obj: T) -> T:
    """The typed record (:mod:`cdikit.spec.types`) of a plain one, recursively; others as they are."""
    if isinstance(obj, list):
        return [to_struct(item) for item in obj]  # type: ignore[return-value]
    names = _fields(obj)
    if names is None:
        return obj
    from cdikit.spec import types

    struct: T = getattr(types, type(obj).__name__)(**{n: to_struct(getattr(obj, n)) for n in names})
    return struct
