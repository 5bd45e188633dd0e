"""``cdi doctor``: are the host's CDI consumers configured to see cdikit's devices."""

from __future__ import annotations

import argparse
from typing import Any

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, UsageError, output_format
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
        if r.via:
            state += f" (through {r.via})"
        dirs = ", ".join(r.spec_dirs or []) or "-"
        lines.append(f"{r.name:10}  {r.version_text or 'version ?':9}  {state}  spec dirs: {dirs}")
        if r.max_spec_version:
            lines.append(f"{'':10}  loads cdiVersion <= {r.max_spec_version}")
        for path in r.config:
            lines.append(f"{'':10}  config: {path}")
    findings = [f for r in reports for f in r.findings]
    return "\n".join(lines) + "\n\n" + render_findings(findings)


def cmd_doctor(args: argparse.Namespace) -> int:
    from cdikit.integrations.consumers.doctor import check_consumers
    from cdikit.lint import severity_rank

    versions = {}
    for item in args.consumer_version:
        name, sep, version = item.partition("=")
        if not sep or not name or not version:
            raise UsageError(f"--consumer-version wants NAME=X.Y.Z, not {item!r}")
        versions[name] = version
    reports = check_consumers(
        args.spec_dirs, root=args.root, versions=versions, probe=True if args.probe_binaries else None
    )
    data = {"specDirs": list(args.spec_dirs), "consumers": [r.to_dict() for r in reports]}
    emit(data, output_format(args), _text(reports))
    serious = any(severity_rank(f.severity) >= severity_rank("warning") for r in reports for f in r.findings)
    return EXIT_FAILURE if serious else EXIT_OK
