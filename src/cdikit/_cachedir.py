"""Where cdikit keeps its caches, and how a cache file is trusted.

Shared by the registry's parse cache and the runtime shim's edit cache. A cache
entry is trusted as validated content, so the directory must belong to the
effective user and be writable by nobody else, and cache files are opened without
following symlinks and must be regular files of that user. Imports only ``os``
and ``stat``: the runtime shim uses this on every container start.
"""

from __future__ import annotations

import os
import stat

__all__ = [
    "CACHE_ENV",
    "RACY_WINDOW_NS",
    "SYSTEM_CACHE_DIR",
    "default_cache_dir",
    "open_private_file",
    "read_private_file",
    "secure_dir",
]

CACHE_ENV = "CDIKIT_CACHE_DIR"  # a path, or "" / "off" to disable every cache
SYSTEM_CACHE_DIR = "/var/cache/cdikit"
# A file stamp younger than this is not trusted yet (a rewrite within one timestamp tick
# would keep it): wide enough for the coarsest common granularity (1 s: ext3, some
# network filesystems) plus clock skew between stat and time_ns.
RACY_WINDOW_NS = 2_000_000_000


def default_cache_dir() -> str | None:
    """The cache directory (None: disabled by the environment)."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip() in ("", "off") else os.path.abspath(configured)
    if os.geteuid() == 0:
        return SYSTEM_CACHE_DIR
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(os.path.join(base, "cdikit"))


def secure_dir(path: str) -> bool:
    """Create ``path`` (0700) if needed; True when only the effective user can write into it."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def open_private_file(path: str) -> tuple[int, os.stat_result] | None:
    """An open descriptor of ``path`` and its stat, if it is a regular file of the effective user.

    No symlink is followed. The caller closes the descriptor.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        os.close(fd)
        return None
    return fd, st


def read_private_file(path: str) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of the effective user (no symlink followed)."""
    opened = open_private_file(path)
    if opened is None:
        return None
    fd = opened[0]
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError:
        return None
    finally:
        os.close(fd)
