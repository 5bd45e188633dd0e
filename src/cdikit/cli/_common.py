"""What every command shares: global options, the registry over ``--spec-dirs``, schema choice,
reading an input argument, exit codes.

Command groups registered by other packages (``generate``, ``kube``, ``request``)
import this module inside their ``register``/handlers, never at module level.
"""

from __future__ import annotations

from cdikit._paths import DEFAULT_SPEC_DIRS

TYPE_CHECKING = False  # not typing's: every command imports this module (start-up time)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Collection
    from typing import Any

    from cdikit.registry import Registry

__all__ = [
    "DEFAULT_SPEC_DIRS",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "GLOBAL_OPTIONS",
    "UsageError",
    "add_auto_allow_option",
    "add_command",
    "add_command_group",
    "add_global_options",
    "load_schema",
    "open_registry",
    "output_format",
    "read_source",
]


EXIT_OK = 0
EXIT_FAILURE = 1  # findings, invalid specs, unresolvable devices, failed operations
EXIT_USAGE = 2  # bad command line or unreadable input argument


class UsageError(Exception):
    """The command line (or an input it names) is unusable: exit status 2."""


GLOBAL_OPTIONS = ("spec-dirs", "schema", "output", "verbose")


def _dir_list(value: str) -> list[str]:
    """``-d a,b``: a comma-separated list, as the upstream ``cdi`` tool's ``--spec-dirs`` takes."""
    return [part for part in value.split(",") if part]


def add_global_options(
    parser: argparse.ArgumentParser, *, sub: bool = True, only: Collection[str] = GLOBAL_OPTIONS
) -> None:
    """The global options (those of :data:`GLOBAL_OPTIONS` named in ``only``) on ``parser``.

    On sub-commands the options default to SUPPRESS (and spec dirs and
    verbosity use their own dests, merged by ``cdi``'s main) so that
    "cdi -o json devices" and "cdi devices -o json" both work and an option
    given before the command is not reset by the sub-parser.
    """
    import argparse

    suppress = argparse.SUPPRESS
    group = parser.add_argument_group("global options")
    if "spec-dirs" in only:
        group.add_argument(
            "-d",
            "--spec-dirs",
            dest="sub_spec_dirs" if sub else "spec_dirs",
            action="extend",
            type=_dir_list,
            metavar="DIR[,DIR]",
            default=suppress if sub else None,
            help="spec directories, comma-separated or repeated; later = higher priority "
            f"(default: {','.join(DEFAULT_SPEC_DIRS)})",
        )
    if "schema" in only:
        group.add_argument(
            "-s",
            "--schema",
            metavar="builtin|none|PATH",
            default=suppress if sub else None,
            help="JSON schema to validate spec files against (default: builtin for "
            "validate/lint/spec install, none otherwise)",
        )
    if "output" in only:
        group.add_argument(
            "-o",
            "--output",
            choices=("table", "json", "yaml"),
            default=suppress if sub else None,
            help="output format (default: table; for inject/resolve the input file's own, by extension)",
        )
    if "verbose" in only:
        group.add_argument(
            "-v",
            "--verbose",
            dest="sub_verbose" if sub else "verbose",
            action="count",
            default=suppress if sub else 0,
            help="more detail",
        )


def add_auto_allow_option(parser: argparse.ArgumentParser) -> None:
    """``--auto-allow NAME|KIND`` (repeatable) into ``args.auto_allow``, for ``devices`` and ``request``."""
    parser.add_argument(
        "--auto-allow",
        action="append",
        default=[],
        metavar="NAME|KIND",
        help="a device or kind that is always allowed, like buildkitd's [cdi] autoAllowed (repeatable)",
    )


