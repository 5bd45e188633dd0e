"""What every command shares: the registry over ``--spec-dirs``, schema choice, exit codes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdikit.registry import Registry

__all__ = [
    "DEFAULT_SPEC_DIRS",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "load_schema",
    "open_registry",
    "output_format",
]

DEFAULT_SPEC_DIRS = ("/etc/cdi", "/var/run/cdi")

EXIT_OK = 0
EXIT_FAILURE = 1  # findings, invalid specs, unresolvable devices, failed operations
EXIT_USAGE = 2  # bad command line or unreadable input argument


class UsageError(Exception):
    """The command line (or an input it names) is unusable: exit status 2."""


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
    errors = registry.get_errors()
    if not errors:
        return None
    count = len(errors)
    noun = "file has" if count == 1 else "files have"
    return f"{count} spec {noun} errors (run 'cdi validate' for details)"
