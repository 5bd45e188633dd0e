"""``cdi monitor``: watch the spec dirs and print each change until interrupted.

The registry's own watcher (inotify, with a polling fallback) wakes the loop
early; a periodic refresh (incremental, so a few ``stat`` calls) backs it up
so a change is never missed even where no watcher can run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from cdikit.cli._common import EXIT_OK, UsageError, open_registry, output_format
from cdikit.cli._output import warn

if TYPE_CHECKING:
    from cdikit.registry import Registry

__all__ = ["cmd_monitor", "snapshot"]

_VIEWS = ("specs", "vendors", "classes", "devices")
_SINGULAR = {"specs": "spec", "vendors": "vendor", "classes": "class", "devices": "device", "errors": "error"}


def snapshot(registry: Registry, views: tuple[str, ...]) -> dict[str, set[str]]:
    """The current items of each requested view."""
    from cdikit.errors import RegistryError

    try:
        registry.refresh()
    except RegistryError:
        pass  # per-file errors are part of the "errors" view
    state: dict[str, set[str]] = {}
    for view in views:
        if view == "devices":
            state[view] = set(registry.list_devices())
        elif view == "vendors":
            state[view] = set(registry.list_vendors())
        elif view == "classes":
            state[view] = set(registry.list_classes())
        elif view == "specs":
            state[view] = {spec.path for spec in registry.specs()}
        elif view == "errors":
            state[view] = {f"{path}: {msg}" for path, msgs in registry.get_errors().items() for msg in msgs}
    return state


def _print(view: str, change: str, item: str, fmt: str) -> None:
    event = {"time": time.time(), "view": view, "change": change, "item": item}
    if fmt == "table":
        mark = {"initial": "=", "added": "+", "removed": "-"}[change]
        line = f"{mark} {_SINGULAR[view]} {item}\n"
    elif fmt == "yaml":
        # One YAML document per event: a stream any YAML reader can follow.
        from cdikit.cli._output import dump

        line = "---\n" + dump(event, "yaml")
    else:
        # One JSON document per line: machines can stream it.
        line = json.dumps(event) + "\n"
    sys.stdout.write(line)


def _settle(wake: threading.Event, debounce: float, limit: float) -> None:
    """Wait until no change arrived for ``debounce`` seconds (at most ``limit`` in all).

    A tool rewriting many spec files (a generator, a package upgrade) causes a
    burst of events; like the upstream tool (one second after the last event),
    the monitor reports once the burst is over, so it never shows a torn state.
    """
    deadline = time.monotonic() + limit
    while debounce > 0 and wake.wait(min(debounce, max(deadline - time.monotonic(), 0))):
        wake.clear()
        if time.monotonic() >= deadline:
            break


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_monitor(args: argparse.Namespace) -> int:
    chosen = args.views or ["all"]
    unknown = [v for v in chosen if v not in (*_VIEWS, "all")]
    if unknown:
        raise UsageError(f"unknown view {unknown[0]!r} (choose from {', '.join((*_VIEWS, 'all'))})")
    views = (*_VIEWS, "errors") if "all" in chosen else tuple(v for v in _VIEWS if v in chosen)
    fmt = output_format(args)
    debounce = max(float(getattr(args, "debounce", 1.0)), 0.0)
    for directory in args.spec_dirs:
        if not os.path.isdir(directory):
            warn(f"spec dir {directory} does not exist (yet); watching for it")
    # SIGTERM (service managers, "kill") ends the watch as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    registry = open_registry(args, auto_refresh=True)
    wake = threading.Event()
    try:
        registry.add_listener(lambda *_a, **_k: wake.set())
    except (AttributeError, TypeError):
        pass  # periodic rescans alone still catch every change
    try:
        previous = snapshot(registry, views)
        for view in views:
            for item in sorted(previous[view]):
                _print(view, "initial", item, fmt)
        sys.stdout.flush()
        if args.verbose:
            sys.stderr.write(f"cdi: watching {len(args.spec_dirs)} spec dir(s); interrupt to stop\n")
            sys.stderr.flush()
        while True:
            if wake.wait(args.interval):
                wake.clear()
                _settle(wake, debounce, limit=max(10 * debounce, 5.0))
            current = snapshot(registry, views)
            for view in views:
                for item in sorted(previous[view] - current[view]):
                    _print(view, "removed", item, fmt)
                for item in sorted(current[view] - previous[view]):
                    _print(view, "added", item, fmt)
            sys.stdout.flush()
            previous = current
    except KeyboardInterrupt:
        return EXIT_OK  # interrupting is how a monitor ends
    finally:
        registry.close()
