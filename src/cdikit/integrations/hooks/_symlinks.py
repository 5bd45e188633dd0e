"""``create-symlinks --link TARGET::LINK``: make symlinks inside the container root.

``LINK`` is resolved inside the root (its parent directories are created,
0755); ``TARGET`` is stored verbatim and never resolved, as with ``ln -sf``.
An existing entry at ``LINK`` is replaced atomically (a temporary link renamed
over it); a link that already points at ``TARGET`` is left alone, and a
missing one is simply made (``symlink`` is atomic too).

With ``if_target_exists`` (``--if-target-exists``), a link is made only when
its ``TARGET`` exists in the container, looked up as the container would
(``test -e`` from the link's directory), inside the root: generated specs make
a device's ``/dev/dri/by-path`` links this way, in one step for every device,
and only the links to the nodes the container was given appear.
"""

from __future__ import annotations

import errno
import os

from cdikit._rootfs import ContainerRoot, _components, walk
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
        except FileNotFoundError:
            try:
                os.symlink(target, name, dir_fd=parent)  # nothing there: made in place, atomically
                return
            except FileExistsError:
                pass  # made meanwhile: replace it
        except OSError:
            pass  # not a symlink: replace it
        tmp = f".{name}.cdi-hook-{os.urandom(4).hex()}"
        os.symlink(target, tmp, dir_fd=parent)
        try:
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            os.unlink(tmp, dir_fd=parent)
            raise
    finally:
        os.close(parent)


def _link_directory(root: ContainerRoot, link: str) -> list[str]:
    """The root-relative components of the directory ``link`` will be in once it is made.

    Its existing part resolved as the kernel would (symlinks followed inside
    the root), the missing rest as :meth:`ContainerRoot.open_parent` will make
    it: new directories, ``..`` going back up.
    """
    parts = _components(os.path.dirname(link))
    for known in range(len(parts), -1, -1):
        try:
            fd, names = walk(root.fd, "/".join(parts[:known]), True)
        except (FileNotFoundError, NotADirectoryError):
            continue
        os.close(fd)
        for name in parts[known:]:
            if name != "..":
                names.append(name)
            elif names:
                names.pop()
        return names
    return []  # pragma: no cover - the root itself always resolves


def _target_exists(root: ContainerRoot, target: str, link: str) -> bool:
    """Whether ``target``, looked up from ``link``'s directory, names an entry inside the root."""
    base = [] if target.startswith("/") else _link_directory(root, link)
    rest = _components(target)
    while rest and rest[0] == "..":  # up through directories that may not exist yet
        rest.pop(0)
        if base:
            base.pop()
    try:
        fd = root.open("/".join([*base, *rest]))
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        if e.errno == errno.ELOOP:
            return False  # a symlink loop names nothing, as test -e says
        raise HookError(f"cannot look up {target} for {link} in {root.path}: {e.strerror}", path=link) from e
    os.close(fd)
    return True


def create_symlinks(root: ContainerRoot, specs: Sequence[str], *, if_target_exists: bool = False) -> None:
    """Create every ``TARGET::LINK`` of ``specs`` (duplicates once) inside ``root``.

    With ``if_target_exists``, only those whose target exists in the container.
    """
    links = [parse_link_spec(s) for s in dict.fromkeys(specs)]
    for target, link in links:
        if if_target_exists and not _target_exists(root, target, link):
            continue
        try:
            _create_one(root, target, link)
        except OSError as e:
            raise HookError(
                f"cannot create symlink {link} -> {target} in {root.path}: {e.strerror}", path=link
            ) from e
