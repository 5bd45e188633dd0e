"""A persistent cache of loaded spec files: an unchanged file is never parsed twice, even across processes.

The in-memory cache of :mod:`cdikit.registry.loader` spares re-parsing within
one process; a runtime shim or a CLI call is a new process every time, and
would parse every spec file on every container start. This cache keeps, per
spec directory, one file (msgpack, written atomically) holding for each spec
file name its stamp ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)``
and either the validated wire :class:`~cdikit.spec.types.Spec` or the text of
the error loading it gave.

Trust: an entry stands for "this file was parsed and validated", so only the
effective user may be able to write the cache. The cache directory must be a
real directory owned by the effective uid and not writable by group or others
(it is created 0700); each cache file must be a regular file owned by that uid.
If any check fails the cache is silently not used. A stamp that was "racy"
(younger than :data:`~cdikit.registry.loader.RACY_WINDOW_NS`) when the file was
loaded is never stored, as in memory. Anything unreadable, corrupt or from
another cdikit version is ignored, never an error; writes that fail are
dropped (the cache is only an optimisation).

Location: ``$CDIKIT_CACHE_DIR`` when set (``""`` or ``off`` disables the cache),
else ``/var/cache/cdikit`` for root, else ``$XDG_CACHE_HOME/cdikit`` or
``~/.cache/cdikit``. The file of a spec directory is named by the SHA-256 of
the directory's absolute path, the cdikit version, a fingerprint of the wire
types and the identity of the JSON schema used, so a change of any of them
simply misses.
"""

from __future__ import annotations

import os

try:  # the bare SHA-256 module: hashlib would load OpenSSL (~4 ms) on every container start
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python >= 3.12 renamed it; hashlib as a last resort
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]
    except ImportError:
        from hashlib import sha256

import msgspec

from cdikit._cachedir import CACHE_ENV, default_cache_dir, read_private_file
from cdikit._cachedir import secure_dir as _secure_dir
from cdikit._version import __version__
from cdikit.spec import types as _types
from cdikit.spec.types import Spec

__all__ = ["CACHE_ENV", "DirCache", "DiskCache", "default_cache_dir", "open_disk_cache"]

_FORMAT = "cdikit-spec-cache/1"
_SUFFIX = ".msgpack"

Stamp = tuple[int, int, int, int, int]


class _Entry(msgspec.Struct, array_like=True, frozen=True):
    """One spec file's load result. ``path`` is the path as scanned: error texts quote it."""

    stamp: Stamp
    path: str
    spec: bytes | None = None  # msgpack of the Spec, decoded only when used
    error: str | None = None


class _CacheFile(msgspec.Struct, array_like=True):
    key: str  # the full identity string, checked on load (the name is only its hash)
    entries: dict[str, _Entry]


_file_decoder = msgspec.msgpack.Decoder(_CacheFile)
_spec_decoder = msgspec.msgpack.Decoder(Spec)
_encoder = msgspec.msgpack.Encoder()


def _wire_fingerprint() -> str:
    """The shape of the wire types: a cache written by other types than these must miss."""
    parts = []
    for name in sorted(_types.__all__):
        cls = getattr(_types, name)
        parts.append(f"{name}{cls.__struct_encode_fields__}{cls.__annotations__}")
    return str(sha256("\n".join(parts).encode()).hexdigest())


def schema_identity(schema: object | None) -> str | None:
    """What identifies a schema validator across processes (None: it cannot be identified)."""
    if schema is None or getattr(schema, "is_noop", False):
        return "none"
    name = getattr(schema, "name", None)
    if not isinstance(name, str):
        return None
    identity = f"{type(schema).__module__}.{type(schema).__qualname__}:{name}"
    if os.path.isabs(name):
        # A schema file: its content may change under the same name.
        try:
            st = os.stat(name)
        except OSError:
            return None
        identity += f":{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    return identity


