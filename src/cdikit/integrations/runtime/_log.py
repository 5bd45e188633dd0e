"""The shim's log: the configured log file and the runtime's own ``--log`` file.

A runtime's stdout and stderr belong to its caller (containerd and conmon
forward them to the container), so the shim never writes there except for
the one final error. Errors also go to the ``--log`` file in the format the
engine asked for (``--log-format text|json``): containerd reads the last
error from that file to explain a failed create.
"""

from __future__ import annotations

import os
import time

__all__ = ["ShimLog"]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def _quote(text: str) -> str:
    """A logfmt (logrus text format) quoted value."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


class ShimLog:
    """Appends log records to zero, one or two files; never raises."""

    def __init__(
        self,
        *,
        log_file: str = "",
        level: str = "info",
        runtime_log: str | None = None,
        runtime_log_format: str = "text",
        runtime_debug: bool = False,
    ) -> None:
        # (path, format, minimum level)
        self._targets: list[tuple[str, str, int]] = []
        if log_file:
            self._targets.append((log_file, "text", _LEVELS.get(level, 20)))
        if runtime_log:
            # The engine's file is shared with the runtime: keep it to warnings unless --debug.
            floor = _LEVELS["debug"] if runtime_debug else _LEVELS["warning"]
            self._targets.append((runtime_log, runtime_log_format, floor))

    def log(self, level: str, message: str) -> None:
        number = _LEVELS[level]
        for path, fmt, floor in self._targets:
            if number < floor:
                continue
            if fmt == "json":
                import json  # only when a JSON log is wanted: json loads re

                line = json.dumps({"level": level, "msg": f"cdi-runtime: {message}", "time": _timestamp()})
            else:
                line = f"time={_quote(_timestamp())} level={level} msg={_quote('cdi-runtime: ' + message)}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    os.write(fd, (line + "\n").encode())
                finally:
                    os.close(fd)
            except OSError:
                pass  # logging must never stop a container from starting

    def debug(self, message: str) -> None:
        self.log("debug", message)

    def info(self, message: str) -> None:
        self.log("info", message)

    def warning(self, message: str) -> None:
        self.log("warning", message)

    def error(self, message: str) -> None:
        self.log("error", message)
