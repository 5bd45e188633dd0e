"""The ``cdi`` command line: every option, sub-command, help text and example.

Built-in commands name their handler as ``"module:function"`` and are
imported only once chosen. Command groups owned by other packages (generators,
runtime configuration, Kubernetes, requests) register their own parsers; their
modules are imported only when one of their commands is chosen or when the
full command list is needed (``--help``, an unknown command).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from cdikit.cli._common import add_auto_allow_option, add_global_options

__all__ = ["BUILTIN_COMMANDS", "EXTERNAL_GROUPS", "build_parser", "command_name"]

# Module -> commands it registers, via ``register(subparsers) -> None``.
EXTERNAL_GROUPS: dict[str, tuple[str, ...]] = {
    "cdikit.cli._nvidia": ("generate", "transform"),
    "cdikit.cli._configure": ("configure",),
    "cdikit.cli._kube": ("kube",),
    "cdikit.cli._requests": ("request", "req"),
}

_H = "cdikit.cli."
# name -> (handler, aliases, one-line help, description with example)
_COMMANDS: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "devices": (
        _H + "_listing:cmd_devices",
        ("devs", "dev"),
        "list the devices the spec dirs provide",
        "List every resolvable device (sorted), with the spec file providing it, then\n"
        "every on-demand kind no spec provides yet (like BuildKit's inspect output).\n"
        "ALLOWED: a build may use it without --allow (the spec or device carries\n"
        "org.mobyproject.buildkit.device.autoallow=true, it is on demand, or --auto-allow\n"
        "names it or its kind). ON-DEMAND: its spec is generated on first request.\n"
        "-v shows each device's edits and its spec's (upstream's devices -v), in the\n"
        "spec file's own format.\n\n"
        "example:\n  cdi -d ./cdi devices -o json\n  cdi devices --auto-allow vendor.com/gpu",
    ),
    "vendors": (
        _H + "_listing:cmd_vendors",
        (),
        "list vendors with their classes and spec files",
        "example:\n  cdi vendors",
    ),
    "classes": (
        _H + "_listing:cmd_classes",
        (),
        "list device classes with their vendors",
        "example:\n  cdi classes -o yaml",
    ),
    "specs": (
        _H + "_listing:cmd_specs",
        (),
        "list loaded spec files, optionally of some vendors only",
        "-v shows each file's content in its own format (upstream's specs -v).\n\n"
        "example:\n  cdi specs nvidia.com\n  cdi specs -v",
    ),
    "dirs": (
        _H + "_listing:cmd_dirs",
        (),
        "list the spec dirs in priority order, with the errors of their files",
        "Like the upstream tool's 'cdi dirs'; -o json adds whether each dir exists.\n\n"
        "example:\n  cdi -d /etc/cdi,/var/run/cdi dirs",
    ),
    "list": (
        _H + "_listing:cmd_list",
        ("ls",),
        "show everything: spec dirs, specs, devices, vendors, classes, errors",
        "example:\n  cdi list -o json | jq .devices",
    ),
    "validate": (
        _H + "_validate:cmd_validate",
        (),
        "validate the spec dirs (or the given files); exit 1 when any is invalid",
        "Without FILE: every spec file in the spec dirs, with conflicts explained.\n"
        "With FILE...: those files alone (as a consumer would read them).\n\n"
        "example:\n  cdi validate ./my-vendor.yaml\n  cdi -d /etc/cdi validate -o json",
    ),
    "inject": (
        _H + "_inject:cmd_inject",
        ("inj", "in", "oci"),
        "inject devices into an OCI runtime spec and print the result",
        "Exact names are injected as given, in order (repeats included). Names with\n"
        "glob characters (* ? [) expand like Go's filepath.Match against the device\n"
        "list ('*' does not cross '/'). Any unresolvable name: exit 1, nothing on\n"
        "stdout, each unresolvable name on stderr.\n\n"
        "example:\n  cdi inject config.json vendor.com/gpu=0 > new-config.json\n"
        "  cat config.json | cdi inject -o yaml - 'vendor.com/gpu=*'",
    ),
    "resolve": (
        _H + "_inject:cmd_resolve",
        ("res",),
        "inject the devices an OCI spec's own cdi.k8s.io/ annotations request",
        "Reads the OCI spec's cdi.k8s.io/ annotations (and, like the upstream tool,\n"
        "linux.devices entries whose path is a qualified CDI name, which are removed),\n"
        "injects those devices and prints the result. Several files: a {file: spec}\n"
        "mapping, printed only when every one resolved. Format: -o, else the file's own.\n\n"
        "example:\n  cdi resolve bundle/config.json\n  cdi resolve -o yaml a/config.json b/config.json",
    ),
    "monitor": (
        _H + "_monitor:cmd_monitor",
        ("mon",),
        "watch the spec dirs and print what changes, until interrupted",
        "Prints the current state, then one line per change (JSON lines with -o json,\n"
        "one YAML document per change with -o yaml), a burst reported once it is over.\n\n"
        "example:\n  cdi monitor devices",
    ),
    "lint": (
        _H + "_lint:cmd_lint",
        (),
        "find spec-dir problems no consumer reports, each with a fix",
        "Severities: error, warning, info. Exit 1 when any error or warning is found.\n\n"
        "example:\n  cdi -d /etc/cdi -d /var/run/cdi lint",
    ),
    "doctor": (
        _H + "_doctor:cmd_doctor",
        (),
        "check Docker, containerd, CRI-O, podman and BuildKit CDI configuration",
        "Reads each consumer's configuration file, reports what disables CDI or points\n"
        "it at other spec dirs than cdikit's, and prints the exact fix. Exit 1 when\n"
        "any error or warning is found.\n\n"
        "example:\n  cdi doctor\n  cdi doctor --root /mnt/node",
    ),
    "completion": (
        _H + "_completion:cmd_completion",
        (),
        "print the shell completion script for bash, zsh or fish",
        "Generated from this command line's own parser, so it always matches it.\n\n"
        "example:\n  cdi completion bash > /usr/share/bash-completion/completions/cdi\n"
        '  cdi completion zsh > "${fpath[1]}/_cdi"\n'
        "  cdi completion fish > ~/.config/fish/completions/cdi.fish",
    ),
    "man": (
        _H + "_completion:cmd_man",
        (),
        "print a manual page, or write them all (--dir)",
        "Generated from this command line's own parser (roff, section 1).\n\n"
        "example:\n  cdi man generate nvidia | man -l -\n  cdi man --dir /usr/local/share/man/man1",
    ),
    "install": (
        "",
        (),
        "install cdikit's system integration (the NVIDIA refresh units)",
        "example:\n  cdi install systemd\n  cdi install systemd --root ./pkgroot --prefix /usr",
    ),
    "spec": (
        "",
        (),
        "install or remove spec files in the highest-priority spec dir",
        "example:\n  cdi spec install ./vendor-gpu.yaml\n  cdi spec remove vendor-gpu",
    ),
}
_ALIASES = {alias: name for name, entry in _COMMANDS.items() for alias in (name, *entry[1])}
BUILTIN_COMMANDS = frozenset(_ALIASES)

_GLOBAL_WITH_VALUE = frozenset(["-d", "--spec-dirs", "--schema", "-o", "--output"])

_EPILOG = """\
exit status:
  0  success
  1  findings: invalid spec, unresolvable device, lint/doctor problems, failed operation
  2  usage: bad command line, unreadable or malformed input file

