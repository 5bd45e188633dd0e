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

The devices come from :func:`cdikit.registry.listing.cached_devices` (the
registry's own scanning, priority and conflict rules); the on-demand rows
from the same providers as the full path's.
"""

from __future__ import annotations

from cdikit.cli import _LEAN_COMMANDS as _COMMANDS  # the entry point checks them before importing this

TYPE_CHECKING = False  # not typing's: this module exists to start fast
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cdikit.cli._output import Table

__all__ = ["device_table", "run"]

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
    from cdikit.registry.listing import cached_devices
    from cdikit.requests import is_auto_allow_value

    loaded = cached_devices(args.dirs or DEFAULT_SPEC_DIRS)
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
