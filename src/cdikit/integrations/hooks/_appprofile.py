"""``update-application-profile``: EGL and Vulkan see only the container's GPUs.

As nvidia-cdi-hook 1.20 does: the container's ``/dev`` is listed (inside the
root), the minors of the character devices named ``nvidia<N>`` form a bit
mask (minors of 64 and more are dropped with a warning), and
``/etc/nvidia/nvidia-application-profiles-rc.d/10-container.conf`` (0444, its
directories created 0555) gets a driver application profile that sets
``EGLVisibleDGPUDevices`` to that mask for every application. No GPU node:
nothing is written.

Differences, both deliberate: the file is replaced atomically and never
through a symlink planted in the image, and a read-only ``/etc`` (the image or
its mounts) is a warning, not a failed container (nvidia #2026).
"""

from __future__ import annotations

import errno
import os
import stat

from cdikit.integrations.hooks._errors import HookError
from cdikit.integrations.hooks._ldcache import _write_file

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from collections.abc import Callable

    from cdikit._rootfs import ContainerRoot

__all__ = ["PROFILE_DIR", "PROFILE_FILE", "gpu_mask", "profile_config", "update_application_profile"]

PROFILE_DIR = "/etc/nvidia/nvidia-application-profiles-rc.d"
PROFILE_FILE = "10-container.conf"
_MAX_ENTRIES = 1 << 16  # bounded work on a hostile /dev


def _is_gpu_node_name(name: str) -> bool:
    """``nvidia<N>`` (ASCII digits): what the reference's ``nvidia[0-9]+`` matches, without :mod:`re`."""
    digits = name[6:]
    return name.startswith("nvidia") and digits.isdigit() and digits.isascii()


def gpu_mask(root: ContainerRoot, warn: Callable[[str], None]) -> int:
    """The bit mask of the ``/dev/nvidia<N>`` character devices' minors in the container."""
    try:
        dev = root.open_dir("/dev")
    except (FileNotFoundError, NotADirectoryError):
        return 0
    except OSError as e:
        raise HookError(f"cannot open /dev in {root.path}: {e.strerror}", path=root.path) from e
    mask = 0
    try:
        listing = os.open(f"/proc/self/fd/{dev}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            with os.scandir(listing) as entries:
                for count, entry in enumerate(entries):
                    if count >= _MAX_ENTRIES:
                        raise HookError(f"/dev in {root.path} has more than {_MAX_ENTRIES} entries")
                    if not _is_gpu_node_name(entry.name):
                        continue
                    st = os.stat(entry.name, dir_fd=listing, follow_symlinks=False)
                    if not stat.S_ISCHR(st.st_mode):
                        continue
                    minor = os.minor(st.st_rdev)
                    if minor >= 64:
                        warn(f"dropping invalid minor number {minor}: must be in range [0, 63]")
                        continue
                    mask |= 1 << minor
        finally:
            os.close(listing)
    finally:
        os.close(dev)
    return mask


def profile_config(mask: int) -> bytes:
    """The application-profile file nvidia-cdi-hook writes, byte for byte."""
    return (
        '{"profiles":[{"name":"_container_","settings":["EGLVisibleDGPUDevices",'
        f'0x{mask:x}]}}],"rules":[{{"pattern":[],"profile":"_container_"}}]}}'
    ).encode()


def update_application_profile(root: ContainerRoot, warn: Callable[[str], None]) -> bool:
    """Write the profile when the container has GPU nodes; returns whether it was written."""
    mask = gpu_mask(root, warn)
    if not mask:
        return False
    try:
        fd = root.open_dir(PROFILE_DIR, create=True, mode=0o555)
        try:
            _write_file(fd, PROFILE_FILE, profile_config(mask), mode=0o444)
        finally:
            os.close(fd)
    except OSError as e:
        if e.errno == errno.EROFS:
            warn(f"{PROFILE_DIR} is read-only in {root.path}: EGL/Vulkan may see every GPU")
            return False
        raise HookError(
            f"cannot write {PROFILE_DIR}/{PROFILE_FILE} in {root.path}: {e.strerror}", path=root.path
        ) from e
    return True
