"""A directory tree seen as a root filesystem: root-confined lookups.

The reference resolves symlinks inside a driver root with the *host's*
``EvalSymlinks``, so an absolute link in ``/run/nvidia/driver`` escapes to the
host. :meth:`Root.resolve` walks the path one component at a time instead and
re-anchors absolute targets (and ``..`` at the top) at the root, the way the
kernel would after ``chroot``. Paths handed around are *root-relative* ("/usr/lib/x"),
which is also the path a container sees; :meth:`Root.host` turns one into a host path.
"""

from __future__ import annotations

import glob as _glob
import os
import stat

__all__ = ["Root"]

_MAX_LINKS = 40  # as Linux's MAXSYMLINKS


class Root:
    """A host directory used as ``/`` for discovery."""

    def __init__(self, path: str) -> None:
        self.path = os.path.normpath(os.path.abspath(path or "/"))

    def __repr__(self) -> str:
        return f"Root({self.path!r})"

    @property
    def is_host(self) -> bool:
        return self.path == "/"

    def host(self, rel: str) -> str:
        """The host path of the root-relative path ``rel``."""
        rel = "/" + rel.lstrip("/")
        if self.is_host:
            return rel
        return self.path if rel == "/" else self.path + rel

    def relative(self, host_path: str) -> str:
        """The root-relative form of a host path inside this root."""
        host_path = os.path.normpath(host_path)
        if self.is_host:
            return host_path
        if host_path == self.path:
            return "/"
        return host_path[len(self.path) :] if host_path.startswith(self.path + "/") else host_path

    def lstat(self, rel: str) -> os.stat_result | None:
        try:
            return os.lstat(self.host(rel))
        except OSError:
            return None

    def resolve(self, rel: str) -> str | None:
        """Follow every symlink in ``rel`` without leaving the root; ``None`` if missing."""
        pending = [c for c in rel.split("/") if c][::-1]
        done: list[str] = []
        hops = 0
        while pending:
            comp = pending.pop()
            if comp == ".":
                continue
            if comp == "..":
                if done:
                    done.pop()
                continue
            candidate = "/" + "/".join([*done, comp])
            st = self.lstat(candidate)
            if st is None:
                return None
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > _MAX_LINKS:
                    return None
                target = os.readlink(self.host(candidate))
                if target.startswith("/"):
                    done = []
                pending.extend([c for c in target.split("/") if c][::-1])
                continue
            done.append(comp)
        return "/" + "/".join(done)

    def glob(self, pattern: str) -> list[str]:
        """Root-relative paths matching the root-relative glob ``pattern``, sorted."""
        base = "" if self.is_host else _glob.escape(self.path)
        return sorted(self.relative(p) for p in _glob.glob(base + "/" + pattern.lstrip("/")))

    def is_file(self, rel: str) -> bool:
        """``rel`` resolves (inside the root) to a regular file."""
        resolved = self.resolve(rel)
        if resolved is None:
            return False
        st = self.lstat(resolved)
        return st is not None and stat.S_ISREG(st.st_mode)

    def is_symlink(self, rel: str) -> bool:
        st = self.lstat(rel)
        return st is not None and stat.S_ISLNK(st.st_mode)

    def readlink(self, rel: str) -> str | None:
        try:
            return os.readlink(self.host(rel))
        except OSError:
            return None
