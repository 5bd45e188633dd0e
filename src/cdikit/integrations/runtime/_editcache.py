"""The shim's cache of resolved edits: a warm container start skips the registry.

All a create with CDI requests needs from the registry is the list of
container edits for the requested names, in the reference's order
(:meth:`cdikit.registry.Registry.collect_edits`). That list depends only on
the spec files and on the requests, so this cache keeps it as plain data
(:mod:`marshal`: no import cost, unlike msgspec or json) keyed by

* a *stamp* of the spec dirs: for each dir its ``lstat``, and for each
  candidate file in it (``*.json``, ``*.yaml``) its ``stat``
  ``(dev, ino, mode, size, mtime_ns, ctime_ns)``, or the errno of a failure;
  adding, removing, renaming or rewriting any spec file changes it (ctime
  cannot be set back from user space);
* the requests (names and optional names).

A hit yields exactly the edits the registry would give, as attribute views
over the plain data; host device nodes are still looked up at injection
time by :func:`cdikit.oci.inject_edits`, which applies them. Only
successful resolutions are stored; a stamp younger than
:data:`RACY_WINDOW_NS` is never stored (a write within the filesystem's
timestamp granularity could otherwise go unnoticed), as in the registry.

Trust and location follow the registry's disk cache
(:mod:`cdikit.registry._diskcache`, which imports msgspec, hence the few
lines repeated here): ``$CDIKIT_CACHE_DIR`` (``""``/``off`` disable it),
``/var/cache/cdikit`` for root, else the per-user cache dir; the directory
must be a real directory owned by the effective uid and not writable by
group or others, each file a regular file owned by that uid. Anything
unreadable or malformed is a miss; a failed write is ignored.
``CDIKIT_RUNTIME_EDIT_CACHE=off`` turns this cache alone off (the registry's
cache stays on), to compare or to rule it out.
"""

from __future__ import annotations

import marshal
import os
import stat

from cdikit._cachedir import CACHE_ENV, RACY_WINDOW_NS, default_cache_dir, read_private_file, secure_dir
from cdikit._paths import has_spec_extension
from cdikit._version import __version__

TYPE_CHECKING = False  # not typing's: this module is on the container start path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cdikit.spec.types import ContainerEdits

__all__ = [
    "CACHE_ENV",
    "RACY_WINDOW_NS",
    "SWITCH_ENV",
    "EditCache",
    "Resolution",
    "cache_dir",
    "edit_views",
    "open_edit_cache",
    "plain_edits",
    "spec_dir_stamp",
]

SWITCH_ENV = "CDIKIT_RUNTIME_EDIT_CACHE"
_FORMAT = "cdikit-runtime-edits/1"
_MAX_ENTRIES = 64  # request sets kept per stamp; the oldest go first


def cache_dir() -> str | None:
    """The cache directory (None: disabled), the same one the registry's disk cache uses."""
    return default_cache_dir()


