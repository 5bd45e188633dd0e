"""``cdi``: the command-line tool, a thin skin over cdikit's public API.

Exit status: 0 success; 1 findings (invalid spec, unresolvable device,
lint/doctor problems, failed operation); 2 usage (bad command line, unreadable
or malformed input file). Results go to stdout, diagnostics to stderr.

Start-up is latency-sensitive (``cdi inject`` runs inside container start-up
paths), so this package imports nothing heavy at module level: a plain
``cdi devices`` over a warm disk cache is answered by :mod:`cdikit.cli._lean`
without even argparse, a plain ``cdi generate nvidia`` command line is read
without argparse too (:func:`cdikit.cli._nvidia.fast_generate_args`), and each
other command imports what it needs when it runs.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: the lean path must not pay for it
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

__all__ = ["main"]


def _normalise(args: argparse.Namespace) -> None:
    """Merge global options given before and after the command into one set."""
    from cdikit.cli._common import DEFAULT_SPEC_DIRS

    dirs = list(getattr(args, "spec_dirs", None) or []) + list(getattr(args, "sub_spec_dirs", None) or [])
    args.spec_dirs = dirs or list(DEFAULT_SPEC_DIRS)
    args.spec_dirs_given = bool(dirs)
    args.verbose = int(getattr(args, "verbose", 0) or 0) + int(getattr(args, "sub_verbose", 0) or 0)
    for name in ("output", "schema"):
        if not hasattr(args, name):
            setattr(args, name, None)


def _handler(func: object) -> Callable[[argparse.Namespace], int]:
    if callable(func):
        return func
    import importlib

    module, _, attr = str(func).partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def _stdout_gone() -> int:
    """The reader went away (e.g. "cdi devices | head"): not an error worth a traceback.

    Point stdout at /dev/null so the interpreter's final flush does not fail again.
    """
    import os

    from cdikit.cli._common import EXIT_FAILURE

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILURE


# The command words cdikit.cli._lean answers (it says so itself when it cannot).
_LEAN_COMMANDS = frozenset(("devices", "devs", "dev"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cdi`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not _LEAN_COMMANDS.isdisjoint(arguments):  # other commands skip even the lean module's import
        from cdikit.cli import _lean

        try:
            status = _lean.run(arguments)
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            return _stdout_gone()
        if status is not None:
            return status
    return _main(arguments, whole_process=argv is None)


def _main(arguments: list[str], *, whole_process: bool = False) -> int:
    from cdikit.cli._common import EXIT_FAILURE, EXIT_USAGE, UsageError, apply_global_options
    from cdikit.cli._output import error

    args = None
    if arguments[:2] == ["generate", "nvidia"]:
        # Plain spec-generator command lines skip argparse (start-up time; same arguments).
        from cdikit.cli._nvidia import fast_generate_args

        args = fast_generate_args(arguments[2:])
        if args is not None and whole_process:
            args.exit_when_done = True  # a whole `cdi` process: it may skip the interpreter's teardown
    if args is None:
        from cdikit.cli._parser import build_parser, command_name

        parser, unavailable = build_parser(arguments)
        chosen = command_name(arguments)
        if chosen in unavailable:
            error(f"command {chosen!r} is not available ({unavailable[chosen]})")
            return EXIT_USAGE
        try:
            args = parser.parse_args(arguments)
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    func = getattr(args, "func", None)
    if not func:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _normalise(args)
    from cdikit.errors import CDIError

    try:
        apply_global_options(args)
        return _handler(func)(args)
    except UsageError as err:
        error(str(err))
        return EXIT_USAGE
    except CDIError as err:
        where = err.context()
        error(f"{err}" + (f" ({where})" if where and (err.path or "") not in str(err) else ""))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _stdout_gone()
