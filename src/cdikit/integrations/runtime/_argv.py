"""Reading an OCI runtime command line the way runc and crun do.

Only three things matter to the shim: the subcommand (``create``/``run`` are
the ones that get CDI devices), the bundle directory, and the runtime's own
``--log``/``--log-format``/``--debug`` (so errors land where the engine looks).
The command line itself is never rewritten: the real runtime gets it verbatim.

This module is on the passthrough fast path: it imports nothing heavy.
"""

from __future__ import annotations

from cdikit.integrations.runtime._errors import CommandLineError

__all__ = ["INJECTING_SUBCOMMANDS", "RuntimeCommand", "parse_command_line"]

# Subcommands whose bundle gets CDI devices injected before the runtime starts.
INJECTING_SUBCOMMANDS = frozenset({"create", "run"})

# Global flags of runc (urfave/cli) and crun (argp) that take a value.
_GLOBAL_VALUE_FLAGS = frozenset(
    {"log", "log-format", "log-level", "root", "criu", "rootless", "cgroup-manager"}
)
# runc requires a value for --rootless, crun takes it only as --rootless=VALUE:
# a bare --rootless followed by a subcommand name is crun's boolean form.
_OPTIONAL_VALUE_FLAGS = frozenset({"rootless"})
# Flags of create/run that take a value (runc and crun).
_CREATE_VALUE_FLAGS = frozenset({"bundle", "b", "console-socket", "pid-file", "preserve-fds", "config", "f"})
_KNOWN_SUBCOMMANDS = frozenset(
    {
        "checkpoint", "create", "delete", "events", "exec", "features", "help", "init", "kill", "list",
        "pause", "ps", "restore", "resume", "run", "spec", "start", "state", "update",
    }
)  # fmt: skip
_HELP_FLAGS = frozenset({"h", "help", "?", "usage"})


class RuntimeCommand:
    """What the shim needs to know about one runtime invocation.

    ``subcommand`` is None when there is none (``--version``, ``--help``).
    ``bundle`` and ``config_file`` are only set for injecting subcommands;
    ``config_file`` is absolute.
    """

    __slots__ = ("bundle", "config_file", "debug", "help", "log_format", "log_path", "subcommand")

    def __init__(self) -> None:
        self.subcommand: str | None = None
        self.bundle: str | None = None
        self.config_file: str | None = None
        self.log_path: str | None = None
        self.log_format: str = "text"
        self.debug: bool = False
        self.help: bool = False

    @property
    def injects(self) -> bool:
        """True when this invocation creates a container from a bundle."""
        return self.subcommand in INJECTING_SUBCOMMANDS and not self.help

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"RuntimeCommand({fields})"


def _split_flag(arg: str) -> tuple[str, str | None] | None:
    """``--name=value`` / ``-name value`` -> (name, inline value); None for a positional."""
    if len(arg) < 2 or arg[0] != "-":
        return None
    name = arg[2:] if arg.startswith("--") else arg[1:]
    if "=" in name:
        name, value = name.split("=", 1)
        return name, value
    return name, None


def parse_command_line(args: list[str], *, cwd: str | None = None) -> RuntimeCommand:
    """Parse ``args`` (the command line without argv[0]) like runc/crun would.

    Accepts the Go flag forms ``--flag value``, ``--flag=value``, ``-flag value``
    and ``-flag=value``. Raises :class:`CommandLineError` when a flag that needs
    a value ends the command line.
    """
    cmd = RuntimeCommand()
    i = 0
    n = len(args)
    # Global flags, up to the subcommand.
    while i < n:
        arg = args[i]
        if arg == "--":
            i += 1
            break
        split = _split_flag(arg)
        if split is None:
            break
        name, value = split
        if name in _GLOBAL_VALUE_FLAGS and value is None:
            takes_next = i + 1 < n and not (
                name in _OPTIONAL_VALUE_FLAGS and args[i + 1] in _KNOWN_SUBCOMMANDS
            )
            if takes_next:
                value = args[i + 1]
                i += 1
            elif name not in _OPTIONAL_VALUE_FLAGS:
                raise CommandLineError(f"flag needs an argument: -{name}")
        if name == "log":
            cmd.log_path = value
        elif name == "log-format":
            cmd.log_format = value or "text"
        elif name == "debug":
            cmd.debug = value is None or value.lower() not in ("false", "0")
        elif name in _HELP_FLAGS:
            cmd.help = True
        i += 1
    if i >= n:
        return cmd
    cmd.subcommand = args[i]
    i += 1
    if cmd.subcommand not in INJECTING_SUBCOMMANDS:
        return cmd
    bundle: str | None = None
    config: str | None = None
    # urfave/cli v1 reorders flags after positionals, so scan the whole tail.
    while i < n:
        arg = args[i]
        if arg == "--":
            break
        split = _split_flag(arg)
        if split is not None:
            name, value = split
            if name in _CREATE_VALUE_FLAGS and value is None:
                if i + 1 >= n:
                    raise CommandLineError(f"flag needs an argument: -{name}")
                value = args[i + 1]
                i += 1
            if name in ("bundle", "b"):
                bundle = value
            elif name in ("config", "f"):
                config = value
            elif name in _HELP_FLAGS:
                cmd.help = True
        i += 1
    base = cwd if cwd is not None else _getcwd()
    cmd.bundle = _abspath(bundle or ".", base)
    cmd.config_file = _abspath(config or "config.json", cmd.bundle)
    return cmd


def _getcwd() -> str:
    import os  # already loaded by the interpreter: free

    return os.getcwd()


def _abspath(path: str, base: str) -> str:
    import os.path

    return os.path.normpath(os.path.join(base, path))
