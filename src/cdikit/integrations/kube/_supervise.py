"""The lifecycle both kubelet plugins share: serve, re-check sockets from a thread, stop on a signal.

A kubelet restart (or anyone wiping the plugin directory) removes our socket files without telling us,
so each plugin calls its ``check`` every poll interval from a daemon thread until it is stopped.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

__all__ = ["Supervised"]


class Supervised(ABC):
    """A plugin whose ``check`` runs every ``interval`` seconds between ``start`` and ``stop``.

    Subclasses start the monitor at the end of ``start`` and stop it first thing in ``stop``.
    """

    def __init__(self, interval: float, *, thread_name: str, log: logging.Logger, what: str) -> None:
        self._interval = interval
        self._thread_name = thread_name
        self._supervisor_log = log
        self._what = what
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def check(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (for example by SIGTERM), then shut down."""
        self.start()
        try:
            while not stop.wait(1.0):
                pass  # a timed wait lets signal handlers run promptly
        finally:
            self.stop()

    def _start_monitor(self) -> None:
        self._monitor = threading.Thread(target=self._monitor_loop, name=self._thread_name, daemon=True)
        self._monitor.start()

    def _stop_monitor(self) -> None:
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout=10)

    def _monitor_loop(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.check()
            except Exception:  # keep monitoring: the next round may succeed
                self._supervisor_log.exception("%s check failed", self._what)
