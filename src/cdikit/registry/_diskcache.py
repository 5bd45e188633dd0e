"""A persistent cache of loaded spec files: an unchanged file is never parsed twice, even across processes.

The in-memory cache of :mod:`cdikit.registry.loader` spares re-parsing within
one process; a runtime shim or a CLI call is a new process every time, and
would parse every spec file on every container start. This cache keeps, per
spec directory, one file (written atomically, format in
:mod:`cdikit.registry._index`) holding for each spec file name its stamp
``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)`` and either the
validated wire :class:`~cdikit.spec.types.Spec` (msgpack, decoded only when
used, with an index of its kind, devices and annotations beside it) or the
text of the error loading it gave.

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
the directory's absolute path, the cdikit version, the interpreter's bytecode
tag, a hash of the wire types' source and the identity of the JSON schema
used, so a change of any of them simply misses; inside, the wire types'
structural fingerprint must match too before a spec is decoded.

A spec blob that does not decode when first used (it should not happen:
the index is checksummed, the file written atomically) is dropped from the
cache and the spec file is read again instead.
"""

from __future__ import annotations

import os

from cdikit._cachedir import CACHE_ENV, default_cache_dir
from cdikit._cachedir import secure_dir as _secure_dir
from cdikit.registry import _index
from cdikit.registry._index import Blobs, Entry, Stamp, sha256

TYPE_CHECKING = False  # not typing's: a registry over a warm cache needs neither it nor msgspec
if TYPE_CHECKING:
    import msgspec

    from cdikit.spec.types import Spec

__all__ = ["CACHE_ENV", "DirCache", "DiskCache", "default_cache_dir", "open_disk_cache"]

_codecs: tuple[msgspec.msgpack.Decoder[Spec], msgspec.msgpack.Encoder, str] | None = None


def _codec() -> tuple[msgspec.msgpack.Decoder[Spec], msgspec.msgpack.Encoder, str]:
    """The spec decoder, the encoder and the wire fingerprint, made on first use."""
    global _codecs
    if _codecs is None:
        import msgspec

        from cdikit.spec.types import Spec

        _codecs = (msgspec.msgpack.Decoder(Spec), msgspec.msgpack.Encoder(), _wire_fingerprint())
    return _codecs


def _wire_fingerprint() -> str:
    """The shape of the wire types: a cache written by other types than these must miss."""
    from cdikit.spec import types as _types

    parts = []
    for name in sorted(_types.__all__):
        cls = getattr(_types, name)
        parts.append(f"{name}{cls.__struct_encode_fields__}{cls.__annotations__}")
    return str(sha256("\n".join(parts).encode()).hexdigest())


def _annotations(found: dict[str, str] | None) -> dict[str, str] | None:
    return dict(found) if found else None


def index_entry(name: str, stamp: Stamp, path: str, spec: Spec) -> Entry:
    """The index entry of a valid spec: what listing its devices needs, without decoding it."""
    devices = tuple((d.name, _annotations(d.annotations)) for d in spec.devices or ())
    return (name, stamp, path, None, spec.kind, _annotations(spec.annotations), devices, 0, 0)


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
    """The cached load results of one spec directory, read on first use.

    An entry is ``(index entry, blob)``: an error entry has no blob, a spec
    loaded in this process has its msgpack, one from the file has None (its
    blob stays in the file until used).
    """

    __slots__ = ("_blobs", "_dirty", "_entries", "_key", "_path", "_wire")

    def __init__(self, path: str, key: str) -> None:
        self._path = path
        self._key = key
        self._entries: dict[str, tuple[Entry, bytes | None]] | None = None
        self._blobs: Blobs | None = None
        self._wire = ""
        self._dirty = False

    def _load(self) -> dict[str, tuple[Entry, bytes | None]]:
        entries = self._entries
        if entries is None:
            entries = self._entries = self._read()
        return entries

    def _read(self) -> dict[str, tuple[Entry, bytes | None]]:
        found = _index.read_index(self._path, self._key)
        if found is None:
            return {}
        self._blobs, self._wire, index = found
        return {name: (e, None) for name, e in index.items()}

    def lookup(self, name: str, stamp: Stamp, path: str) -> Entry | str | None:
        """The cached entry (its spec: :meth:`decode`), or the error text, of ``name`` if its stamp is ``stamp``."""
        found = self._load().get(name)
        if found is None:
            return None
        entry = found[0]
        if entry[1] != stamp:
            return None
        if entry[3] is None:
            return entry
        # An error text quotes the path as scanned: reuse it only for the same spelling.
        return entry[3] if entry[2] == path else None

    def decode(self, name: str, entry: Entry) -> Spec | None:
        """The spec of a hit; None when it cannot be had (the caller reads the file instead).

        A blob that was read but does not decode (or was written by other wire
        types) is dropped from the cache, on disk at once: the next process
        rebuilds it. One that cannot be read (the file was replaced meanwhile)
        is simply not used.
        """
        decoder, _, wire = _codec()
        current = self._entries.get(name) if self._entries is not None else None
        blob = current[1] if current is not None and current[0] is entry else None
        if blob is None:
            if self._blobs is None:
                return None
            blob = self._blobs.read(entry[7], entry[8])
            if blob is None:
                return None
            if self._wire != wire:
                self._discard(name)
                return None
        import msgspec

        try:
            return decoder.decode(blob)
        except (msgspec.DecodeError, ValueError):
            self._discard(name)
            return None

    def _discard(self, name: str) -> None:
        # Any thread may get here (a spec is decoded when first used): dict.pop and unlink are atomic.
        entries = self._entries
        if entries is not None:
            entries.pop(name, None)
            self._dirty = True
        try:
            os.unlink(self._path)
        except OSError:
            pass

    def store(self, name: str, stamp: Stamp, path: str, result: Spec | str) -> None:
        entries = self._load()
        old = entries.get(name)
        new: tuple[Entry, bytes | None]
        if isinstance(result, str):
            new = ((name, stamp, path, result, "", None, (), 0, 0), None)
        else:
            if old is not None and old[0][1] == stamp and old[0][3] is None:
                return
            new = (index_entry(name, stamp, path, result), _codec()[1].encode(result))
        if old != new:
            entries[name] = new
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

        wire = _codec()[2]
        kept: list[tuple[Entry, bytes | None]] = []
        old: bytes | None = None
        for entry, blob in self._entries.values():
            if blob is None and entry[3] is None:  # still in the old file: carry it over
                if old is None:
                    old = (
                        self._blobs.read() if self._blobs is not None and self._wire == wire else None
                    ) or b""
                blob = old[entry[7] : entry[8]]
                if len(blob) != entry[8] - entry[7] or not blob:
                    continue  # unreadable now: parsed again next time
                # The old file is about to be replaced: the spec is decoded from memory from now on.
                self._entries[entry[0]] = (entry, blob)
            kept.append((entry, blob))
        data = _index.dumps(self._key, wire, kept)
        try:
            atomic_write(self._path, data, mode=0o600, make_parents=False)
        except (CDIError, OSError):
            pass


class DiskCache:
    """The per-directory cache files under one trusted cache directory."""

    __slots__ = ("_dirs", "_identity", "root")

    def __init__(self, root: str, schema_id: str) -> None:
        self.root = root
        self._identity = _index.identity(schema_id)
        self._dirs: dict[str, DirCache] = {}

    def for_dir(self, directory: str) -> DirCache:
        """The cache of the spec directory ``directory`` (an absolute path)."""
        found = self._dirs.get(directory)
        if found is None:
            path, key = _index.cache_path(self.root, self._identity, directory)
            found = self._dirs[directory] = DirCache(path, key)
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