def add_command(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    description: str,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """A sub-command whose description (with its examples) keeps its line breaks.

    It takes ``cdi``'s global options too (before or after the command, like every
    command); an option the command defines itself (``generate nvidia --output FILE``,
    its ``-v``) replaces the global one of the same spelling.
    """
    import argparse

    kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    kwargs.setdefault("conflict_handler", "resolve")
    parser = actions.add_parser(name, help=help_text, description=description, **kwargs)
    add_global_options(parser, sub=True)
    return parser


def add_command_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    description: str,
    *,
    dest: str,
    metavar: str,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A command with required sub-commands (``cdi kube ACTION``); returns their parsers' holder."""
    group = subparsers.add_parser(name, help=help_text, description=description)
    add_global_options(group, sub=True)
    return group.add_subparsers(dest=dest, metavar=metavar, required=True)


def honour_global_options(
    parser: argparse.ArgumentParser,
    options: Collection[str],
    *,
    format_dest: str | None = None,
    spec_dirs_dest: str | None = None,
) -> None:
    """Declare which global options a command honours (default: all of them).

    ``format_dest``: ``-o json|yaml`` sets this option (a spec writer's
    ``--format``); ``spec_dirs_dest``: ``-d`` fills this list option when it
    was not given itself (``configure --spec-dir``).
    """
    parser.set_defaults(
        honoured_options=tuple(options),
        format_dest=format_dest,
        spec_dirs_dest=spec_dirs_dest,
        command_prog=parser.prog,
    )


def apply_global_options(args: argparse.Namespace) -> None:
    """Check and map the global options of a command that declared what it honours.

    Every command parses the global options (before or after it), so ``-o json``
    never silently does nothing: a command that cannot honour one says so
    (:class:`UsageError`, exit 2).
    """
    honoured = getattr(args, "honoured_options", None)
    if honoured is None:
        return
    command = str(getattr(args, "command_prog", "this command"))
    given = {
        "output": getattr(args, "output", None),
        "schema": getattr(args, "schema", None),
        "spec-dirs": getattr(args, "spec_dirs_given", False),
    }
    flags = {"output": "-o/--output", "schema": "-s/--schema", "spec-dirs": "-d/--spec-dirs"}
    for option, value in given.items():
        if value and option not in honoured:
            raise UsageError(f"{command} does not use {flags[option]}")
    format_dest = getattr(args, "format_dest", None)
    if format_dest and given["output"]:
        if given["output"] == "table":
            raise UsageError(f"{command} writes a spec: -o json or -o yaml")
        if not getattr(args, format_dest, None):
            setattr(args, format_dest, given["output"])
    dirs_dest = getattr(args, "spec_dirs_dest", None)
    if dirs_dest and given["spec-dirs"] and not getattr(args, dirs_dest, None):
        setattr(args, dirs_dest, list(args.spec_dirs))


def read_source(source: str, what: str = "") -> bytes:
    """The bytes of ``source``, a path or ``-`` for stdin; :class:`UsageError` naming it otherwise.

    ``what`` prefixes the path in the message ("cannot read OCI spec x.json: ...").
    """
    import sys

    try:
        if source == "-":
            return sys.stdin.buffer.read()
        with open(source, "rb") as handle:
            return handle.read()
    except OSError as err:
        label = f"{what} {source}" if what else source
        raise UsageError(f"cannot read {label}: {err.strerror or err}") from err


def output_format(args: argparse.Namespace, *, default: str = "table") -> str:
    fmt: str | None = getattr(args, "output", None)
    return fmt if fmt else default


def load_schema(args: argparse.Namespace, default: str) -> Any:
    """The schema object for ``--schema`` (or ``default`` when not given); None for ``none``.

    The JSON-schema validator is costly to import, so listing and injection
    default to ``none`` (the semantic rules every consumer applies still run)
    and only ``validate``, ``lint`` and ``spec install`` default to ``builtin``.
    """
    explicit: str | None = getattr(args, "schema", None)
    choice = explicit or default
    if choice == "none":
        return None
    try:
        from cdikit.validation.schema import Schema
    except ImportError as err:
        # The schema module is optional at run time: without an explicit --schema
        # the semantic rules alone still validate (what the Go library does by default).
        if explicit is None:
            return None
        raise UsageError(f"--schema {choice}: JSON-schema validation is unavailable ({err})") from err
    from cdikit.errors import CDIError

    try:
        return Schema.load(choice)
    except OSError as err:
        raise UsageError(f"--schema {choice}: {err.strerror or err}") from err
    except (CDIError, ValueError) as err:
        raise UsageError(f"--schema {choice}: {err}") from err


def open_registry(
    args: argparse.Namespace, *, schema_default: str = "none", auto_refresh: bool = False
) -> Registry:
    """A registry over the requested spec dirs (loaded once on creation).

    Load failures are per-file and stay queryable through ``get_errors()``;
    they never stop a command from listing what did load.
    """
    from cdikit.registry import Registry

    schema = load_schema(args, schema_default)
    return Registry(list(args.spec_dirs), auto_refresh=auto_refresh, schema=schema)


def spec_error_note(registry: Registry) -> str | None:
    """A one-line hint when some spec files failed to load, else None."""
    from cdikit.cli._output import spec_errors_note

    return spec_errors_note(len(registry.get_errors()))
