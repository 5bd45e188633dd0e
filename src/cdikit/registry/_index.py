"""The disk cache's file format, readable with the standard library alone.

:mod:`cdikit.registry._diskcache` keeps one file per spec directory. Its
first part is an *index* (``marshal``, checked by SHA-256) saying, for each
spec file name, its stamp and either the error text of loading it or what a
listing needs (kind, annotations, device names and their annotations); the
rest holds each valid spec's msgpack, decoded only when a device or spec is
actually used. Reading the index needs neither msgspec nor the spec model, so
``cdi devices`` (:mod:`cdikit.cli._lean`) and a registry over a warm cache
start without them.

Layout::

    MAGIC | len(index): 8 bytes big-endian | SHA-256(index): 32 bytes | index | blobs

The index is ``marshal.dumps((key, wire, size, entries))``: ``key`` the full
identity (format, cdikit version, wire types, schema, directory; the file name
is its hash), ``wire`` the wire types' structural fingerprint (checked only by
readers that decode specs), ``size`` the blobs' total length (a truncated
file is refused), ``entries`` a tuple of :data:`Entry` tuples. ``marshal``
is only ever fed a private file (see ``_cachedir``) whose index passed its
checksum: a torn or corrupt file is ignored, like any other miss.
"""

from __future__ import annotations

import marshal
import os
import sys

try:  # the bare SHA-256 module: hashlib would load OpenSSL (~4 ms) on every container start
    from _sha256 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python >= 3.12 renamed it; hashlib as a last resort
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]
    except ImportError:
        from hashlib import sha256

from cdikit._cachedir import open_private_file
from cdikit._version import __version__

TYPE_CHECKING = False  # not typing's: the lean CLI path imports this module
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "FORMAT",
    "SUFFIX",
    "Blobs",
    "Entry",
    "Stamp",
    "cache_path",
    "dumps",
    "identity",
    "read_index",
    "sha256",
]

FORMAT = "cdikit-spec-cache/2"
SUFFIX = ".msgpack"
_MAGIC = b"cdikit-spec-cache/2\n"
_HEAD = len(_MAGIC) + 8 + 32

Stamp = tuple[int, int, int, int, int]
Annotations = dict[str, str] | None
# (name, stamp, path as scanned, error text | None, kind, spec annotations,
#  ((device name, device annotations), ...), blob start, blob end (in the blob region))
Entry = tuple[str, Stamp, str, str | None, str, Annotations, tuple[tuple[str, Annotations], ...], int, int]


def _source_fingerprint() -> str:
    """A hash of the wire types' source: the file name must change when they do.

    The structural fingerprint (``_diskcache``) needs the types imported;
    this one only reads ``cdikit/spec/types.py``, so light readers find the
    same file. Without the source (a bytecode-only install) the version alone
    names the file, and the structural check inside it still guards decoding.
    """
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "spec", "types.py")
    try:
        with open(path, "rb") as handle:
            return str(sha256(handle.read()).hexdigest())
    except OSError:
        return "no-source"


def identity(schema_id: str) -> str:
    """What a cache file must have been written under to be used (without its directory)."""
    tag = sys.implementation.cache_tag or sys.version  # marshal's format follows the interpreter
    return f"{FORMAT}\0{__version__}\0{tag}\0{_source_fingerprint()}\0{schema_id}"


def cache_path(root: str, ident: str, directory: str) -> tuple[str, str]:
    """The cache file of spec directory ``directory`` (absolute) under ``root``, and its full key."""
    key = f"{ident}\0{directory}"
    name = str(sha256(key.encode("utf-8", "surrogateescape")).hexdigest()) + SUFFIX
    return os.path.join(root, name), key


def _pread(fd: int, size: int, offset: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


class Blobs:
    """The spec blobs of a cache file, read only when needed (a listing needs none).

    A blob is read from the very file the index came from: same device,
    inode, size and mtime, else nothing (the file was replaced meanwhile).
    """

    __slots__ = ("_base", "_ident", "_path", "_size")

    def __init__(self, path: str, ident: tuple[int, int, int, int], base: int, size: int) -> None:
        self._path = path
        self._ident = ident
        self._base = base
        self._size = size

    def read(self, start: int = 0, end: int | None = None) -> bytes | None:
        """``blobs[start:end]`` (default: all of them), or None when the file changed or is short."""
        end = self._size if end is None else end
        opened = open_private_file(self._path)
        if opened is None:
            return None
        fd, st = opened
        try:
            if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != self._ident or not 0 <= start <= end:
                return None
            data = _pread(fd, end - start, self._base + start)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if len(data) == end - start else None


def read_index(path: str, key: str) -> tuple[Blobs, str, dict[str, Entry]] | None:
    """The file's spec blobs, its ``wire`` fingerprint and its entries by name; None when unusable.

    Only the head and the index are read: an entry's blob is ``blobs.read(start, end)``.
    """
    opened = open_private_file(path)
    if opened is None:
        return None
    fd, st = opened
    try:
        head = _pread(fd, _HEAD, 0)
        if len(head) < _HEAD or not head.startswith(_MAGIC):
            return None
        start = len(_MAGIC)
        length = int.from_bytes(head[start : start + 8], "big")
        if length > st.st_size:
            return None
        index = _pread(fd, length, _HEAD)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(index) != length or sha256(index).digest() != head[start + 8 : _HEAD]:
        return None
    try:
        found_key, wire, size, entries = marshal.loads(index)
        if found_key != key or size != st.st_size - _HEAD - length:
            return None
        by_name = {entry[0]: entry for entry in entries}
    except (ValueError, EOFError, TypeError, IndexError, KeyError):
        return None
    ident = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    return Blobs(path, ident, _HEAD + length, size), wire, by_name


def dumps(key: str, wire: str, entries: Iterable[tuple[Entry, bytes | memoryview | None]]) -> bytes:
    """The cache file of ``entries``, each with its spec's msgpack (None for an error).

    The blob offsets of the given entries are ignored and recomputed.
    """
    fixed = []
    blobs = []
    offset = 0
    for entry, blob in entries:
        size = 0 if blob is None else len(blob)
        fixed.append((*entry[:7], offset, offset + size))
        if blob is not None:
            blobs.append(blob)
        offset += size
    index = marshal.dumps((key, wire, offset, tuple(fixed)))
    head = _MAGIC + len(index).to_bytes(8, "big") + sha256(index).digest()
    return b"".join([head, index, *blobs])
