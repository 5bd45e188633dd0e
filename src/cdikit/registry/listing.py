"""Listing the devices of spec dirs from the disk cache's index alone (no spec model, no typing).

What ``cdi devices`` needs is known without decoding any spec once the
registry's disk cache (:mod:`cdikit.registry._diskcache`) holds every file
of the dirs with its current stamp: the index beside the specs records each
file's kind, device names and annotations, or its load error. This module
answers from it with the registry's own scanning, priority and conflict
rules, or says it cannot (None) so that the caller builds a real
:class:`~cdikit.registry.Registry`, which also refreshes the cache.
"""

from __future__ import annotations

import os

from cdikit._cachedir import default_cache_dir, secure_dir
from cdikit._paths import go_clean, with_spec_extension
from cdikit.names import parse_qualifier
from cdikit.registry import _index
from cdikit.registry._diskcache import schema_identity
from cdikit.registry._light import resolve_devices, scan_raw

TYPE_CHECKING = False  # not typing's: this module exists to start fast
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CachedDevice", "cached_devices"]

# (spec file path as the registry records it, priority, merged annotations: spec, then device)
CachedDevice = tuple[str, int, dict[str, str]]


def cached_devices(spec_dirs: Sequence[str]) -> tuple[dict[str, CachedDevice], dict[str, list[str]]] | None:
    """The devices and per-file errors a schema-less registry over ``spec_dirs`` would hold, from the cache.

    None when the default disk cache is off or untrusted, when it does not
    hold every scanned file with its current stamp, or when a scanned entry
    could not be examined: the caller then loads a real registry.
    """
    root = default_cache_dir()
    if root is None:
        return None
    root = os.path.abspath(root)
    if not secure_dir(root):
        return None
    ident = _index.identity(str(schema_identity(None)))  # what a registry without a schema uses
    indexes: dict[str, dict[str, _index.Entry] | None] = {}
    errors: dict[str, list[str]] = {}

    def record(message: str, *paths: str) -> None:
        for path in paths:
            errors.setdefault(path, []).append(message)

    found: list[tuple[str, int, list[tuple[str, CachedDevice]]]] = []
    for path, priority, scan_error in scan_raw([go_clean(d) for d in spec_dirs]):
        if scan_error is not None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        directory, name = os.path.split(os.path.abspath(path))
        if directory not in indexes:
            read = _index.read_index(*_index.cache_path(root, ident, directory))
            indexes[directory] = None if read is None else read[2]
        index = indexes[directory]
        entry = None if index is None else index.get(name)
        if entry is None or entry[1] != (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns):
            return None
        if entry[3] is not None:
            if entry[2] != path:  # the error text quotes the path as it was scanned then
                return None
            record(f"failed to load CDI Spec {entry[3]}", path)
            continue
        recorded = with_spec_extension(go_clean(path))
        vendor, class_ = parse_qualifier(entry[4])
        prefix = f"{vendor}/{class_}="
        spec_annotations = entry[5] or {}
        named = []
        for device, device_annotations in entry[6]:
            merged = dict(spec_annotations)
            merged.update(device_annotations or {})
            named.append((prefix + device, (recorded, priority, merged)))
        found.append((recorded, priority, named))
    return resolve_devices(found, record)[0], errors
