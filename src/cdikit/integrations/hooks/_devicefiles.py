"""``disable-device-node-modification``: NVML in the container must not mknod GPUs it was not given.

As nvidia-cdi-hook 1.20 does: when the host's ``/proc/driver/nvidia/params``
says ``ModifyDeviceFiles: 1``, a copy saying ``ModifyDeviceFiles: 0`` (every
other line kept) is bind-mounted over the container's
``/proc/driver/nvidia/params``. The copy lives on a small tmpfs mounted on a
scratch directory of the container's ``/run``; both mount targets are opened
inside the container root (never through a planted symlink) and used through
their ``/proc/self/fd`` handles. The hook runs in the container's mount
namespace (``createContainer``), so the mounts are the container's alone.

Improvements over the reference, which leaves the scratch directory behind
and whose single ``MS_BIND|MS_RDONLY`` call yields a *writable* bind mount:
the bind mount is remounted read-only, and the scratch tmpfs is detached and
its directory removed (the bind mount keeps the file alive).
"""

from __future__ import annotations

import errno
import os

from cdikit.integrations.hooks._errors import HookError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cdikit._rootfs import ContainerRoot

__all__ = ["HOST_PARAMS", "disable_device_node_modification", "modified_params"]

HOST_PARAMS = "/proc/driver/nvidia/params"
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
_MS_REMOUNT, _MS_BIND = 0x20, 0x1000
_MNT_DETACH = 2
_MAX_PARAMS = 1 << 20


def modified_params(text: bytes) -> bytes | None:
    """The params with ``ModifyDeviceFiles: 0``, or ``None`` when nothing needs changing.

    Bytes in, bytes out, line by line as nvidia-cdi-hook's scanner (every line ends in ``\n``).
    """
    lines = []
    changed = False
    for line in text.split(b"\n")[: -1 if text.endswith(b"\n") else None]:
        if line.startswith(b"ModifyDeviceFiles: "):
            if line == b"ModifyDeviceFiles: 0":
                return None
            if line == b"ModifyDeviceFiles: 1":
                line = b"ModifyDeviceFiles: 0"
                changed = True
        lines.append(line + b"\n")
    return b"".join(lines) if changed else None


def _enc(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    from cdikit._libc import c_long, call, get_errno

    if call("mount", _enc(source), _enc(target), _enc(fstype), c_long(flags), _enc(data)) != 0:
        err = get_errno()
        raise OSError(err, os.strerror(err), target)


def _umount(target: str) -> None:
    from cdikit._libc import call, get_errno

    if call("umount2", os.fsencode(target), _MNT_DETACH) != 0:
        err = get_errno()
        raise OSError(err, os.strerror(err), target)


def disable_device_node_modification(root: ContainerRoot, host_params: str = HOST_PARAMS) -> bool:
    """Mount the modified params over the container's; returns whether anything was done."""
    try:
        with open(host_params, "rb") as f:
            contents = modified_params(f.read(_MAX_PARAMS))
    except FileNotFoundError:
        return False  # no NVIDIA driver loaded: nothing to protect
    except OSError as e:
        raise HookError(f"cannot read {host_params}: {e.strerror}", path=host_params) from e
    if contents is None:
        return False
    scratch = f"/run/cdikit-hook-{os.urandom(8).hex()}"
    try:
        _mount_params(root, scratch, contents)
    except OSError as e:
        raise HookError(
            f"cannot mount the modified NVIDIA params over {HOST_PARAMS} in {root.path}: {e.strerror}",
            path=root.path,
        ) from e
    return True


def _mount_params(root: ContainerRoot, scratch: str, contents: bytes) -> None:
    fd = root.open_dir(scratch, create=True)
    try:
        size = max(len(contents), 4096)
        _mount(
            "tmpfs",
            f"/proc/self/fd/{fd}",
            "tmpfs",
            _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
            f"size={size},mode=0755",
        )
    finally:
        os.close(fd)
    try:
        tmp = root.open_dir(scratch)  # now the tmpfs
        try:
            real = os.open(f"/proc/self/fd/{tmp}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                out = os.open(
                    "nvct-params",
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o444,
                    dir_fd=real,
                )
                try:
                    os.write(out, contents)
                    os.fchmod(out, 0o444)
                finally:
                    os.close(out)
                src = os.open("nvct-params", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=real)
            finally:
                os.close(real)
        finally:
            os.close(tmp)
        try:
            target = root.open(HOST_PARAMS)
            try:
                _mount(f"/proc/self/fd/{src}", f"/proc/self/fd/{target}", None, _MS_BIND)
            finally:
                os.close(target)
        finally:
            os.close(src)
        bound = root.open(HOST_PARAMS)  # the bind mount itself: make it really read-only
        try:
            flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
            _mount(None, f"/proc/self/fd/{bound}", None, flags)
        finally:
            os.close(bound)
    finally:
        _drop_scratch(root, scratch)


def _drop_scratch(root: ContainerRoot, scratch: str) -> None:
    """Detach the scratch tmpfs (the bind mount keeps the file) and remove its directory."""
    try:
        fd = root.open_dir(scratch)
        try:
            _umount(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    parent, name = root.open_parent(scratch)
    try:
        real = os.open(f"/proc/self/fd/{parent}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.rmdir(name, dir_fd=real)
        finally:
            os.close(real)
    except OSError:
        pass  # a leftover empty directory is harmless
    finally:
        os.close(parent)
