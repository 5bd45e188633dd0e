"""Waiting for the host to change: inotify with a polling fallback, for every refresh service.

Generators regenerate their spec when the devices or the driver change
(hot-plug, driver upgrades, MIG reconfiguration). inotify reports changes to
the watched directories at once; a periodic check of their mtimes catches
what inotify cannot see (pseudo-filesystems, directories created later).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

from cdikit.producers.output import encode, format_for_path, write_if_changed
from cdikit.spec.types import Spec

__all__ = ["ChangeWaiter", "mtimes", "watch_and_write"]


def mtimes(paths: Sequence[str]) -> tuple[float, ...]:
    out = []
    for p in paths:
        try:
            out.append(os.stat(p).st_mtime)
        except OSError:
            out.append(-1.0)
    return tuple(out)


class ChangeWaiter:
    """inotify over ``paths`` when available (else plain sleeps); ``wait`` is True on a change."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._ino = None
        try:
            from inotify_simple import INotify, flags  # type: ignore[import-untyped]

            ino = INotify()
            mask = (
                flags.CREATE
                | flags.DELETE
                | flags.MOVED_TO
                | flags.MOVED_FROM
                | flags.CLOSE_WRITE
                | flags.ATTRIB
            )
            for p in paths:
                try:
                    ino.add_watch(p, mask)
                except OSError:
                    continue
            self._ino = ino
        except (ImportError, OSError):
            self._ino = None

    def wait(self, timeout: float) -> bool:
        if self._ino is None:
            threading.Event().wait(timeout)
            return False
        events = self._ino.read(timeout=int(timeout * 1000))
        if events:
            # Installers touch many files: let the burst settle, then regenerate once.
            while self._ino.read(timeout=300):
                pass
        return bool(events)

    def close(self) -> None:
        if self._ino is not None:
            self._ino.close()


def watch_and_write(
    produce: Callable[[], Spec],
    output: str,
    dirs: Sequence[str],
    *,
    fmt: str | None = None,
    interval: float = 10.0,
    stop: threading.Event | None = None,
    on_refresh: Callable[[bool, str, Exception | None], None] | None = None,
) -> None:
    """Write ``produce()`` to ``output`` now and whenever ``dirs`` change, until ``stop`` is set.

    ``on_refresh(written, reason, error)`` is told each time; a failed generation
    keeps the last good file (a device unplugged for a moment must not break every
    container start) and is reported, not raised.
    """
    stop = stop or threading.Event()
    paths = [d for d in dirs if os.path.isdir(d)]
    waiter = ChangeWaiter(paths)
    chosen = format_for_path(output, fmt)

    def run(reason: str) -> None:
        written, error = False, None
        try:
            written = write_if_changed(output, encode(produce(), chosen))
        except Exception as e:  # reported to the caller; the service keeps running
            error = e
        if on_refresh is not None:
            on_refresh(written, reason, error)

    try:
        last = mtimes(paths)
        run("start")
        while not stop.is_set():
            event = waiter.wait(interval)
            if stop.is_set():
                break
            now = mtimes(paths)
            if event or now != last:
                last = now
                run("devices changed")
    finally:
        waiter.close()
