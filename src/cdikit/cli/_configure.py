"""``cdi configure docker|containerd|crio|podman``: the command-line skin of
:mod:`cdikit.integrations.consumers.configure`.

Dry run by default: prints the diff it would apply. ``--apply`` writes the
file atomically and keeps the previous one as ``<file>.cdikit-backup``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

__all__ = ["register"]

_CONSUMERS = ("docker", "containerd", "crio", "podman")


def _default_runtime_path() -> str:
    found = shutil.which("cdi-runtime")
    if found:
        return os.path.abspath(found)
    # Next to this interpreter (a virtualenv's bin/), where pip puts console scripts.
    return os.path.join(os.path.dirname(sys.executable), "cdi-runtime")


def _run(args: argparse.Namespace) -> int:
    from cdikit.integrations.consumers.configure import ConfigureError, apply_change, plan, wants_runtime
    from cdikit.integrations.consumers.versions import detect, parse_version

    version_text = args.engine_version or args.containerd_version
    if version_text:
        version = parse_version(version_text)
    else:
        found = detect(args.consumer)
        version = found.version if found is not None else None
        version_text = found.text if found is not None and found.version else None
    register_runtime = args.runtime
    if register_runtime == "auto":
        # Register the shim only where the engine cannot do CDI itself (or was asked).
        register_runtime = "yes" if wants_runtime(args.consumer, version) else "no"
    runtime_path = (args.runtime_path or _default_runtime_path()) if register_runtime == "yes" else None
    try:
        change = plan(
            args.consumer,
            path=args.config,
            runtime_path=runtime_path,
            spec_dirs=args.spec_dir or None,
            version=version_text,
            set_default=args.set_default,
            runtime_config=args.runtime_config,
        )
    except ConfigureError as e:
        sys.stderr.write(f"cdi configure: {e}\n")
        return 1
    if not change.changed:
        print(f"{change.path}: already configured for CDI")
        for note in change.notes:
            print(f"note: {note}")
        return 0
    if not args.apply:
        sys.stdout.write(change.diff())
        print(f"# dry run: nothing written; add --apply to write {change.path}")
        for note in change.notes:
            print(f"# {note}")
        return 0
    try:
        backup = apply_change(change, backup=not args.no_backup)
    except ConfigureError as e:
        sys.stderr.write(f"cdi configure: {e}\n")
        return 1
    for companion in change.companions:
        if companion.changed:
            print(f"wrote {companion.path}")
    if change.old != change.new:
        print(f"wrote {change.path}" + (f" (previous content in {backup})" if backup else ""))
    for note in change.notes:
        print(f"note: {note}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``configure`` to the ``cdi`` command."""
    parser = subparsers.add_parser(
        "configure",
        help="enable CDI in docker/containerd/cri-o/podman, natively or through cdi-runtime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from cdikit.cli._common import add_global_options, honour_global_options

    # "cdi -d DIR configure X" and "cdi configure X -d DIR": the spec dirs the engine reads.
    add_global_options(parser, sub=True)
    honour_global_options(parser, ("spec-dirs",), spec_dirs_dest="spec_dir")
    parser.add_argument("consumer", choices=_CONSUMERS, help="the engine whose config file to edit")
    parser.add_argument("--config", metavar="PATH", help="the config file (default: the engine's usual one)")
    parser.add_argument(
        "--runtime",
        choices=("auto", "yes", "no"),
        default="auto",
        help="register cdi-runtime as a runtime (auto: only where the engine lacks native CDI: "
        "containerd before 1.7, docker before 25)",
    )
    parser.add_argument(
        "--runtime-config",
        metavar="PATH",
        help="cdi-runtime's config file to write with the runtime (default: /etc/cdikit/runtime.toml; "
        "another path takes effect only with $CDIKIT_RUNTIME_CONFIG in the engine's environment)",
    )
    parser.add_argument("--runtime-path", metavar="PATH", help="path of cdi-runtime (default: found in PATH)")
    parser.add_argument(
        "--spec-dir", action="append", metavar="DIR", help="CDI spec dir for the engine (repeatable)"
    )
    parser.add_argument(
        "--engine-version",
        metavar="X.Y",
        help="the engine's version (default: ask its binary, e.g. dockerd --version)",
    )
    parser.add_argument("--containerd-version", metavar="X.Y", help=argparse.SUPPRESS)
    parser.add_argument("--set-default", action="store_true", help="make cdi-runtime the default runtime")
    parser.add_argument("--apply", action="store_true", help="write the file (default: show the diff only)")
    parser.add_argument("--no-backup", action="store_true", help="with --apply: keep no backup copy")
    parser.set_defaults(func=_run)
