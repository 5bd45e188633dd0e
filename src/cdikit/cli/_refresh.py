"""``cdikit-refresh``: regenerate the NVIDIA CDI spec when the driver or devices change.

The command-line skin over :mod:`cdikit.producers.nvidia.refresh` (what the systemd units run).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cdikit.errors import CDIError
from cdikit.producers.nvidia.refresh import DEFAULT_OUTPUT, refresh_once, watch


def main(argv: Sequence[str] | None = None) -> int:
    """``cdikit-refresh [--watch] [generate options]``: what the systemd units run."""
    import argparse

    from cdikit.cli import _nvidia as cli

    parser = argparse.ArgumentParser(
        prog="cdikit-refresh",
        description=f"Regenerate the NVIDIA CDI spec (default {DEFAULT_OUTPUT}) when it changed.",
    )
    cli.add_generate_options(parser, default_output=DEFAULT_OUTPUT)
    from cdikit._version import __version__

    parser.add_argument("--version", action="version", version=f"cdikit-refresh (cdikit) {__version__}")
    args = parser.parse_args(argv)
    try:
        options, output, fmt = cli.options_from_args(args)
    except CDIError as exc:
        print(f"cdikit-refresh: {exc}", file=sys.stderr)
        return 2
    output = output or DEFAULT_OUTPUT
    if not args.watch:
        outcome = refresh_once(options, output, fmt=fmt)
        cli.report_outcome(outcome, "refresh", output)
        if not outcome.written and outcome.error is None:
            print(f"cdikit-refresh: {output} is up to date", file=sys.stderr)
        return 1 if outcome.error else 0
    try:
        watch(
            options,
            output,
            fmt=fmt,
            interval=args.interval,
            on_refresh=lambda o, r: cli.report_outcome(o, r, output),
        )
    except KeyboardInterrupt:
        return 0
    return 0
