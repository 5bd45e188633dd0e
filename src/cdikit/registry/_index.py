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

from cdikit._cachedir import read_private_file
from cdikit._version import __version__

TYPE_CHECKING = False  # not typing's: the lean CLI path imports this module
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["FORMAT", "SUFFIX", "Entry", "Stamp", "cache_path", "dumps", "identity", "read_index", "sha256"]

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


def read_index(path: str, key: str) -> tuple[memoryview, str, dict[str, Entry]] | None:
    """The file's spec blobs, its ``wire`` fingerprint and its entries by name; None when unusable.

    An entry's blob is ``blobs[start:end]``.
    """
    data = read_private_file(path)
    if data is None or len(data) < _HEAD or not data.startswith(_MAGIC):
        return None
    start = len(_MAGIC)
    length = int.from_bytes(data[start : start + 8], "big")
    digest = data[start + 8 : _HEAD]
    index = data[_HEAD : _HEAD + length]
    if len(index) != length or sha256(index).digest() != digest:
        return None
    try:
        found_key, wire, size, entries = marshal.loads(index)
        if found_key != key or size != len(data) - _HEAD - length:
            return None
        by_name = {entry[0]: entry for entry in entries}
    except (ValueError, EOFError, TypeError, IndexError, KeyError):
        return None
    return memoryview(data)[_HEAD + length :], wire, by_name


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
