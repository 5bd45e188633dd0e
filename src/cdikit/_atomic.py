"""Atomic file replacement: readers see the old file or the new one, never a torn one.

The data goes to a file in the target's directory that has no name at all
while it is written (``O_TMPFILE``), which is flushed to disk, given its
final mode, linked under a temporary name and renamed over the target; the
directory is then synced so the rename itself survives a crash. On any
failure the temporary file is removed.

A writer killed with SIGKILL cannot clean up. With ``O_TMPFILE`` an
unfinished file has no name and vanishes with the process; only a kill in
the instant between link and rename leaves one. Where ``O_TMPFILE`` is not
available (some file systems, no ``/proc``) the file is created under its
temporary name from the start. Either way the temporary name is
``.cdikit-tmp.<name>.<random>.tmp`` (spec scanners only read ``.json`` and
``.yaml`` names, so they never load it) and the writer holds an exclusive
``flock`` on it until the rename is done: the next write into the directory
removes every such file nobody holds a lock on (:func:`remove_stale_temp_files`),
so a killed writer's leftover outlives it only until then.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from cdikit.errors import WriteError

__all__ = [
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "atomic_remove",
    "atomic_write",
    "is_temp_name",
    "remove_stale_temp_files",
]

_DIR_MODE = 0o755
TEMP_PREFIX = ".cdikit-tmp."
TEMP_SUFFIX = ".tmp"
# Tests switch O_TMPFILE off to exercise the named-temp-file path.
_USE_O_TMPFILE = hasattr(os, "O_TMPFILE")
# Errors meaning "this kernel or file system has no O_TMPFILE": fall back to a named file.
_NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP})


def is_temp_name(name: str) -> bool:
    """Whether ``name`` (a file name, no directory) is one of :func:`atomic_write`'s temporary files."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def atomic_write(
    path: str, data: bytes, *, mode: int = 0o600, make_parents: bool = True, durable: bool = True
) -> None:
    """Replace ``path`` with ``data`` atomically; raises :class:`~cdikit.errors.WriteError`.

    Parent directories are created (mode 0755) when ``make_parents`` is true.
    The file ends up with permission bits ``mode`` (the reference's temp-file
    mode, 0600, by default). Stale temporary files of killed writers in the
    directory are removed first. ``durable=False`` skips the two ``fsync``
    calls (milliseconds each on a busy disk): the replacement stays atomic for
    every reader, only a power loss may lose it. For files that do not outlive
    the machine's uptime anyway, such as a bundle's ``config.json``.
    """
    if "\0" in path:
        raise WriteError(f"failed to write CDI Spec {path!r}: the path contains a NUL byte", path=path)
    directory, name = os.path.split(os.path.abspath(path))
    try:
        if make_parents:
            os.makedirs(directory, mode=_DIR_MODE, exist_ok=True)
        remove_stale_temp_files(directory)
        fd, tmp = _open_temp(directory, name)
    except OSError as err:
        raise WriteError(f"failed to write CDI Spec {path}: {_reason(err)}", path=path) from err
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
            if durable:
                os.fsync(fd)
            if tmp is None:
                tmp = _link_temp(fd, directory, name)
            os.replace(tmp, path)
        finally:
            # Closing releases the lock: only after the rename, so no cleaner takes a live file.
            os.close(fd)
    except BaseException as err:
        # BaseException too: an interrupt must not leave the temp file behind.
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(err, OSError):
            raise WriteError(f"failed to write CDI Spec {path}: {_reason(err)}", path=path) from err
        raise
    if durable:
        _sync_dir(directory)


def atomic_remove(path: str) -> None:
    """Remove ``path``; a missing file is fine. Raises :class:`~cdikit.errors.WriteError`."""
    try:
        os.remove(path)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as err:
        reason = _reason(err) if isinstance(err, OSError) else "the path contains a NUL byte"
        raise WriteError(f"failed to remove CDI Spec {path}: {reason}", path=path) from err
    _sync_dir(os.path.dirname(os.path.abspath(path)))


def remove_stale_temp_files(directory: str) -> int:
    """Remove the temporary files of dead writers in ``directory``; returns how many.

    A file counts as stale when it carries the temporary-name pattern and
    nobody holds its lock (a live writer holds it from creation to rename;
    the kernel drops it when the writer dies). Best effort: an unreadable
    directory or file is left alone.
    """
    try:
        names = [n for n in os.listdir(directory) if is_temp_name(n)]
    except OSError:
        return 0
    removed = 0
    for name in names:
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held, now = os.fstat(fd), os.lstat(path)
            # Still the same file under that name (not a successor's), and a plain file.
            if stat.S_ISREG(held.st_mode) and (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                os.unlink(path)
                removed += 1
        except OSError:
            pass  # locked by a live writer, or gone meanwhile
        finally:
            os.close(fd)
    return removed


def _temp_path(directory: str, name: str) -> str:
    # Not tempfile.mkstemp: importing tempfile costs more than a whole spec write.
    return os.path.join(directory, f"{TEMP_PREFIX}{name[:200]}.{os.urandom(6).hex()}{TEMP_SUFFIX}")


def _open_temp(directory: str, name: str) -> tuple[int, str | None]:
    """An open, locked file for the new content, and its temporary name (None: not linked yet)."""
    if _USE_O_TMPFILE and _have_proc_fd():
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        except OSError as err:
            if err.errno not in _NO_TMPFILE:
                raise
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)  # nobody else can reach a file without a name
            return fd, None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(100):
        tmp = _temp_path(directory, name)
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink == 0:
                # A cleaner took the file for stale between our create and our lock: start over.
                os.close(fd)
                continue
        except BaseException:
            os.close(fd)
            raise
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


_proc_fd: bool | None = None


def _have_proc_fd() -> bool:
    """Whether ``/proc/self/fd`` is there to link an ``O_TMPFILE`` file (checked once per process)."""
    global _proc_fd
    if _proc_fd is None:
        _proc_fd = os.path.isdir("/proc/self/fd")
    return _proc_fd


def _link_temp(fd: int, directory: str, name: str) -> str:
    """Give the complete ``O_TMPFILE`` file a temporary name (``linkat`` through ``/proc``).

    ``linkat(AT_SYMLINK_FOLLOW)`` on the ``/proc/self/fd`` entry, the unprivileged
    way (``AT_EMPTY_PATH`` needs ``CAP_DAC_READ_SEARCH``); a directory fd makes
    Python call ``linkat`` rather than ``link``, which would not follow the entry.
    """
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _ in range(100):
            tmp = _temp_path(directory, name)
            try:
                os.link(str(fd), tmp, src_dir_fd=proc, follow_symlinks=True)
            except FileExistsError:
                continue
            return tmp
    finally:
        os.close(proc)
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_dir(directory: str) -> None:
    # Best effort: the data is already in place; some filesystems refuse fsync on
    # directories, which must not turn a successful write into an error.
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(err: OSError) -> str:
    return err.strerror or str(err)
