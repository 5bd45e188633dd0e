"""``chmod --mode MODE --path PATH``: change modes of container files, inside the root.

Paths (and symlinks met on the way) are resolved inside the container root;
the mode is applied through the resolved handle, so a planted symlink can
never make the hook chmod a host file. Missing paths are skipped, and so is
EPERM (host ``/dev`` nodes bind-mounted read-only), as in the reference.
"""

from __future__ import annotations

import errno
import os
import stat

from cdikit.integrations.hooks._errors import HookError

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from collections.abc import Sequence

    from cdikit._rootfs import ContainerRoot

__all__ = ["chmod_paths", "parse_mode"]


def parse_mode(text: str) -> int:
    """An octal mode such as ``755`` or ``0o644``."""
    try:
        mode = int(text.removeprefix("0o"), 8)
    except ValueError:
        raise HookError(f"invalid mode {text!r} (want octal, e.g. 0755)", field="--mode") from None
    if not 0 <= mode <= 0o7777:
        raise HookError(f"invalid mode {text!r} (out of range)", field="--mode")
    return mode


def chmod_paths(root: ContainerRoot, mode: int, paths: Sequence[str]) -> list[str]:
    """Apply ``mode`` to every path; returns the paths that were changed."""
    changed: list[str] = []
    for path in dict.fromkeys(paths):
        try:
            fd = root.open(path)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise HookError(f"cannot resolve {path} in {root.path}: {e.strerror}", path=path) from e
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) == mode:
                continue
            # chmod through the handle's magic link: no second path lookup to race with.
            os.chmod(f"/proc/self/fd/{fd}", mode)
            changed.append(path)
        except OSError as e:
            if e.errno != errno.EPERM:
                raise HookError(f"cannot chmod {path} in {root.path}: {e.strerror}", path=path) from e
        finally:
            os.close(fd)
    return changed
