"""Filling CDI device nodes from the host, as ``container-edits_unix.go`` of the reference does.

A node is *minimally specified* when its ``type`` is set and either ``major``
is non-zero or the type is ``p`` (a FIFO has no numbers). Such nodes tolerate a
host path that is missing or not a device, and only take ``fileMode`` from the
host. Every other node must ``lstat`` (symlinks are not followed) to a block,
char or FIFO node, and takes its type, numbers and mode from there.

Unlike the reference, nothing is written back into the (cached) spec objects:
the filled values are returned.
"""

from __future__ import annotations

import os
import stat

from cdikit._text import go_errno_text, go_quote
from cdikit.errors import InjectionError

# Not typing's TYPE_CHECKING, and no msgspec types at run time: a runtime shim applying
# cached edits imports this module on every container start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple

    from cdikit.spec.types import DeviceNode

__all__ = ["FilledNode", "HostDevice", "fill_device_node", "lookup_host_device"]


if TYPE_CHECKING:

    class HostDevice(NamedTuple):
        """What ``lstat`` says about a host device node."""

        type: str  # "b", "c" or "p"
        major: int
        minor: int
        file_mode: int  # raw permission bits of st_mode, setuid/setgid/sticky included

    class FilledNode(NamedTuple):
        """A device node after host filling: what goes into ``linux.devices``."""

        type: str
        major: int
        minor: int
        file_mode: int | None

else:  # the same tuples without importing typing or collections (the shim's warm start path)

    def _node_tuple(name: str) -> type:
        def __new__(
            cls: type, type: str, major: int, minor: int, file_mode: int | None
        ) -> tuple[object, ...]:
            return tuple.__new__(cls, (type, major, minor, file_mode))  # type: ignore[type-var]

        def __repr__(self: tuple[object, ...]) -> str:
            return f"{name}(type={self[0]!r}, major={self[1]!r}, minor={self[2]!r}, file_mode={self[3]!r})"

        def __getnewargs__(self: tuple[object, ...]) -> tuple[object, ...]:
            return tuple(self)

        fields = ("type", "major", "minor", "file_mode")
        namespace: dict[str, object] = {
            "__slots__": (),
            "_fields": fields,
            "__new__": __new__,
            "__repr__": __repr__,
            "__getnewargs__": __getnewargs__,
            "__module__": __name__,
        }
        for i, field in enumerate(fields):
            namespace[field] = property(lambda self, i=i: self[i])
        return type(name, (tuple,), namespace)

    HostDevice = _node_tuple("HostDevice")
    FilledNode = _node_tuple("FilledNode")


class _NotADevice(Exception):
    """lstat worked but the inode is no block, char or FIFO node."""


def _lstat_device(host_path: str) -> HostDevice:
    """``lstat`` ``host_path``; raises OSError, ValueError (NUL byte) or _NotADevice."""
    st = os.lstat(host_path)
    mode = st.st_mode
    if stat.S_ISBLK(mode):
        kind = "b"
    elif stat.S_ISCHR(mode):
        kind = "c"
    elif stat.S_ISFIFO(mode):
        kind = "p"
    else:
        raise _NotADevice
    rdev = st.st_rdev
    return HostDevice(kind, os.major(rdev), os.minor(rdev), stat.S_IMODE(mode))


def lookup_host_device(host_path: str) -> HostDevice:
    """The host device at ``host_path`` (relative paths are relative to the cwd).

    Raises InjectionError with the reference's inner text
    (``failed to stat CDI host device "..." : <reason>``).
    """
    try:
        return _lstat_device(host_path)
    except (OSError, ValueError, _NotADevice) as err:
        raise _stat_error(host_path, err) from None


def _stat_error(host_path: str, err: Exception) -> InjectionError:
    if isinstance(err, _NotADevice):
        reason = "not a device node"
    elif isinstance(err, OSError):
        reason = go_errno_text(err)
    else:
        # A NUL byte (ValueError): Go's syscall layer refuses such a path with EINVAL.
        reason = "invalid argument"
    return InjectionError(f"failed to stat CDI host device {go_quote(host_path)}: {reason}", field="hostPath")


def fill_device_node(node: DeviceNode) -> FilledNode:
    """Type, numbers and mode of ``node`` completed from the host, exactly as the reference does.

    Raises InjectionError with the reference's inner text (without the
    ``failed to inject devices:`` prefix, which the caller adds).
    """
    kind, major, minor, file_mode = node.type, node.major, node.minor, node.file_mode
    host_path = node.host_path or node.path
    minimal = kind != "" and (major != 0 or kind == "p")
    try:
        host = _lstat_device(host_path)
    except (OSError, ValueError, _NotADevice) as err:
        if minimal:
            # Minimal nodes do not need the host at all: keep them exactly as written.
            return FilledNode(kind, major, minor, file_mode)
        raise _stat_error(host_path, err) from None
    if file_mode is None:
        file_mode = host.file_mode
    if minimal:
        # The reference trusts a minimal node's type and numbers, even against the host.
        return FilledNode(kind, major, minor, file_mode)
    if kind == "":
        kind = host.type
    elif kind != host.type:
        raise InjectionError(
            f"CDI device ({go_quote(node.path)}, {go_quote(host_path)}), "
            f"host type mismatch ({kind}, {host.type})",
            field="type",
        )
    if kind != "p" and major == 0:
        # Both numbers come from the host, an explicit minor included (reference behaviour).
        major, minor = host.major, host.minor
    return FilledNode(kind, major, minor, file_mode)
