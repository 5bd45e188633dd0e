"""Incremental spec loading: a file whose stamp did not change is not parsed again.

The reference re-reads and re-parses every spec file on each refresh. cdikit
keeps, per scanned ``(path, priority)``, the loaded :class:`SpecFile` (or the
load error) together with the file's stamp ``(st_dev, st_ino, st_size,
st_mtime_ns, st_ctime_ns)``, taken with ``stat`` (symlinks followed, as the
read follows them) *before* the file is read: a change racing with the read
then leaves a newer stamp behind and is picked up by the next refresh.

Racy stamps: file timestamps tick coarsely (a kernel jiffy, or a second on
some filesystems), so a file rewritten twice within one tick, with the same
size and a recycled inode number, could keep its stamp. As in Git's "racily
clean" index entries, a result is only trusted once its stamp is older than
:data:`RACY_WINDOW_NS` at the time it was taken; a younger one is parsed again
on the next refresh (cheap: it only happens to files that just changed).
"""

from __future__ import annotations

import os
import time

from cdikit._cachedir import RACY_WINDOW_NS
from cdikit._text import go_quote
from cdikit.errors import CDIError
from cdikit.specfile import SpecFile, read_error, read_spec, recorded_path

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs milliseconds at start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from cdikit.registry._diskcache import DirCache, DiskCache
    from cdikit.spec.types import Spec
    from cdikit.specfile import SchemaValidator

    Reader = Callable[..., SpecFile]

__all__ = ["RACY_WINDOW_NS", "LoadResult", "SpecLoader", "load_error_text"]


_Stamp = tuple[int, int, int, int, int]


class LoadResult:
    """What loading one scanned file gave: a spec, or the Go-worded error text (immutable).

    Both None: the file vanished between the scan and the read (a concurrent
    removal); the refresh then treats it as never scanned rather than broken.
    (A plain class, not a dataclass: importing dataclasses costs milliseconds.)
    """

    __slots__ = ("error", "spec")

    spec: SpecFile | None
    error: str | None

    def __init__(self, spec: SpecFile | None, error: str | None) -> None:
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "error", error)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not LoadResult:
            return NotImplemented
        assert isinstance(other, LoadResult)
        return self.spec == other.spec and self.error == other.error

    def __hash__(self) -> int:
        return hash((self.spec, self.error))

    def __repr__(self) -> str:
        return f"LoadResult(spec={self.spec!r}, error={self.error!r})"


class _Entry:
    __slots__ = ("result", "stamp", "trusted")

    def __init__(self, stamp: _Stamp, result: LoadResult, trusted: bool) -> None:
        self.stamp = stamp
        self.result = result
        self.trusted = trusted


def load_error_text(path: str, err: BaseException) -> str:
    """The inner text of a load error, as Go's ``ReadSpec`` words it."""
    if isinstance(err, CDIError):
        return str(err)
    if isinstance(err, OSError):
        return str(read_error(path, err))
    return f"failed to read CDI Spec {go_quote(path)}: {err}"


_VANISHED = LoadResult(None, None)
_RETRY = LoadResult(None, "retry")  # internal marker, never returned by load()
_ATTEMPTS = 3


