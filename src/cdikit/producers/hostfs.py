"""Discovery over a host root: sysfs reads, globs and device nodes, for every generator.

Generators never read ``/sys`` or ``/dev`` directly: they ask a :class:`HostFS`
rooted at ``/`` in production and at a fake tree in tests, so the same code
path runs against both. Paths handed in and out are *host-absolute*
(``/sys/class/drm``, ``/dev/dri/card0``): what the spec records and what a
container sees. Reads are bounded (sysfs attributes are small; a fake or
hostile tree must not make a generator read gigabytes).
"""

from __future__ import annotations

import glob as _glob
import os
import re
import stat

from cdikit.errors import CDIError
from cdikit.spec.types import DeviceNode

__all__ = ["HostFS", "ProducerError", "natural_key"]

_READ_LIMIT = 64 * 1024  # sysfs attributes are at most a page; topology files a few KiB


class ProducerError(CDIError):
    """A generator cannot build its spec (driver missing, malformed discovery input, bad config)."""


def natural_key(text: str) -> tuple[object, ...]:
    """Sort key that orders ``card2`` before ``card10`` (digits compared as numbers)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


class HostFS:
    """The host's files as seen from ``root`` (``/`` in production)."""

    def __init__(self, root: str = "/") -> None:
        self.root = os.path.normpath(os.path.abspath(root or "/"))

    def __repr__(self) -> str:
        return f"HostFS({self.root!r})"

    def host(self, path: str) -> str:
        """Where the host-absolute ``path`` lives on this machine."""
        path = "/" + path.lstrip("/")
        return path if self.root == "/" else self.root + path

    def exists(self, path: str) -> bool:
        return os.path.exists(self.host(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.host(path))

    def read_text(self, path: str) -> str | None:
        """A small text file's content (``None`` if missing, unreadable or not a regular file)."""
        try:
            fd = os.open(self.host(path), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = os.read(fd, _READ_LIMIT)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data.decode("utf-8", "replace")

    def glob(self, pattern: str) -> list[str]:
        """Host-absolute paths matching ``pattern`` (shell glob), in natural order."""
        found = _glob.glob(_glob.escape(self.root if self.root != "/" else "") + pattern)
        strip = 0 if self.root == "/" else len(self.root)
        return sorted((p[strip:] for p in found), key=natural_key)

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self.host(path)), key=natural_key)
        except OSError:
            return []

    def link_name(self, path: str) -> str | None:
        """The last component of a symlink's target (``driver`` links name the driver)."""
        try:
            return os.path.basename(os.readlink(self.host(path)))
        except OSError:
            return None

    def device_node(
        self,
        path: str,
        *,
        container_path: str | None = None,
        details: bool = False,
        permissions: str = "",
    ) -> DeviceNode:
        """The spec entry for the device node at host path ``path``.

        With ``details`` the node carries what ``stat`` says (type, major,
        minor, file mode, gid; uid 0), as amd-ctk writes it; otherwise only
        the path and type, and the runtime looks the rest up when it injects
        (as Intel's driver writes it). A node that is not a device (a fake
        tree in tests) gets no type or numbers. ``hostPath`` is recorded only
        when it differs from the container path.
        """
        container_path = container_path or path
        host_path = self.host(path)
        try:
            st = os.stat(host_path)
        except OSError as e:
            raise ProducerError(f"device node {path}: {os.strerror(e.errno or 0)}", field=path) from e
        kind = "c" if stat.S_ISCHR(st.st_mode) else "b" if stat.S_ISBLK(st.st_mode) else ""
        node = DeviceNode(
            path=container_path,
            host_path="" if host_path == container_path else host_path,
            type=kind,
            permissions=permissions,
        )
        if kind and details:
            node.major = os.major(st.st_rdev)
            node.minor = os.minor(st.st_rdev)
            node.file_mode = stat.S_IMODE(st.st_mode)
            node.uid = 0
            node.gid = st.st_gid
        return node
