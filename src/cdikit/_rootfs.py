"""Paths strictly inside a root filesystem: the one home of confined path resolution.

Two users, one walk (:func:`walk`):

* :class:`ContainerRoot`, for the ``cdi-hook`` hooks: file descriptors
  (``O_PATH`` handles) of paths inside a container root;
* :class:`Root`, for driver discovery (``cdi generate nvidia``): a driver
  root seen as ``/``, answering with *root-relative* path strings.

A hook runs as root on the host, while the root filesystem it edits belongs to
the container image: any ``..`` or symlink in it (``/lib -> /``,
``etc -> ../../../../etc``) may be planted to make a naive ``os.path.join``
write to the host. Every path here is resolved the way the container itself
would see it: ``..`` never climbs above the root, and absolute symlink
targets start again from the root.

Two resolvers give the same answers:

* :func:`_resolve_openat2`: the kernel's ``openat2(RESOLVE_IN_ROOT)`` (Linux
  5.6+), reached through :mod:`cdikit._libc`; race-free.
* :func:`walk`: a component-by-component walk with ``O_PATH |
  O_NOFOLLOW`` handles, never handing the kernel more than one component, so
  the kernel never follows a link by itself; it can also create missing
  directories on the way.

Handles are ``O_PATH`` file descriptors; the caller closes them.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from cdikit.errors import CDIError

__all__ = ["ContainerRoot", "Root", "RootfsError", "openat2_available", "walk"]

_MAX_SYMLINKS = 40  # the kernel's own limit (MAXSYMLINKS)
_O_PATH_FLAGS = os.O_PATH | os.O_CLOEXEC
_SYS_OPENAT2 = 437  # the same number on every architecture (new syscall table)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_IN_ROOT = 0x10

TYPE_CHECKING = False  # not typing's: hooks import this module on every container start
if TYPE_CHECKING:
    from collections.abc import Callable


class RootfsError(CDIError):
    """A container root that cannot be opened, or a path that names no entry inside it."""


def _components(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def walk(
    root_fd: int, path: str, follow: bool, *, create: bool = False, mode: int = 0o755
) -> tuple[int, list[str]]:
    """An ``O_PATH`` handle of ``path`` inside ``root_fd`` and its resolved root-relative components.

    Missing directories are made (``mode``) when ``create``. Raises OSError
    (ENOENT, ENOTDIR, ELOOP past 40 links, ...).
    """
    parts = _components(path)[::-1]  # a stack: the next component is parts[-1]
    stack = [os.dup(root_fd)]  # stack[0] is the root; ".." pops but never past it
    names: list[str] = []  # the components of stack[1:]
    links = 0
    try:
        while parts:
            name = parts.pop()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                    names.pop()
                continue
            cur = stack[-1]
            last = not parts
            try:
                fd = os.open(name, _O_PATH_FLAGS | os.O_NOFOLLOW, dir_fd=cur)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(name, mode, dir_fd=cur)
                except FileExistsError:
                    pass  # made concurrently: open it on the next round
                parts.append(name)
                continue
            st = os.fstat(fd)
            if stat.S_ISLNK(st.st_mode) and (follow or not last):
                os.close(fd)
                links += 1
                if links > _MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                target = os.readlink(name, dir_fd=cur)
                if target.startswith("/"):
                    # An absolute target is relative to the container root.
                    while len(stack) > 1:
                        os.close(stack.pop())
                    names.clear()
                parts.extend(reversed(_components(target)))  # the target's components come next, in order
                continue
            if last:
                return fd, [*names, name]
            if not stat.S_ISDIR(st.st_mode):
                os.close(fd)
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
            stack.append(fd)
            names.append(name)
        return os.dup(stack[-1]), names
    finally:
        for fd in stack:
            os.close(fd)


def _resolve_walk(root_fd: int, path: str, follow: bool, *, create: bool = False, mode: int = 0o755) -> int:
    return walk(root_fd, path, follow, create=create, mode=mode)[0]


_openat2: Callable[[int, bytes, int, int], int] | None = None
_openat2_probed = False


def _load_openat2() -> Callable[[int, bytes, int, int], int] | None:
    global _openat2, _openat2_probed
    if _openat2_probed:
        return _openat2
    _openat2_probed = True
    try:
        from cdikit import _libc

        c_long = _libc.c_long
    except (OSError, AttributeError, ImportError):
        return None
    order = sys.byteorder

    def call(dirfd: int, path: bytes, flags: int, resolve: int) -> int:
        how = flags.to_bytes(8, order) + bytes(8) + resolve.to_bytes(8, order)  # struct open_how
        fd = _libc.syscall(_SYS_OPENAT2, c_long(dirfd), path, how, c_long(len(how)))
        if fd < 0:
            err = _libc.get_errno()
            raise OSError(err, os.strerror(err), path.decode(errors="replace"))
        return fd

    # Probe once: ENOSYS (old kernel) or a seccomp EPERM means "walk instead".
    try:
        os.close(call(-100, b"/", _O_PATH_FLAGS, _RESOLVE_IN_ROOT))  # AT_FDCWD
    except OSError:
        return None
    _openat2 = call
    return call


def openat2_available() -> bool:
    """Whether the kernel's ``openat2(RESOLVE_IN_ROOT)`` can be used here."""
    return _load_openat2() is not None