def _stamp(path: str) -> _Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _vanished(path: str) -> bool:
    """True when nothing at all is at ``path`` any more (a dangling symlink is still something)."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


class SpecLoader:
    """Loads scanned spec files, re-parsing only those whose stamp changed.

    Not thread-safe by itself: the registry calls it under its lock.
    ``parses`` counts actual reads, ``disk_hits`` results taken from the
    persistent ``disk`` cache (tests and benchmarks use both). The disk cache
    is consulted only on an in-memory miss, and fed only trusted (non-racy)
    results of the standard reader.
    """

    def __init__(
        self,
        *,
        schema: SchemaValidator | None = None,
        reader: Reader = read_spec,
        disk: DiskCache | None = None,
    ) -> None:
        self._schema = schema
        self._reader = reader
        self._entries: dict[tuple[str, int], _Entry] = {}
        # Another reader may read other things than the files' bytes: never persist its results.
        self._disk = disk if reader is read_spec else None
        self._disk_touched: set[str] = set()  # directories whose disk cache this refresh used
        self.parses = 0
        self.disk_hits = 0

    def load(self, path: str, priority: int) -> LoadResult:
        """The spec at ``path`` (as scanned) with ``priority``, from cache when unchanged."""
        # Fast path, inlined: the common case of a refresh is "nothing changed".
        entry = self._entries.get((path, priority))
        if entry is not None and entry.trusted:
            try:
                st = os.stat(path)
            except OSError:
                pass
            else:
                if entry.stamp == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns):
                    return entry.result
        for _ in range(_ATTEMPTS):
            result = self._load_once(path, priority)
            if result is not _RETRY:
                return result
        return self._load_once(path, priority, final=True)

    def _load_once(self, path: str, priority: int, *, final: bool = False) -> LoadResult:
        key = (path, priority)
        stamp = _stamp(path)
        if stamp is not None:
            entry = self._entries.get(key)
            if entry is not None and entry.trusted and entry.stamp == stamp:
                return entry.result
            if self._disk is not None:
                cached = self._from_disk(path, priority, stamp)
                if cached is not None:
                    self._entries[key] = _Entry(stamp, cached, True)
                    return cached
        result, persistent = self._read(path, priority)
        if result.spec is None:
            # A failed read may only be a removal or replacement racing with us: then
            # the path is gone (skip it) or holds another file now (look again).
            if _vanished(path):
                self._entries.pop(key, None)
                return _VANISHED
            if not final and _stamp(path) != stamp:
                return _RETRY
        if stamp is None:
            # Dangling symlink and the like: never cached, the reader words the error each time.
            self._entries.pop(key, None)
            return result
        trusted = time.time_ns() - max(stamp[3], stamp[4]) > RACY_WINDOW_NS
        self._entries[key] = _Entry(stamp, result, trusted)
        if trusted and persistent and self._disk is not None:
            cache, name = self._disk_slot(path)
            cache.store(name, stamp, path, result.spec.spec if result.spec is not None else str(result.error))
        return result

    def _disk_slot(self, path: str) -> tuple[DirCache, str]:
        assert self._disk is not None
        directory, name = os.path.split(os.path.abspath(path))
        self._disk_touched.add(directory)
        return self._disk.for_dir(directory), name

    def _from_disk(self, path: str, priority: int, stamp: _Stamp) -> LoadResult | None:
        cache, name = self._disk_slot(path)
        found = cache.lookup(name, stamp, path)
        if found is None:
            return None
        self.disk_hits += 1
        if isinstance(found, str):
            return LoadResult(None, found)
        entry = found

        def decode() -> Spec:
            spec = cache.decode(name, entry)
            if spec is None:  # the cache cannot give it after all: read the file itself
                self.parses += 1
                spec = self._reader(path, priority, **self._schema_kw()).spec
            return spec

        # What load_spec_bytes builds once the spec is valid; validity is what the cache records.
        names = tuple(device[0] for device in entry[6])
        return LoadResult(SpecFile.deferred(decode, entry[4], names, recorded_path(path), priority), None)

    def flush(self, scanned: Iterable[str]) -> None:
        """Persist what a refresh loaded; ``scanned`` (every path it scanned) bounds what is kept.

        Only directories in which something was loaded are rewritten: a
        refresh that found everything in memory touches no file.
        """
        if self._disk is None or not self._disk_touched:
            return
        names: dict[str, set[str]] = {d: set() for d in self._disk_touched}
        for path in scanned:
            directory, name = os.path.split(os.path.abspath(path))
            if directory in names:
                names[directory].add(name)
        self._disk_touched = set()
        for directory, kept in names.items():
            cache = self._disk.for_dir(directory)
            cache.retain(kept)
            cache.flush()

    def retain(self, keys: Iterable[tuple[str, int]]) -> None:
        """Forget every cached file not in ``keys`` (files that left the scan)."""
        keep = set(keys)
        for key in [k for k in self._entries if k not in keep]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()

    def _schema_kw(self) -> dict[str, SchemaValidator]:
        return {} if self._schema is None else {"schema": self._schema}

    def _read(self, path: str, priority: int) -> tuple[LoadResult, bool]:
        """The load result, and whether it follows from the file's bytes alone (may persist)."""
        self.parses += 1
        try:
            if self._schema is None:
                spec = self._reader(path, priority)
            else:
                spec = self._reader(path, priority, schema=self._schema)
        except (CDIError, OSError) as err:
            # read_spec raises a plain CDIError only for open/read failures (permissions, races):
            # those depend on more than the content. Its subclasses judge the bytes.
            content = isinstance(err, CDIError) and type(err) is not CDIError
            return LoadResult(None, load_error_text(path, err)), content
        except Exception as err:  # any failure is this one file's error, never the registry's
            return LoadResult(
                None, f"failed to load CDI Spec {go_quote(path)}: {type(err).__name__}: {err}"
            ), False
        return LoadResult(spec, None), True