class DirCache:
    """The cached load results of one spec directory, read on first use."""

    __slots__ = ("_dirty", "_entries", "_key", "_path")

    def __init__(self, path: str, key: str) -> None:
        self._path = path
        self._key = key
        self._entries: dict[str, _Entry] | None = None
        self._dirty = False

    def _load(self) -> dict[str, _Entry]:
        entries = self._entries
        if entries is None:
            entries = self._entries = self._read()
        return entries

    def _read(self) -> dict[str, _Entry]:
        data = read_private_file(self._path)
        if data is None:
            return {}
        try:
            loaded = _file_decoder.decode(data)
        except (msgspec.DecodeError, ValueError):
            return {}
        return loaded.entries if loaded.key == self._key else {}

    def lookup(self, name: str, stamp: Stamp, path: str) -> Spec | str | None:
        """The cached spec or error text of ``name`` if its stamp is ``stamp``, else None."""
        entries = self._load()
        entry = entries.get(name)
        if entry is None or entry.stamp != stamp:
            return None
        if entry.spec is not None:
            try:
                return _spec_decoder.decode(entry.spec)
            except (msgspec.DecodeError, ValueError):
                del entries[name]  # undecodable: forget it, the fresh parse replaces it
                self._dirty = True
                return None
        # An error text quotes the path as scanned: reuse it only for the same spelling.
        if entry.error is not None and entry.path == path:
            return entry.error
        return None

    def store(self, name: str, stamp: Stamp, path: str, result: Spec | str) -> None:
        entries = self._load()
        if isinstance(result, str):
            entry = _Entry(stamp, path, error=result)
        else:
            old = entries.get(name)
            if old is not None and old.stamp == stamp and old.spec is not None:
                return
            entry = _Entry(stamp, path, spec=_encoder.encode(result))
        if entries.get(name) != entry:
            entries[name] = entry
            self._dirty = True

    def retain(self, names: set[str]) -> None:
        """Forget the files of this directory that are no longer scanned."""
        entries = self._load()
        for name in [n for n in entries if n not in names]:
            del entries[name]
            self._dirty = True

    def flush(self) -> None:
        """Write the cache file if anything changed; failures are ignored."""
        if not self._dirty or self._entries is None:
            return
        self._dirty = False
        from cdikit._atomic import atomic_write
        from cdikit.errors import CDIError

        data = _encoder.encode(_CacheFile(self._key, self._entries))
        try:
            atomic_write(self._path, data, mode=0o600, make_parents=False)
        except (CDIError, OSError):
            pass


class DiskCache:
    """The per-directory cache files under one trusted cache directory."""

    __slots__ = ("_dirs", "_identity", "root")

    def __init__(self, root: str, schema_id: str) -> None:
        self.root = root
        self._identity = f"{_FORMAT}\0{__version__}\0{_wire_fingerprint()}\0{schema_id}"
        self._dirs: dict[str, DirCache] = {}

    def for_dir(self, directory: str) -> DirCache:
        """The cache of the spec directory ``directory`` (an absolute path)."""
        found = self._dirs.get(directory)
        if found is None:
            key = f"{self._identity}\0{directory}"
            name = str(sha256(key.encode("utf-8", "surrogateescape")).hexdigest()) + _SUFFIX
            found = self._dirs[directory] = DirCache(os.path.join(self.root, name), key)
        return found

    def flush(self) -> None:
        for cache in self._dirs.values():
            cache.flush()


def open_disk_cache(setting: bool | str, schema: object | None) -> DiskCache | None:
    """The disk cache for ``setting`` (True: the default location, False: none, str: that dir).

    None when disabled, when the schema cannot be identified, or when the
    directory cannot be created or is not private to the effective user.
    """
    if setting is False:
        return None
    root = default_cache_dir() if setting is True else os.fspath(setting)
    if not root:
        return None
    schema_id = schema_identity(schema)
    if schema_id is None:
        return None
    root = os.path.abspath(root)
    if not _secure_dir(root):
        return None
    return DiskCache(root, schema_id)
