"""``create-symlinks --link TARGET::LINK``: make symlinks inside the container root.

``LINK`` is resolved inside the root (its parent directories are created,
0755); ``TARGET`` is stored verbatim and never resolved, as with ``ln -sf``.
An existing entry at ``LINK`` is replaced atomically (a temporary link renamed
over it); a link that already points at ``TARGET`` is left alone.
"""

from __future__ import annotations

import os

from cdikit._rootfs import ContainerRoot
from cdikit.integrations.hooks._errors import HookError

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["create_symlinks", "parse_link_spec"]


def parse_link_spec(spec: str) -> tuple[str, str]:
    """``TARGET::LINK`` -> (target, link); exactly one ``::`` and both parts non-empty."""
    parts = spec.split("::")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise HookError(f"invalid symlink specification {spec!r} (want TARGET::LINK)", field="--link")
    return parts[0], parts[1]


def _create_one(root: ContainerRoot, target: str, link: str) -> None:
    parent, name = root.open_parent(link, create=True)
    try:
        try:
            if os.readlink(name, dir_fd=parent) == target:
                return
        except OSError:
            pass  # missing, or not a symlink: replace it
        tmp = f".{name}.cdi-hook-{os.urandom(4).hex()}"
        os.symlink(target, tmp, dir_fd=parent)
        try:
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            os.unlink(tmp, dir_fd=parent)
            raise
    finally:
        os.close(parent)


def create_symlinks(root: ContainerRoot, specs: Sequence[str]) -> None:
    """Create every ``TARGET::LINK`` of ``specs`` (duplicates once) inside ``root``."""
    links = [parse_link_spec(s) for s in dict.fromkeys(specs)]
    for target, link in links:
        try:
            _create_one(root, target, link)
        except OSError as e:
            raise HookError(
                f"cannot create symlink {link} -> {target} in {root.path}: {e.strerror}", path=link
            ) from e