example:
  cdi -d /etc/cdi -d /var/run/cdi devices
"""


def command_name(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (first positional after global options), if any."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return argv[i + 1] if i + 1 < len(argv) else None
        if not token.startswith("-") or token == "-":
            return token
        if token in _GLOBAL_WITH_VALUE:
            i += 2
            continue
        i += 1
    return None


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter without its ``shutil`` import (3 ms of start-up on every run).

    argparse builds formatters while merely constructing parsers, and its
    default asks ``shutil.get_terminal_size`` for the width.
    """

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _terminal_width())


def _terminal_width() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.stdout.fileno()).columns
        except (OSError, ValueError):
            columns = 80
    return max(columns - 2, 20)


def _new_sub(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    aliases: Sequence[str],
    help_text: str,
    description: str,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        aliases=list(aliases),
        help=help_text,
        description=f"{help_text[0].upper()}{help_text[1:]}.\n\n{description}",
        formatter_class=_Formatter,
    )
    add_global_options(parser, sub=True)
    return parser


def _add_builtin(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], only: str | None) -> None:
    for name, (handler, aliases, help_text, description) in _COMMANDS.items():
        if only is not None and name != only:
            continue
        parser = _new_sub(subparsers, name, aliases, help_text, description)
        parser.set_defaults(func=handler)
        if name == "devices":
            add_auto_allow_option(parser)
        elif name == "specs":
            parser.add_argument("vendors", nargs="*", metavar="VENDOR", help="only these vendors")
        elif name == "validate":
            parser.add_argument("files", nargs="*", metavar="FILE", help="spec files to validate")
        elif name in ("inject", "resolve"):
            parser.add_argument(
                "oci",
                nargs="+" if name == "resolve" else None,
                metavar="OCI_SPEC|-",
                help="OCI runtime spec (config.json) or - for stdin"
                + ("; several allowed" if name == "resolve" else ""),
            )
            if name == "inject":
                parser.add_argument(
                    "devices", nargs="+", metavar="DEVICE", help="device name or glob pattern"
                )
        elif name == "monitor":
            parser.add_argument(
                "views",
                nargs="*",
                # Checked by the command: argparse rejects an empty list against choices.
                metavar="specs|vendors|classes|devices|all",
                help="what to watch (default: all)",
            )
            parser.add_argument(
                "--interval", type=float, default=1.0, metavar="SECONDS", help="rescan period (default: 1)"
            )
            parser.add_argument(
                "--debounce",
                type=float,
                default=1.0,
                metavar="SECONDS",
                help="report a burst of changes once no event came for this long (default: 1; 0: at once)",
            )
        elif name == "lint":
            parser.add_argument(
                "--min-severity",
                choices=("info", "warning", "error"),
                default="info",
                help="hide findings below this severity (default: info)",
            )
        elif name == "doctor":
            parser.add_argument(
                "--root",
                default="/",
                metavar="DIR",
                help="look for consumer config files under DIR instead of / (default: /)",
            )
            parser.add_argument(
                "--consumer-version",
                action="append",
                default=[],
                metavar="NAME=X.Y.Z",
                help="the release of a consumer (docker, containerd, crio, podman, buildkit); "
                "default: ask its binary (on / only; binaries under --root are never run)",
            )
            parser.add_argument(
                "--probe-binaries",
                action="store_true",
                help="with --root: still ask this host's binaries (PATH) their versions",
            )
        elif name == "spec":
            _add_spec_commands(parser)
        elif name == "install":
            _add_install_commands(parser)
        elif name == "completion":
            parser.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
        elif name == "man":
            parser.add_argument(
                "command", nargs="*", metavar="COMMAND", help="the page of this command (default: cdi)"
            )
            parser.add_argument(
                "--dir", metavar="DIR", help="write every page (cdi.1, cdi-devices.1, ...) into DIR"
            )


