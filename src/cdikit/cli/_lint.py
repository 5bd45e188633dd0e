"""``cdi lint``: spec-dir findings with severity and fix (see :mod:`cdikit.lint`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, load_schema, output_format
from cdikit.cli._output import emit

__all__ = ["cmd_lint", "render_findings"]


def render_findings(findings: Sequence[Any]) -> str:
    """Findings for people: one block per finding, then a count per severity."""
    lines = []
    for f in findings:
        lines.append(f"{f.severity.upper():7}  {f.code}  {f.path}")
        lines.append(f"         {f.message}")
        lines.append(f"         fix: {f.fix}")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    if findings:
        lines.append(", ".join(f"{n} {s}(s)" for s, n in counts.items()))
    else:
        lines.append("no findings")
    return "\n".join(lines) + "\n"


def cmd_lint(args: argparse.Namespace) -> int:
    from cdikit.lint import lint_spec_dirs, severity_rank

    findings = lint_spec_dirs(args.spec_dirs, schema=load_schema(args, "builtin"))
    floor = severity_rank(args.min_severity)
    shown = [f for f in findings if severity_rank(f.severity) >= floor]
    emit([f.to_dict() for f in shown], output_format(args), render_findings(shown))
    serious = any(severity_rank(f.severity) >= severity_rank("warning") for f in findings)
    return EXIT_FAILURE if serious else EXIT_OK