def _resolve_openat2(root_fd: int, path: str, follow: bool) -> int:
    call = _load_openat2()
    if call is None:
        raise OSError(errno.ENOSYS, "openat2 is not available")
    flags = _O_PATH_FLAGS | (0 if follow else os.O_NOFOLLOW)
    return call(
        root_fd,
        os.fsencode("/".join(_components(path)) or "."),
        flags,
        _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS,
    )


class ContainerRoot:
    """A container root filesystem, held open; every lookup stays inside it.

    ``resolver`` picks ``"openat2"``, ``"walk"`` or ``"auto"`` (openat2 when
    the kernel has it). Directory creation always uses the walk.
    """

    def __init__(self, path: str, *, resolver: str = "auto") -> None:
        self.path = path
        try:
            self.fd = os.open(path, _O_PATH_FLAGS | os.O_DIRECTORY)
        except OSError as e:
            raise RootfsError(f"cannot open container root {path}: {e.strerror}", path=path) from e
        if resolver == "auto":
            resolver = "openat2" if openat2_available() else "walk"
        if resolver not in ("openat2", "walk"):
            raise ValueError(f"unknown resolver {resolver!r}")
        self.resolver = resolver

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> ContainerRoot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, path: str, *, follow: bool = True) -> int:
        """An ``O_PATH`` handle of ``path`` as the container sees it (raises OSError)."""
        if self.resolver == "openat2":
            return _resolve_openat2(self.fd, path, follow)
        return _resolve_walk(self.fd, path, follow)

    def open_dir(self, path: str, *, create: bool = False, mode: int = 0o755) -> int:
        """An ``O_PATH`` handle of directory ``path``, creating missing ones when ``create``."""
        try:
            fd = self.open(path)
        except FileNotFoundError:
            if not create:
                raise
            fd = _resolve_walk(self.fd, path, True, create=True, mode=mode)
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
        return fd

    def open_parent(self, path: str, *, create: bool = False) -> tuple[int, str]:
        """The parent directory handle of ``path`` and its last component.

        The last component is never resolved (so the caller can replace a
        symlink there, not what it points to).
        """
        parts = _components(path)
        if not parts or parts[-1] == "..":
            raise RootfsError(f"{path!r} does not name an entry inside the container", field=path)
        return self.open_dir("/".join(parts[:-1]), create=create), parts[-1]

    def host_path(self, fd: int) -> str:
        """The host path of a handle (for messages and for chroot'ed tools only)."""
        return os.readlink(f"/proc/self/fd/{fd}")