def _stat_fields(st: os.stat_result) -> tuple[int, int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def spec_dir_stamp(spec_dirs: Sequence[str]) -> tuple[tuple[Any, ...], int]:
    """The stamp of ``spec_dirs`` and the newest mtime/ctime in it (ns; 0 when none).

    It covers what the registry's scan reads: each dir's own ``lstat`` (a
    created, removed or renamed entry changes its mtime) and, following
    symlinks as the loader does, each candidate file.
    """
    stamp: list[tuple[Any, ...]] = []
    newest = 0
    for directory in spec_dirs:
        try:
            st = os.lstat(directory)
        except OSError as e:
            stamp.append((directory, e.errno))
            continue
        fields: list[Any] = [directory, _stat_fields(st)]
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
        if stat.S_ISDIR(st.st_mode):
            try:
                names = sorted(os.listdir(directory))
            except OSError as e:
                names = []
                fields.append(e.errno)
            paths = [(n, os.path.join(directory, n)) for n in names if has_spec_extension(n)]
        else:
            paths = [("", directory)]  # a file (or a symlink) given as a spec dir
        for name, path in paths:
            try:
                st = os.stat(path)
            except OSError as e:
                fields.append((name, e.errno))
                continue
            fields.append((name, _stat_fields(st)))
            newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
        stamp.append(tuple(fields))
    return tuple(stamp), newest


class _Uncacheable(Exception):
    """A value with no plain form here (never expected from the wire types)."""


def _plain(value: Any) -> Any:
    fields = getattr(value, "__struct_fields__", None)
    if fields is not None:
        return {name: _plain(getattr(value, name)) for name in fields}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    # A dict would be read back as a record: the edits have none, refuse rather than guess.
    raise _Uncacheable(type(value).__name__)


def plain_edits(edits: Sequence[ContainerEdits]) -> list[dict[str, Any]] | None:
    """``edits`` as plain dicts and lists (None when something has no plain form)."""
    try:
        return [_plain(edit) for edit in edits]
    except _Uncacheable:
        return None


class _View:
    """Attribute access to a plain record: what :func:`cdikit.oci.inject_edits` reads of a Struct."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update({name: _view(value) for name, value in fields.items()})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _View) and self.__dict__ == other.__dict__

    def __repr__(self) -> str:
        return f"_View({self.__dict__!r})"


def _view(value: Any) -> Any:
    if isinstance(value, dict):
        return _View(value)
    if isinstance(value, list):
        return [_view(item) for item in value]
    return value


def edit_views(plain: list[dict[str, Any]]) -> list[ContainerEdits]:
    """Objects with the attributes of the ``ContainerEdits`` that ``plain`` was made from."""
    views: list[Any] = [_View(edit) for edit in plain]
    return views


class Resolution:
    """One cached answer: the names injected, their edits (plain) and the refresh warning."""

    __slots__ = ("edits", "names", "warning")

    def __init__(self, names: list[str], edits: list[dict[str, Any]], warning: str | None) -> None:
        self.names = names
        self.edits = edits
        self.warning = warning


def _request_key(names: Sequence[str], optional: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(names), tuple(sorted(optional))


def _sha256_hex(text: str) -> str:
    try:  # the bare module: hashlib would load OpenSSL on every container start
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python >= 3.12 renamed it
        from hashlib import sha256
    return str(sha256(text.encode("utf-8", "surrogateescape")).hexdigest())


class EditCache:
    """The cached resolutions for one list of spec dirs, valid while their stamp holds."""

    __slots__ = ("_entries", "_identity", "_newest", "_path", "_stamp")

    def __init__(self, root: str, spec_dirs: Sequence[str]) -> None:
        self._identity = (_FORMAT, __version__, tuple(spec_dirs))
        name = _sha256_hex(repr(self._identity))
        self._path = os.path.join(root, f"runtime-edits-{name}.marshal")
        self._stamp, self._newest = spec_dir_stamp(spec_dirs)
        self._entries: dict[Any, Any] | None = None

    @property
    def path(self) -> str:
        return self._path

    def _load(self) -> dict[Any, Any]:
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def _read(self) -> dict[Any, Any]:
        data = read_private_file(self._path)
        if data is None:
            return {}
        try:
            identity, stamp, entries = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return {}
        if identity != self._identity or stamp != self._stamp or not isinstance(entries, dict):
            return {}  # other spec files (or another cdikit): everything in it is stale
        return entries

    def lookup(self, names: Sequence[str], optional: Sequence[str]) -> Resolution | None:
        """The stored resolution of these requests under the current stamp, else None."""
        found = self._load().get(_request_key(names, optional))
        try:
            injected, edits, warning = found  # type: ignore[misc]
        except (TypeError, ValueError):
            return None
        if not isinstance(injected, tuple) or not isinstance(edits, list):
            return None
        return Resolution(list(injected), edits, warning)

    def store(
        self,
        names: Sequence[str],
        optional: Sequence[str],
        resolution: Resolution,
    ) -> bool:
        """Remember ``resolution`` (atomically, failures ignored); False when it was not stored."""
        import time

        if time.time_ns() - self._newest <= RACY_WINDOW_NS:
            return False  # a spec file changed too recently to trust its stamp
        entries = self._load()
        key = _request_key(names, optional)
        entries.pop(key, None)
        entries[key] = (tuple(resolution.names), resolution.edits, resolution.warning)
        while len(entries) > _MAX_ENTRIES:
            del entries[next(iter(entries))]
        try:
            data = marshal.dumps((self._identity, self._stamp, entries))
        except ValueError:
            return False
        from cdikit._atomic import atomic_write
        from cdikit.errors import CDIError

        try:
            atomic_write(self._path, data, mode=0o600, make_parents=False)
        except (CDIError, OSError):
            return False
        return True


def open_edit_cache(spec_dirs: Sequence[str]) -> EditCache | None:
    """The edit cache of ``spec_dirs`` (None: disabled or no trusted cache directory)."""
    if os.environ.get(SWITCH_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    root = cache_dir()
    if not root or not secure_dir(root):
        return None
    return EditCache(root, spec_dirs)
