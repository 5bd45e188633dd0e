"""Atomic file replacement: readers see the old file or the new one, never a torn one.

The data goes to a hidden temporary file in the target's directory
(``.<name>.<random>.tmp``: spec scanners only read ``.json``/``.yaml`` names, so
they never pick it up), which is flushed to disk, given its final mode and
renamed over the target; the directory is then synced so the rename itself
survives a crash. On any failure the temporary file is removed.
"""

from __future__ import annotations

import os

from cdikit.errors import WriteError

__all__ = ["atomic_remove", "atomic_write"]

_DIR_MODE = 0o755


def atomic_write(path: str, data: bytes, *, mode: int = 0o600, make_parents: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; raises :class:`~cdikit.errors.WriteError`.

    Parent directories are created (mode 0755) when ``make_parents`` is true.
    The file ends up with permission bits ``mode`` (the reference's temp-file
    mode, 0600, by default).
    """
    directory, name = os.path.split(os.path.abspath(path))
    try:
        if make_parents:
            os.makedirs(directory, mode=_DIR_MODE, exist_ok=True)
        fd, tmp = _create_temp(directory, name)
    except OSError as err:
        raise WriteError(f"failed to write CDI Spec {path}: {_reason(err)}", path=path) from err
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as err:
        # BaseException too: an interrupt must not leave the temp file behind.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise WriteError(f"failed to write CDI Spec {path}: {_reason(err)}", path=path) from err
        raise
    _sync_dir(directory)


def atomic_remove(path: str) -> None:
    """Remove ``path``; a missing file is fine. Raises :class:`~cdikit.errors.WriteError`."""
    try:
        os.remove(path)
    except FileNotFoundError:
        return
    except OSError as err:
        raise WriteError(f"failed to remove CDI Spec {path}: {_reason(err)}", path=path) from err
    _sync_dir(os.path.dirname(os.path.abspath(path)))


def _create_temp(directory: str, name: str) -> tuple[int, str]:
    # Not tempfile.mkstemp: importing tempfile costs more than a whole spec write.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(100):
        tmp = os.path.join(directory, f".{name[:200]}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(17, "no free temporary file name", directory)


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