class Root:
    """A host directory used as ``/`` for discovery; paths handed around are root-relative.

    The reference resolves symlinks inside a driver root with the *host's*
    ``EvalSymlinks``, so an absolute link in ``/run/nvidia/driver`` escapes to
    the host. :meth:`resolve` uses :func:`walk`, the hooks' walk, instead:
    absolute targets (and ``..`` at the top) re-anchor at the root, the way
    the kernel would after ``chroot``. A root-relative path ("/usr/lib/x") is
    also the path a container sees; :meth:`host` turns one into a host path.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.normpath(os.path.abspath(path or "/"))
        # A discovery is a snapshot: each host path is lstat'ed, read as a link and
        # listed at most once per Root (one generate), not once per library looked for.
        self._stats: dict[str, os.stat_result | None] = {}
        self._links: dict[str, str | None] = {}
        self._listings: dict[str, list[str]] = {}
        self._resolved: dict[str, str | None] = {}
        self._root_ok: bool | None = None

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

    def _lstat_host(self, host: str) -> os.stat_result | None:
        try:
            return self._stats[host]
        except KeyError:
            pass
        try:
            st: os.stat_result | None = os.lstat(host)
        except OSError:
            st = None
        self._stats[host] = st
        return st

    def _readlink_host(self, host: str) -> str | None:
        try:
            return self._links[host]
        except KeyError:
            pass
        try:
            target: str | None = os.readlink(host)
        except OSError:
            target = None
        self._links[host] = target
        return target

    def lstat(self, rel: str) -> os.stat_result | None:
        return self._lstat_host(self.host(rel))

    def resolve(self, rel: str) -> str | None:
        """Follow every symlink in ``rel`` without leaving the root; ``None`` if missing.

        :func:`walk`'s rules (``..`` stops at the root, absolute link targets start
        again from it, 40 links at most), answered from ``lstat``/``readlink`` of
        host paths whose prefix is already resolved (so holds no symlink the kernel
        could follow), each looked up once per Root.
        """
        try:
            return self._resolved[rel]
        except KeyError:
            pass
        resolved = self._resolve(rel)
        self._resolved[rel] = resolved
        return resolved

    def _resolve(self, rel: str) -> str | None:
        if self._root_ok is None:
            self._root_ok = os.path.isdir(self.path)
        if not self._root_ok:
            return None
        base = "" if self.is_host else self.path
        parts = _components(rel)[::-1]
        names: list[str] = []
        links = 0
        while parts:
            name = parts.pop()
            if name == "..":
                if names:
                    names.pop()
                continue
            host = base + "/" + "/".join([*names, name])
            st = self._lstat_host(host)
            if st is None:
                return None
            if stat.S_ISLNK(st.st_mode):
                links += 1
                target = self._readlink_host(host) if links <= _MAX_SYMLINKS else None
                if target is None:
                    return None
                if target.startswith("/"):
                    names.clear()
                parts.extend(reversed(_components(target)))
                continue
            if not parts:
                return "/" + "/".join([*names, name])
            if not stat.S_ISDIR(st.st_mode):
                return None
            names.append(name)
        return "/" + "/".join(names)

    def glob(self, pattern: str) -> list[str]:
        """Root-relative paths matching the root-relative glob ``pattern``, sorted."""
        full = ("" if self.is_host else self.path) + "/" + pattern.lstrip("/")
        if not any(c in full for c in "*?["):
            # No wildcard: glob's answer is the path itself when it exists (as a link too).
            found: list[str] | None = [full] if self._lstat_host(full) is not None else []
        else:
            found = _star_glob(full, self._listings)
        if found is None:
            import glob as _glob

            base = "" if self.is_host else _glob.escape(self.path)
            found = _glob.glob(base + "/" + pattern.lstrip("/"))
        return sorted(self.relative(p) for p in found)

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


def _star_match(name: str, parts: list[str]) -> bool:
    r"""``name`` matches the glob whose literal pieces between ``*``\ s are ``parts``."""
    first, last = parts[0], parts[-1]
    if len(name) < len(first) + len(last) or not name.startswith(first) or not name.endswith(last):
        return False
    pos, end = len(first), len(name) - len(last)
    for piece in parts[1:-1]:
        at = name.find(piece, pos, end)
        if at < 0:
            return False
        pos = at + len(piece)
    return True


def _star_glob(path: str, listings: dict[str, list[str]] | None = None) -> list[str] | None:
    """:func:`glob.glob` of ``path`` when only its last component has wildcards, and only ``*``.

    Same results (hidden names need a pattern starting with ``.``; the directory
    part is taken literally), without :mod:`fnmatch` compiling a regular
    expression per pattern (a generate globs dozens of library names). None for
    any other pattern: :mod:`glob` then does it. ``listings`` (dir -> names)
    remembers each directory's names across calls.
    """
    dirname, basename = os.path.split(path)
    if "*" not in basename or any(c in basename for c in "?[") or any(c in dirname for c in "*?["):
        return None
    parts = basename.split("*")
    hidden_ok = basename.startswith(".")
    names = listings.get(dirname) if listings is not None else None
    if names is None:
        try:
            with os.scandir(dirname or os.curdir) as it:
                names = [e.name for e in it]
        except OSError:
            names = []
        if listings is not None:
            listings[dirname] = names
    return [
        os.path.join(dirname, n)
        for n in names
        if (hidden_ok or not n.startswith(".")) and _star_match(n, parts)
    ]
