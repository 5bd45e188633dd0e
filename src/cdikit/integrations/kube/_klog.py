"""klog-style log lines, the format every Kubernetes component writes.

``I1122 19:50:00.000000    1234 deviceplugin.py:120] registered with the kubelet``: severity letter,
month and day, wall time with microseconds, process id (klog prints the pid as its "thread id"), source
file and line, then the message.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

_SEVERITY = {
    logging.DEBUG: "I",
    logging.INFO: "I",
    logging.WARNING: "W",
    logging.ERROR: "E",
    logging.CRITICAL: "F",
}


class KlogFormatter(logging.Formatter):
    """Format records as ``Lmmdd hh:mm:ss.uuuuuu pid file:line] msg``."""

    def format(self, record: logging.LogRecord) -> str:
        letter = _SEVERITY.get(record.levelno, "I" if record.levelno < logging.WARNING else "E")
        secs = int(record.created)
        micros = int((record.created - secs) * 1_000_000)
        stamp = time.strftime("%m%d %H:%M:%S", time.localtime(secs))
        pid = record.process or 0
        line = f"{letter}{stamp}.{micros:06d} {pid:7d} {record.filename}:{record.lineno}] "
        line += record.getMessage()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(verbosity: int = 0, stream: TextIO | None = None) -> None:
    """Send the ``cdikit`` loggers to ``stream`` (stderr) in klog format; ``-v`` levels enable debug."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(KlogFormatter())
    logger = logging.getLogger("cdikit")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbosity > 0 else logging.INFO)
    logger.propagate = False
