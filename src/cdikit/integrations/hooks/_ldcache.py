"""``update-ldcache --folder DIR``: make container libraries findable by the dynamic loader.

The folders go to a fixed drop-in, ``/etc/ld.so.conf.d/00-cdikit.conf``
(fixed, so restarting a container does not pile up files as the reference's
random names do), ``/etc/ld.so.conf`` gets the standard ``include`` line when
it is missing, and then the host's ``ldconfig`` rebuilds ``/etc/ld.so.cache``.
Every file this hook writes is opened inside the root (see
:mod:`cdikit._rootfs`). ``ldconfig`` reads the image's config, so it is not
merely chrooted (``ldconfig -r``: the container's ``/proc/1/root`` is the
host's root at this point): it runs pivoted into the root in its own mount and
PID namespaces with a fresh ``/proc``, almost no capabilities, resource limits
and a timeout (see :mod:`._confine`). No container code is ever run: a
dynamically linked ldconfig is refused.
"""

from __future__ import annotations

import os

from cdikit._rootfs import ContainerRoot
from cdikit.integrations.hooks._errors import HookError

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DROP_IN", "update_ldcache"]

DROP_IN = "00-cdikit.conf"
_LD_SO_CONF = "include /etc/ld.so.conf.d/*.conf\n"


def _write_file(dir_fd: int, name: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``name`` in ``dir_fd`` atomically; never follows a symlink planted there."""
    # O_PATH handles cannot be used as dir_fd for writes: reopen the directory for real.
    real_dir = os.open(f"/proc/self/fd/{dir_fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    tmp = f".{name}.{os.urandom(4).hex()}"
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=real_dir
        )
        try:
            os.write(fd, data)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=real_dir, dst_dir_fd=real_dir)
    except OSError:
        try:
            os.unlink(tmp, dir_fd=real_dir)
        except OSError:
            pass
        raise
    finally:
        os.close(real_dir)


def _ldconfig_binary(path: str) -> str:
    path = path.removeprefix("@")  # nvidia-ctk's spelling of "a host path"
    # Ubuntu ships /sbin/ldconfig as a shell wrapper around /sbin/ldconfig.real.
    real = path + ".real"
    return real if os.path.isfile(real) else path


def update_ldcache(
    root: ContainerRoot, folders: Sequence[str], *, ldconfig: str = "/sbin/ldconfig", timeout: float = 60.0
) -> None:
    """Register ``folders`` (container paths) with the container's loader cache."""
    if os.path.realpath(root.path) == "/":
        raise HookError("refusing to update the ld cache of the host root '/'", path=root.path)
    wanted = ["/" + "/".join(p for p in f.split("/") if p) for f in dict.fromkeys(folders) if f.strip("/")]
    try:
        etc = root.open_dir("/etc/ld.so.conf.d", create=True)
        try:
            if wanted:
                _write_file(etc, DROP_IN, "".join(f + "\n" for f in wanted).encode())
        finally:
            os.close(etc)
        etc = root.open_dir("/etc")
        try:
            try:
                os.stat("ld.so.conf", dir_fd=etc, follow_symlinks=False)
            except FileNotFoundError:
                _write_file(etc, "ld.so.conf", _LD_SO_CONF.encode())
        finally:
            os.close(etc)
    except OSError as e:
        raise HookError(f"cannot write the loader config in {root.path}: {e.strerror}", path=root.path) from e
    from cdikit.integrations.hooks._confine import run_in_root

    binary = _ldconfig_binary(ldconfig)
    args = ["-f", "/etc/ld.so.conf", "-C", "/etc/ld.so.cache"]
    code, output = run_in_root(root.path, binary, args, timeout=timeout)
    if code != 0:
        raise HookError(
            f"{binary} {' '.join(args)} in {root.path} failed (exit {code}): {output}", path=root.path
        )
