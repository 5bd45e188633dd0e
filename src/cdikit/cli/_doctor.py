"""``cdi doctor``: are the host's CDI consumers configured to see cdikit's devices."""

from __future__ import annotations

import argparse
from typing import Any

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, output_format
from cdikit.cli._lint import render_findings
from cdikit.cli._output import emit

__all__ = ["cmd_doctor"]


def _text(reports: list[Any]) -> str:
    lines = []
    for r in reports:
        if not r.found:
            lines.append(f"{r.name:10}  not found")
            continue
        state = {True: "CDI on", False: "CDI OFF", None: "CDI unknown"}[r.cdi_enabled]
        dirs = ", ".join(r.spec_dirs or []) or "-"
        lines.append(f"{r.name:10}  {state:11}  spec dirs: {dirs}")
        for path in r.config:
            lines.append(f"{'':10}  config: {path}")
    findings = [f for r in reports for f in r.findings]
    return "\n".join(lines) + "\n\n" + render_findings(findings)


def cmd_doctor(args: argparse.Namespace) -> int:
    from cdikit.integrations.consumers.doctor import check_consumers
    from cdikit.lint import severity_rank

    reports = check_consumers(args.spec_dirs, root=args.root)
    data = {"specDirs": list(args.spec_dirs), "consumers": [r.to_dict() for r in reports]}
    emit(data, output_format(args), _text(reports))
    serious = any(severity_rank(f.severity) >= severity_rank("warning") for r in reports for f in r.findings)
    return EXIT_FAILURE if serious else EXIT_OK
