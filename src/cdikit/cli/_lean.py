"""``cdi devices`` answered from the disk cache's index alone, without argparse, msgspec or typing.

Listing devices is what people (and scripts) run most, and every spec it
needs was already validated by an earlier run: the registry's disk cache
(:mod:`cdikit.registry._diskcache`) keeps, beside each spec, an index of its
kind, device names and annotations that the standard library reads. When
the command line is a plain ``cdi [-d DIRS] [-o table|json] [-s none]
devices [--auto-allow X]`` and the index covers every scanned file with its
current stamp, this module prints exactly what the full path would, at the
cost of a few ``stat`` calls. Anything else (another option, an uncached or
changed file, an unreadable entry, an untrusted cache) returns None before
anything is printed, and the full path runs: same output, same errors, same
exit status, and it refreshes the cache for the next call.

Scanning and the priority/conflict rules are the registry's own
(:mod:`cdikit.registry._light`); the on-demand rows come from the same
providers as the full path's.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: this module exists to start fast
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cdikit.cli._output import Table
    from cdikit.registry import _index

__all__ = ["device_table", "run"]

_COMMANDS = frozenset(["devices", "devs", "dev"])
_DIRS = frozenset(["-d", "--spec-dirs"])
_OUTPUT = frozenset(["-o", "--output"])
_SCHEMA = frozenset(["-s", "--schema"])
_AUTO = "--auto-allow"


class _Args:
    __slots__ = ("auto_allow", "dirs", "output")

    def __init__(self) -> None:
        self.dirs: list[str] = []
        self.output = "table"
        self.auto_allow: list[str] = []


def _parse(argv: Sequence[str]) -> _Args | None:
    """The options of a plain ``devices`` command line; None for anything else."""
    args = _Args()
    seen_command = False
    i = 0
    while i < len(argv):
        token = argv[i]
        option, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        if not option.startswith("-") or option == "-":
            if seen_command or token not in _COMMANDS:
                return None
            seen_command = True
            i += 1
            continue
        if option not in _DIRS and option not in _OUTPUT and option not in _SCHEMA and option != _AUTO:
            return None
        if not eq:
            if i + 1 >= len(argv):
                return None
            value = argv[i + 1]
            i += 1
        i += 1
        if value.startswith("-"):
            return None
        if option in _DIRS:
            args.dirs.extend(part for part in value.split(",") if part)
        elif option in _OUTPUT:
            if value not in ("table", "json"):
                return None  # yaml: its module costs more than this path saves
            args.output = value
        elif option in _SCHEMA:
            if value != "none":
                return None
        elif seen_command:
            args.auto_allow.append(value)
        else:
            return None  # --auto-allow is an option of the command only
    return args if seen_command else None


def _load(
    dirs: Sequence[str],
) -> tuple[dict[str, tuple[str, int, dict[str, str]]], dict[str, list[str]]] | None:
    """The devices (name -> spec path, priority, merged annotations) and errors; None if not all cached."""
    from cdikit._cachedir import default_cache_dir, secure_dir
    from cdikit._paths import go_clean, with_spec_extension
    from cdikit.names import parse_qualifier
    from cdikit.registry import _index
    from cdikit.registry._light import resolve_devices, scan_raw

    root = default_cache_dir()
    if root is None:
        return None
    root = os.path.abspath(root)
    if not secure_dir(root):
        return None
    ident = _index.identity("none")
    indexes: dict[str, dict[str, _index.Entry] | None] = {}
    errors: dict[str, list[str]] = {}

    def record(message: str, *paths: str) -> None:
        for path in paths:
            errors.setdefault(path, []).append(message)

    found: list[tuple[str, int, list[tuple[str, tuple[str, int, dict[str, str]]]]]] = []
    for path, priority, scan_error in scan_raw([go_clean(d) for d in dirs]):
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


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def device_table(rows: list[dict[str, Any]]) -> Table:
    """The ``cdi devices`` table of ``rows`` (the full path's too)."""
    from cdikit.cli._output import Table

    return Table(
        ["DEVICE", "SPEC FILE", "PRIORITY", "ALLOWED", "ON-DEMAND"],
        [
            (
                r["name"],
                r["spec"] or "-",
                "-" if r["priority"] is None else r["priority"],
                _yes_no(r["autoAllow"]),
                _yes_no(r["onDemand"]),
            )
            for r in rows
        ],
    )


def run(argv: Sequence[str]) -> int | None:
    """Run ``cdi devices`` from the warm disk cache; None (nothing printed) when the full path must."""
    args = _parse(argv)
    if args is None:
        return None
    from cdikit._paths import DEFAULT_SPEC_DIRS
    from cdikit.requests._autoallow import is_auto_allow_value

    loaded = _load(args.dirs or DEFAULT_SPEC_DIRS)
    if loaded is None:
        return None
    devices, errors = loaded
    auto = set(args.auto_allow)
    rows: list[dict[str, Any]] = []
    kinds = set()
    for name in sorted(devices):
        path, priority, annotations = devices[name]
        kind = name.partition("=")[0]
        kinds.add(kind)
        allowed = name in auto or kind in auto or is_auto_allow_value(annotations)
        rows.append(
            {"name": name, "spec": path, "priority": priority, "autoAllow": allowed, "onDemand": False}
        )
    from cdikit.producers import default_providers

    providers = default_providers()
    for kind in providers.kinds():
        provider = providers.get(kind)
        if kind in kinds or provider is None or not provider.available():
            continue
        rows.append({"name": kind, "spec": None, "priority": None, "autoAllow": True, "onDemand": True})
    from cdikit.cli._output import emit, spec_errors_note, warn

    emit(rows, args.output, device_table(rows) if rows else "No CDI devices found.\n")
    note = spec_errors_note(len(errors))
    if note:
        warn(note)
    return 0
