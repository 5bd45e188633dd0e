"""``cdi transform root``: move the host (or container) paths of a spec to another root.

Typical use: a spec generated inside a driver container (driver root ``/``) is
installed on a host where the driver lives at ``/run/nvidia/driver``.
Matching is on whole path components, exactly as ``nvidia-ctk cdi transform root``:
``/a`` matches ``/a`` and ``/a/x`` but not ``/ab``; an empty ``from`` matches every
absolute path. The spec keeps its ``cdiVersion``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from cdikit.errors import CDIError
from cdikit.spec.types import ContainerEdits, DeviceNode, Hook, Mount, Spec

__all__ = ["TransformError", "transform_root"]

RelativeTo = Literal["host", "container"]
_LIFECYCLE_CONTAINER_HOOKS = ("createContainer", "startContainer")


class TransformError(CDIError):
    """A transform request that cannot be applied."""


def _path_mover(src: str, dst: str) -> Callable[[str], str]:
    src = os.path.normpath(src) if src else ""
    if src == "/":
        src = ""

    def move(path: str) -> str:
        if not path.startswith("/"):
            return path
        if src and path != src and not path.startswith(src + "/"):
            return path
        rest = path[len(src) :]
        joined = (dst.rstrip("/") + "/" + rest.lstrip("/")) if dst else rest or "/"
        return os.path.normpath(joined) if joined else path

    return move


def _move_arg(arg: str, move: Callable[[str], str]) -> str:
    if "::" in arg:
        return "::".join(move(part) for part in arg.split("::"))
    return move(arg)


def _hook(h: Hook, move: Callable[[str], str], relative_to: RelativeTo) -> Hook:
    in_container = h.hook_name in _LIFECYCLE_CONTAINER_HOOKS
    path, args = h.path, h.args
    if relative_to == "host":
        if h.hook_name != "startContainer":
            path = move(path)
        if not in_container and args:
            args = [_move_arg(a, move) for a in args]
    else:
        if h.hook_name == "startContainer":
            path = move(path)
        if in_container and args:
            args = [_move_arg(a, move) for a in args]
    return Hook(hook_name=h.hook_name, path=path, args=args, env=h.env, timeout=h.timeout)


def _node(n: DeviceNode, move: Callable[[str], str], relative_to: RelativeTo) -> DeviceNode:
    import msgspec

    if relative_to == "host":
        return msgspec.structs.replace(n, host_path=move(n.host_path or n.path))
    return msgspec.structs.replace(n, path=move(n.path))


def _mount(m: Mount, move: Callable[[str], str], relative_to: RelativeTo) -> Mount:
    import msgspec

    if relative_to == "host":
        return msgspec.structs.replace(m, host_path=move(m.host_path))
    return msgspec.structs.replace(m, container_path=move(m.container_path))


def _edits(
    e: ContainerEdits | None, move: Callable[[str], str], relative_to: RelativeTo
) -> ContainerEdits | None:
    if e is None:
        return None
    import msgspec

    return msgspec.structs.replace(
        e,
        device_nodes=[_node(n, move, relative_to) for n in e.device_nodes]
        if e.device_nodes
        else e.device_nodes,
        hooks=[_hook(h, move, relative_to) for h in e.hooks] if e.hooks else e.hooks,
        mounts=[_mount(m, move, relative_to) for m in e.mounts] if e.mounts else e.mounts,
    )


def transform_root(spec: Spec, src: str, dst: str, *, relative_to: RelativeTo = "host") -> Spec:
    """A copy of ``spec`` with paths below ``src`` moved below ``dst``."""
    import msgspec

    if relative_to not in ("host", "container"):
        raise TransformError(f"invalid --relative-to value {relative_to!r}: want host or container")
    if os.path.normpath(src or "/") == os.path.normpath(dst or "/") and bool(src) == bool(dst):
        return spec
    move = _path_mover(src, dst)
    return msgspec.structs.replace(
        spec,
        container_edits=_edits(spec.container_edits, move, relative_to),
        devices=[
            msgspec.structs.replace(dev, container_edits=_edits(dev.container_edits, move, relative_to))
            for dev in spec.devices
        ]
        if spec.devices
        else spec.devices,
    )
