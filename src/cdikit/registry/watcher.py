"""Noticing changes in the spec directories: inotify, with a polling fallback.

A watcher tells the registry *whether* something relevant may have changed;
the registry then runs an (incremental, cheap) refresh. Two implementations
share one small interface, like httpx's transports:

* :class:`InotifyWatcher` watches every existing spec directory **and** the
  nearest existing ancestor of each one, so a directory that appears later,
  vanishes, or is replaced (rename over it, ``rm -r`` + ``mkdir``) is noticed.
  Ancestor watches are added before the directories are examined, so a
  directory created between the two steps produces an event.
* :class:`PollingWatcher` is used where inotify is unavailable (no
  ``inotify_simple``, not Linux, out of instances/watches): it reports "maybe
  changed" at every check, i.e. the registry re-stats the files on every query
  and at each poll interval, as the reference does when its watcher fails.

Both run a daemon thread that calls ``on_change`` when the registry should
check; the registry calls :meth:`Watcher.pending` under its own lock (from
that thread, or from a query so that a query sees every change made before it
started: inotify queues events synchronously with the change).
"""

from __future__ import annotations

import logging
import os
import select
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdikit.registry.scan import has_spec_extension

__all__ = ["DEFAULT_POLL_INTERVAL", "InotifyWatcher", "PollingWatcher", "Watcher", "create_watcher"]

_log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 1.0


class Watcher:
    """Base class: a background thread plus a ``pending()`` check."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"cdikit-{type(self).__name__}", daemon=True)
        self._thread.start()

    def pending(self) -> bool:
        """True when a refresh may be needed; consumes the pending notifications."""
        raise NotImplementedError

    def dir_errors(self) -> dict[str, str]:
        """Spec directories that cannot be monitored, with the reason."""
        return {}

    def close(self) -> None:
        self._stop.set()
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _wake(self) -> None:
        """Interrupt the thread's wait (subclasses with a blocking wait override this)."""

    def _run(self) -> None:
        raise NotImplementedError

    def _notify(self) -> None:
        try:
            self._on_change()
        except Exception:  # a failing refresh must not kill the watcher thread
            _log.exception("cdikit registry auto-refresh failed")


class PollingWatcher(Watcher):
    """Asks for a check at every poll interval and on every query."""

    def __init__(self, on_change: Callable[[], None], *, interval: float = DEFAULT_POLL_INTERVAL) -> None:
        super().__init__(on_change)
        self.interval = interval

    def pending(self) -> bool:
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._notify()


@dataclass
class _Watch:
    """What one watch descriptor stands for (several paths may share an inode)."""

    paths: set[str] = field(default_factory=set)
    is_spec_dir: bool = False
    # Names inside this directory that lead to a spec directory (or are one).
    interesting: set[str] = field(default_factory=set)


def _nearest_existing_ancestor(path: str) -> tuple[str, str] | None:
    """(ancestor directory, first component below it on the way to ``path``)."""
    child = path
    parent = os.path.dirname(path) or "."
    while True:
        try:
            if stat.S_ISDIR(os.stat(parent).st_mode):
                return parent, os.path.basename(child)
        except OSError:
            pass
        if parent in ("/", "."):
            return None
        child = parent
        parent = os.path.dirname(parent) or "."


class InotifyWatcher(Watcher):
    """Real inotify watches on the spec directories and their nearest existing ancestors."""

    def __init__(self, spec_dirs: Sequence[str], on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        from inotify_simple import INotify, flags  # type: ignore[import-untyped]

        self._flags: Any = flags
        self._mask = (
            flags.CREATE
            | flags.DELETE
            | flags.MOVED_FROM
            | flags.MOVED_TO
            | flags.CLOSE_WRITE
            | flags.MODIFY
            | flags.ATTRIB
            | flags.DELETE_SELF
            | flags.MOVE_SELF
            | flags.ONLYDIR
        )
        self._self_events = flags.DELETE_SELF | flags.MOVE_SELF | flags.IGNORED | flags.UNMOUNT
        self._inotify: Any = INotify(nonblocking=True)
        self._spec_dirs = list(dict.fromkeys(spec_dirs))
        self._watches: dict[int, _Watch] = {}
        self._errors: dict[str, str] = {}
        self._wake_r, self._wake_w = os.pipe()
        self._sync()

    def dir_errors(self) -> dict[str, str]:
        return dict(self._errors)

    def pending(self) -> bool:
        relevant = False
        resync = False
        for event in self._inotify.read(timeout=0):
            if event.wd == -1:  # queue overflow: anything may have changed
                relevant = resync = True
                continue
            watch = self._watches.get(event.wd)
            if event.mask & self._self_events:
                resync = True
                relevant = relevant or (watch is not None and watch.is_spec_dir)
                if event.mask & self._flags.IGNORED:
                    self._watches.pop(event.wd, None)
                continue
            if watch is None:
                continue
            if watch.is_spec_dir and event.name and has_spec_extension(event.name):
                relevant = True
            if event.name in watch.interesting:
                relevant = resync = True
        if resync:
            self._sync()
        return relevant

    def close(self) -> None:
        super().close()
        try:
            self._inotify.close()
        finally:
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _run(self) -> None:
        fd = self._inotify.fileno()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd, self._wake_r], [], [])
            except (OSError, ValueError):
                return
            if self._stop.is_set():
                return
            if fd in ready:
                self._notify()

    def _add(self, path: str, desired: dict[int, _Watch], *, spec_dir: bool, name: str | None) -> bool:
        try:
            wd = self._inotify.add_watch(path, self._mask | (self._flags.DONT_FOLLOW if spec_dir else 0))
        except OSError as err:
            if spec_dir:
                self._errors[path] = f"failed to monitor for changes: {os.strerror(err.errno or 0).lower()}"
            return False
        watch = desired.setdefault(wd, _Watch())
        watch.paths.add(path)
        watch.is_spec_dir = watch.is_spec_dir or spec_dir
        if name is not None:
            watch.interesting.add(name)
        return True

    def _sync(self) -> None:
        """(Re-)establish the watches for the current shape of the tree."""
        desired: dict[int, _Watch] = {}
        self._errors = {}
        for directory in self._spec_dirs:
            # Ancestor first: a directory created after this point produces an event.
            found = _nearest_existing_ancestor(directory)
            if found is not None:
                self._add(found[0], desired, spec_dir=False, name=found[1])
            try:
                is_dir = stat.S_ISDIR(os.lstat(directory).st_mode)
            except OSError:
                is_dir = False
            if is_dir:
                self._add(directory, desired, spec_dir=True, name=None)
        for wd in set(self._watches) - set(desired):
            try:
                self._inotify.rm_watch(wd)
            except OSError:
                pass  # already gone with its inode
        self._watches = desired


def create_watcher(
    spec_dirs: Sequence[str],
    on_change: Callable[[], None],
    *,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    use_inotify: bool = True,
) -> Watcher:
    """An inotify watcher when the platform allows, else a polling one."""
    if use_inotify:
        try:
            return InotifyWatcher(spec_dirs, on_change)
        except (ImportError, OSError) as err:
            _log.info("cdikit registry: inotify unavailable (%s); polling every %.1fs", err, poll_interval)
    return PollingWatcher(on_change, interval=poll_interval)
