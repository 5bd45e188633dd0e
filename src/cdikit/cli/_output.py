"""Rendering command results: aligned tables for people, JSON or YAML for machines.

Every command builds plain data (dicts, lists, strings) and hands it here
with the table view it wants for people. YAML is imported only when asked
for, so the common paths stay fast to start.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: the lean ``cdi devices`` renders through this module
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, TextIO

__all__ = ["FORMATS", "Progress", "Table", "dump", "emit", "error", "spec_errors_note", "warn"]

FORMATS = ("table", "json", "yaml")
_PROG = "cdi"


class Table:
    """Rows under a header, rendered with columns padded to the widest cell."""

    def __init__(self, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        self.headers = list(headers)
        self.rows = [["" if cell is None else str(cell) for cell in row] for row in rows]

    def render(self) -> str:
        if not self.rows:
            return ""
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        lines = []
        for row in [self.headers, *self.rows]:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines) + "\n"


def dump(data: Any, fmt: str) -> str:
    """``data`` as JSON (2-space indent) or YAML, ending with a newline."""
    if fmt == "yaml":
        import yaml  # deferred: PyYAML costs start-up time the JSON and table paths never pay

        return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True))
    import json  # deferred too: tables never need it

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def emit(data: Any, fmt: str, table: Table | str | None = None, *, stream: TextIO | None = None) -> None:
    """Write ``data`` in ``fmt``; for ``table`` the given view (text or :class:`Table`) is used."""
    out = stream if stream is not None else sys.stdout
    if fmt == "table":
        if table is None:
            text = dump(data, "yaml")
        elif isinstance(table, Table):
            text = table.render()
        else:
            text = table
    else:
        text = dump(data, fmt)
    out.write(text)
    out.flush()


def spec_errors_note(count: int) -> str | None:
    """The one-line hint for ``count`` spec files with errors (None for none)."""
    if not count:
        return None
    noun = "file has" if count == 1 else "files have"
    return f"{count} spec {noun} errors (run 'cdi validate' for details)"


def error(message: str) -> None:
    """One error line on stderr, prefixed by the program name."""
    sys.stderr.write(f"{_PROG}: error: {message}\n")


def warn(message: str) -> None:
    """One warning line on stderr, prefixed by the program name."""
    sys.stderr.write(f"{_PROG}: warning: {message}\n")


class Progress:
    """A one-line ``done/total`` counter on stderr, shown only when stderr is a terminal.

    Piped or redirected output stays free of carriage-return noise.
    """

    def __init__(self, label: str, total: int, *, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._label = label
        self._total = total
        self._done = 0
        self._active = self._stream.isatty() and total > 1

    def step(self, what: str = "") -> None:
        self._done += 1
        if self._active:
            tail = f" {what}" if what else ""
            line = f"{self._label} {self._done}/{self._total}{tail}"
            self._stream.write("\r\x1b[K" + line[:200])
            self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._active:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