def _add_install_commands(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="install_action", metavar="WHAT", required=True)
    systemd = _new_sub(
        actions,
        "systemd",
        (),
        "write the cdikit-refresh systemd units and udev rule with this installation's paths",
        "Writes /etc/systemd/system/cdikit-refresh.{service,path}, cdikit-refresh-watch.service,\n"
        "/etc/udev/rules.d/99-cdikit-nvidia-refresh.rules and (if absent) the example\n"
        "/etc/cdikit/nvidia-refresh.env, with ExecStart= naming the cdikit-refresh installed\n"
        "with this cdikit (a venv's too). Then: systemctl daemon-reload and enable the units.\n\n"
        "example:\n  cdi install systemd\n  cdi install systemd --dry-run -o json",
    )
    systemd.add_argument(
        "--prefix", metavar="DIR", help="the programs are in DIR/bin (default: this installation's)"
    )
    systemd.add_argument("--bindir", metavar="DIR", help="the programs are in DIR (overrides --prefix)")
    systemd.add_argument(
        "--root", metavar="DIR", help="write under DIR instead of / (packaging; paths inside unchanged)"
    )
    systemd.add_argument("--dry-run", action="store_true", help="say what would be written, write nothing")
    systemd.set_defaults(func=_H + "_install:cmd_install_systemd")


def _add_spec_commands(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="spec_action", metavar="ACTION", required=True)
    install = _new_sub(
        actions,
        "install",
        (),
        "validate a spec file and write it atomically (0644) into /etc/cdi, or the top -d dir",
        "Refuses a file that is invalid or would conflict with a spec already in that dir.\n"
        "Writes the lowest cdiVersion the content needs (podman 4.3 loads 0.5.0 at most) and\n"
        "warns when a consumer installed here cannot load the file.\n\n"
        "example:\n  cdi spec install ./vendor-gpu.yaml\n"
        "  cdi -d /etc/cdi -d /var/run/cdi spec install ./vendor-gpu.yaml   (into /var/run/cdi)",
    )
    install.add_argument("file", metavar="FILE", help="spec file (.json or .yaml)")
    install.add_argument("--name", help="file name in the spec dir (default: the file's own name)")
    install.add_argument(
        "--cdi-version",
        default="minimum",
        metavar="minimum|keep|X.Y.Z",
        help="cdiVersion to write: the minimum the content needs (default, as the library's write_spec), "
        "the file's own (keep), or X.Y.Z",
    )
    install.add_argument(
        "--buildkit-autoallow",
        action="store_true",
        help="set org.mobyproject.buildkit.device.autoallow on the spec (BuildKit builds may use its "
        "devices without --allow device; needs cdiVersion 0.6.0)",
    )
    install.set_defaults(func=_H + "_spec:cmd_install")
    autoallow = _new_sub(
        actions,
        "autoallow",
        (),
        "let BuildKit builds use an installed spec's devices without --allow device",
        "Sets org.mobyproject.buildkit.device.autoallow=true on the spec (or on the --device\n"
        "entries) of the installed file NAME, rewritten atomically. Annotations need\n"
        "cdiVersion 0.6.0: consumers loading 0.5.0 at most (podman 4.3) then skip the file.\n\n"
        "example:\n  cdi spec autoallow vendor-gpu\n  cdi spec autoallow vendor-gpu --device gpu0 --off",
    )
    autoallow.add_argument("name", metavar="NAME", help="spec file name, with or without .json/.yaml")
    autoallow.add_argument("--device", action="append", metavar="NAME", help="only this device (repeatable)")
    autoallow.add_argument("--off", action="store_true", help="remove the annotation instead")
    autoallow.set_defaults(func=_H + "_spec:cmd_autoallow")
    remove = _new_sub(
        actions,
        "remove",
        ("rm",),
        "remove a spec file from /etc/cdi, or the top -d dir",
        "NAME is the file name, with or without .json/.yaml.\n\nexample:\n  cdi spec remove vendor-gpu",
    )
    remove.add_argument("name", metavar="NAME", help="spec file name")
    remove.set_defaults(func=_H + "_spec:cmd_remove")


def _external_modules(command: str | None) -> list[str]:
    if command in BUILTIN_COMMANDS:
        return []
    for module, commands in EXTERNAL_GROUPS.items():
        if command in commands:
            return [module]
    return list(EXTERNAL_GROUPS)


def build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, dict[str, str]]:
    """The parser for ``argv``, plus ``{command: reason}`` for external groups that failed to load."""
    parser = argparse.ArgumentParser(
        prog="cdi",
        description="Container Device Interface (CDI) tool: inspect spec dirs, validate, inject, diagnose.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    add_global_options(parser, sub=False)
    from cdikit._version import __version__

    parser.add_argument("--version", action="version", version=f"cdi (cdikit) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    command = command_name(argv)
    # A built-in command needs only its own parser: building all of them (and
    # their help texts) would cost more start-up time than the command itself.
    _add_builtin(subparsers, _ALIASES.get(command) if command is not None else None)
    unavailable: dict[str, str] = {}
    for module in _external_modules(command):
        try:
            register = importlib.import_module(module).register
        except ImportError as err:
            # Optional groups: the rest of the tool must work while they are absent.
            for cmd in EXTERNAL_GROUPS[module]:
                unavailable[cmd] = f"{module}: {err}"
            continue
        register(subparsers)
    return parser, unavailable
