"""``cdi generate nvidia`` and ``cdi transform root`` (argparse skin over the library).

Every generate option also reads an environment variable: ``CDIKIT_NVIDIA_<NAME>``
first, then the ``nvidia-ctk`` spelling (``NVIDIA_CTK_CDI_GENERATE_MODE`` ...) so
existing refresh env files keep working. The command line wins over both. List
options repeat and also accept comma-separated values.

Nothing heavy is imported at module level: the ``cdi`` start-up imports this module
to build its parser.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: `cdi generate nvidia` start-up time
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

    from cdikit.producers.nvidia.generate import GenerateOptions
    from cdikit.producers.nvidia.refresh import RefreshOutcome

__all__ = ["ENV_VARS", "add_generate_options", "fast_generate_args", "options_from_args", "register"]

# option dest -> environment variables, in precedence order
ENV_VARS: dict[str, tuple[str, ...]] = {
    "mode": ("CDIKIT_NVIDIA_MODE", "NVIDIA_CTK_CDI_GENERATE_MODE"),
    "output_file": ("CDIKIT_NVIDIA_OUTPUT", "NVIDIA_CTK_CDI_OUTPUT_FILE_PATH"),
    "format": ("CDIKIT_NVIDIA_FORMAT", "NVIDIA_CTK_CDI_GENERATE_OUTPUT_FORMAT"),
    "device_name_strategy": (
        "CDIKIT_NVIDIA_DEVICE_NAME_STRATEGY",
        "NVIDIA_CTK_CDI_GENERATE_DEVICE_NAME_STRATEGIES",
    ),
    "device_id": ("CDIKIT_NVIDIA_DEVICE_ID", "NVIDIA_CTK_CDI_GENERATE_DEVICE_IDS"),
    "no_all_device": ("CDIKIT_NVIDIA_NO_ALL_DEVICE", "NVIDIA_CTK_CDI_GENERATE_NO_ALL_DEVICE"),
    "driver_root": ("CDIKIT_NVIDIA_DRIVER_ROOT", "NVIDIA_CTK_DRIVER_ROOT"),
    # nvidia-ctk's global --config; NVIDIA_CTK_CONFIG_FILE_PATH is read by toolkit_config_path
    "toolkit_config": ("CDIKIT_NVIDIA_TOOLKIT_CONFIG", "NVIDIA_CTK_CONFIG"),
    "dev_root": ("CDIKIT_NVIDIA_DEV_ROOT", "NVIDIA_CTK_DEV_ROOT"),
    "sysfs_root": ("CDIKIT_NVIDIA_SYSFS_ROOT",),
    "procfs_root": ("CDIKIT_NVIDIA_PROCFS_ROOT",),
    "library_search_path": (
        "CDIKIT_NVIDIA_LIBRARY_SEARCH_PATH",
        "NVIDIA_CTK_CDI_GENERATE_LIBRARY_SEARCH_PATHS",
    ),
    "hook_path": ("CDIKIT_NVIDIA_HOOK_PATH", "NVIDIA_CTK_CDI_HOOK_PATH"),
    "ldconfig_path": ("CDIKIT_NVIDIA_LDCONFIG_PATH", "NVIDIA_CTK_CDI_GENERATE_LDCONFIG_PATH"),
    "vendor": ("CDIKIT_NVIDIA_VENDOR", "NVIDIA_CTK_CDI_GENERATE_VENDOR"),
    "class_": ("CDIKIT_NVIDIA_CLASS", "NVIDIA_CTK_CDI_GENERATE_CLASS"),
    "spec_version": ("CDIKIT_NVIDIA_SPEC_VERSION",),
    "csv_file": ("CDIKIT_NVIDIA_CSV_FILE", "NVIDIA_CTK_CDI_GENERATE_CSV_FILES"),
    "csv_ignore_pattern": ("CDIKIT_NVIDIA_CSV_IGNORE_PATTERN", "NVIDIA_CTK_CDI_GENERATE_CSV_IGNORE_PATTERNS"),
    "csv_compat_container_root": (
        "CDIKIT_NVIDIA_CSV_COMPAT_CONTAINER_ROOT",
        "NVIDIA_CTK_CDI_GENERATE_CSV_CONTAINER_COMPAT_ROOT",
    ),
    "config_search_path": ("CDIKIT_NVIDIA_CONFIG_SEARCH_PATH", "NVIDIA_CTK_CDI_GENERATE_CONFIG_SEARCH_PATHS"),
    "feature_flag": ("CDIKIT_NVIDIA_FEATURE_FLAG", "NVIDIA_CTK_CDI_GENERATE_FEATURE_FLAGS"),
    "disable_hook": ("CDIKIT_NVIDIA_DISABLE_HOOK", "NVIDIA_CTK_CDI_GENERATE_DISABLED_HOOKS"),
    "enable_hook": ("CDIKIT_NVIDIA_ENABLE_HOOK", "NVIDIA_CTK_CDI_GENERATE_ENABLED_HOOKS"),
    "interval": ("CDIKIT_NVIDIA_REFRESH_INTERVAL",),
}
_LISTS = (
    "device_name_strategy",
    "device_id",
    "library_search_path",
    "csv_file",
    "csv_ignore_pattern",
    "config_search_path",
    "feature_flag",
    "disable_hook",
    "enable_hook",
)
_FLAGS = ("no_all_device",)

_GENERATE_EPILOG = """\
environment:
  each option X also reads CDIKIT_NVIDIA_X (e.g. CDIKIT_NVIDIA_MODE), then the
  nvidia-ctk variable (e.g. NVIDIA_CTK_CDI_GENERATE_MODE); CDIKIT_FAKE_NVML=FILE
  replaces the driver by a JSON description of GPUs (see docs/nvidia.md).

examples:
  cdi generate nvidia --output /var/run/cdi/nvidia.yaml
  cdi generate nvidia --mode management --driver-root /run/nvidia/driver
  cdi generate nvidia --mode gds --output /var/run/cdi/nvidia-gds.yaml
  cdi generate nvidia --watch --output /var/run/cdi/nvidia.yaml
  cdi generate nvidia --feature-flag no-additional-gids-for-device-nodes  # cdiVersion <= 0.6.0
  cdi generate nvidia --feature-flag enable-coherent-annotations --output /var/run/cdi/nvidia.yaml
    (also writes nvidia.coherent.yaml / nvidia.noncoherent.yaml: nvidia.com/gpu.coherent=...)

The driver root defaults to nvidia-container-cli.root of the NVIDIA toolkit's
config.toml ($NVIDIA_CTK_CONFIG_FILE_PATH, else /etc/nvidia-container-runtime/config.toml),
else /. NVML is loaded from libnvidia-ml.so.1 inside the driver root when it has one.
"""


_FROM_ENV = " (env CDIKIT_NVIDIA_%s)"
# The ``generate nvidia`` options: (flags, argparse keywords). One table for argparse
# (add_generate_options) and for the argparse-free reader of the common command
# lines (fast_generate_args), so the two cannot drift apart.
_GENERATE_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (
        ("--mode", "--discovery-mode"),
        {
            "dest": "mode",
            "metavar": "MODE",
            "help": "auto|nvml|management|csv|wsl, or an add-on mode gds|mofed|gdrcopy|imex|nvswitch "
            "(default: auto)" + _FROM_ENV % "MODE",
        },
    ),
    (
        ("--device-name-strategy",),
        {
            "dest": "device_name_strategy",
            "action": "append",
            "metavar": "index|uuid|type-index",
            "help": "device names to emit; repeatable, one entry per strategy (default: index and uuid)",
        },
    ),
    (
        ("--device-id", "--device-ids", "--device", "--devices"),
        {
            "dest": "device_id",
            "action": "append",
            "metavar": "ID",
            "help": "only these devices: all (default), none, GPU index, gpu:mig index, GPU-/MIG- UUID; "
            "repeatable",
        },
    ),
    (
        ("--no-all-device",),
        {
            "dest": "no_all_device",
            "action": "store_true",
            "default": None,
            "help": "do not add the merged 'all' device",
        },
    ),
    (
        ("--driver-root",),
        {
            "dest": "driver_root",
            "metavar": "DIR",
            "help": "root of the driver files (default: nvidia-container-cli.root of the toolkit config, "
            "else /)",
        },
    ),
    (
        ("--toolkit-config",),
        {
            "dest": "toolkit_config",
            "metavar": "FILE",
            "help": "the NVIDIA toolkit's config.toml read for the driver root "
            "(default: $NVIDIA_CTK_CONFIG_FILE_PATH, else /etc/nvidia-container-runtime/config.toml)",
        },
    ),
    (
        ("--dev-root",),
        {"dest": "dev_root", "metavar": "DIR", "help": "root of the /dev nodes (default: the driver root)"},
    ),
    (("--sysfs-root",), {"dest": "sysfs_root", "metavar": "DIR", "help": "root holding /sys (default: /)"}),
    (
        ("--procfs-root",),
        {"dest": "procfs_root", "metavar": "DIR", "help": "root holding /proc (default: /)"},
    ),
    (
        ("--library-search-path",),
        {
            "dest": "library_search_path",
            "action": "append",
            "metavar": "DIR",
            "help": "search driver libraries only in these dirs (inside the driver root); repeatable",
        },
    ),
    (
        ("--hook-path", "--nvidia-cdi-hook-path", "--nvidia-ctk-path"),
        {
            "dest": "hook_path",
            "metavar": "PATH",
            "help": "hook binary recorded in the spec (default: the cdi-hook beside this program, else from "
            "PATH, else /usr/bin/cdi-hook; a warning when it does not exist)",
        },
    ),
    (
        ("--ldconfig-path",),
        {"dest": "ldconfig_path", "metavar": "PATH", "help": "ldconfig for the update-ldcache hook"},
    ),
    (("--vendor", "--cdi-vendor"), {"dest": "vendor", "help": "CDI vendor (default: nvidia.com)"}),
    (
        ("--class", "--cdi-class"),
        {
            "dest": "class_",
            "metavar": "CLASS",
            "help": "CDI class (default: gpu; add-on modes: gds, mofed, gdrcopy, nvswitch, imex-channel)",
        },
    ),
    (
        ("--spec-version",),
        {
            "dest": "spec_version",
            "metavar": "X.Y.Z",
            "help": "cdiVersion to write (default: the minimum the content needs); 0.5.0 (podman 4.3) drops "
            "additionalGids with a warning",
        },
    ),
    (
        ("--csv-file", "--csv.file"),
        {
            "dest": "csv_file",
            "action": "append",
            "metavar": "FILE",
            "help": "CSV mount spec for csv mode; repeatable",
        },
    ),
    (
        ("--csv.ignore-pattern",),
        {
            "dest": "csv_ignore_pattern",
            "action": "append",
            "metavar": "GLOB",
            "help": "csv mode: skip 'sym' entries matching GLOB ('**/NAME-GLOB' matches the file name); "
            "repeatable",
        },
    ),
    (
        ("--csv.compat-container-root",),
        {
            "dest": "csv_compat_container_root",
            "metavar": "DIR",
            "help": "csv mode on Orin: the container's CUDA compat dir (default: /usr/local/cuda/compat_orin)",
        },
    ),
    (
        ("--config-search-path",),
        {
            "dest": "config_search_path",
            "action": "append",
            "metavar": "DIR",
            "help": "host dirs searched for driver config files instead of /etc and XDG_DATA_DIRS; repeatable",
        },
    ),
    (
        ("--feature-flag", "--feature-flags"),
        {
            "dest": "feature_flag",
            "action": "append",
            "metavar": "FLAG",
            "help": "nvidia-ctk feature flags: no-additional-gids-for-device-nodes, enable-coherent-annotations, "
            "enable-explicit-driver-libraries, disable-ipc-discoverer, disable-nvsandboxutils, "
            "disable-multiple-csv-devices; repeatable",
        },
    ),
    (
        ("--disable-hook", "--disable-hooks"),
        {"dest": "disable_hook", "action": "append", "metavar": "NAME", "help": "omit this hook; repeatable"},
    ),
    (
        ("--enable-hook", "--enable-hooks"),
        {
            "dest": "enable_hook",
            "action": "append",
            "metavar": "NAME",
            "help": "emit this hook even if off by default (chmod); repeatable",
        },
    ),
    (
        ("--format",),
        {
            "dest": "format",
            "metavar": "json|yaml",
            "help": "output format, any case (default: from the file name, else yaml)",
        },
    ),
    (
        ("--output",),
        {
            "dest": "output_file",
            "metavar": "FILE",
            "default": None,
            "help": "write here atomically, name kept as given",
        },
    ),
    (
        ("--watch",),
        {
            "dest": "watch",
            "action": "store_true",
            "help": "keep the output current (driver, MIG changes) until interrupted",
        },
    ),
    (
        ("--interval",),
        {
            "dest": "interval",
            "type": float,
            "default": None,
            "metavar": "SECONDS",
            "help": "NVML poll period for --watch (default: 10)",
        },
    ),
    (
        ("--quiet",),
        {"dest": "quiet", "action": "store_true", "help": "do not print the summary of files not found"},
    ),
    (
        ("-v", "--verbose"),
        {"dest": "gen_verbose", "action": "count", "default": 0, "help": "list every file not found"},
    ),
)


def add_generate_options(parser: argparse.ArgumentParser, *, default_output: str | None = None) -> None:
    """The ``generate nvidia`` options (shared with ``cdikit-refresh``)."""
    for flags, keywords in _GENERATE_OPTIONS:
        if keywords["dest"] == "output_file":
            keywords = {
                **keywords,
                "help": keywords["help"]
                + (f" (default: {default_output})" if default_output else " (default: stdout)"),
            }
        parser.add_argument(*flags, **keywords)


class _Namespace:
    """Attributes, as argparse's ``Namespace`` gives them (``types`` is an import this path spares)."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __eq__(self, other: object) -> bool:
        return vars(self) == vars(other) if hasattr(other, "__dict__") else NotImplemented

    __hash__ = None  # type: ignore[assignment]


def fast_generate_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The arguments argparse gives ``cdi generate nvidia ARGV``, read without argparse; None: ask argparse.

    ``cdi generate nvidia`` runs at every boot and driver change, and building
    argparse parsers costs more than generating a management-mode spec. Only
    the plain command lines are read here: the exact option spellings of
    :data:`_GENERATE_OPTIONS` as ``--opt VALUE`` or ``--opt=VALUE`` (a value
    not starting with ``-``), the flags, and ``-v``. Anything else (help, an
    abbreviation, a global option, a positional, a bad number) returns None, so
    argparse parses it and says what is wrong exactly as before.
    """

    table = {flag: keywords for flags, keywords in _GENERATE_OPTIONS for flag in flags}
    values: dict[str, Any] = {"spec_dirs": None, "schema": None, "output": None, "verbose": 0}
    values.update(command="generate", generator="nvidia")
    for _, option in _GENERATE_OPTIONS:
        values[option["dest"]] = option.get(
            "default", False if option.get("action") == "store_true" else None
        )
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        name, eq, value = token.partition("=")
        keywords = table.get(name) if name.startswith("--") or (name == "-v" and not eq) else None
        if keywords is None:
            return None
        dest, action = keywords["dest"], keywords.get("action")
        if action in ("store_true", "count"):
            if eq:
                return None
            values[dest] = True if action == "store_true" else values[dest] + 1
            continue
        if not eq:
            if i >= len(argv):
                return None
            value = argv[i]
            i += 1
        if value.startswith("-"):
            return None
        if keywords.get("type") is float:
            try:
                values[dest] = float(value)
            except ValueError:
                return None
        elif action == "append":
            values[dest] = [*(values[dest] or []), value]
        else:
            values[dest] = value
    values.update(
        func=_cmd_generate,
        honoured_options=("output",),
        format_dest="format",
        spec_dirs_dest=None,
        command_prog="cdi generate nvidia",
    )
    args: Any = _Namespace(**values)
    return args  # type: ignore[no-any-return]


def _env_value(dest: str) -> str | None:
    for name in ENV_VARS.get(dest, ()):
        value = os.environ.get(name)
        if value is not None and value != "":
            return value
    return None


def _split(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return tuple(out)


def _fill_from_env(args: argparse.Namespace) -> None:
    for dest in ENV_VARS:
        if getattr(args, dest, None) not in (None, []):
            continue
        value = _env_value(dest)
        if value is None:
            continue
        if dest in _LISTS:
            setattr(args, dest, [value])
        elif dest in _FLAGS:
            setattr(args, dest, value.lower() in ("1", "true", "yes", "on"))
        elif dest == "interval":
            setattr(args, dest, float(value))
        else:
            setattr(args, dest, value)


def options_from_args(args: argparse.Namespace) -> tuple[GenerateOptions, str | None, str | None]:
    """``(options, output path or None, format or None)`` from parsed args plus the environment."""
    from cdikit.producers.nvidia.generate import GenerateOptions

    _fill_from_env(args)
    driver_root = args.driver_root or _toolkit_driver_root(getattr(args, "toolkit_config", None))
    options = GenerateOptions(
        mode=(args.mode or "auto").lower(),
        device_name_strategies=_split(args.device_name_strategy) or ("index", "uuid"),
        device_ids=_split(args.device_id) or ("all",),
        no_all_device=bool(args.no_all_device),
        driver_root=driver_root or "/",
        dev_root=args.dev_root or None,
        sys_root=args.sysfs_root or "/",
        proc_root=args.procfs_root or "/",
        library_search_paths=_split(args.library_search_path),
        hook_path=args.hook_path,
        ldconfig_path=args.ldconfig_path,
        vendor=args.vendor,
        class_=args.class_,
        spec_version=args.spec_version,
        csv_files=_split(args.csv_file),
        csv_ignore_patterns=_split(args.csv_ignore_pattern),
        csv_compat_container_root=args.csv_compat_container_root or None,
        config_search_paths=_split(args.config_search_path),
        feature_flags=_split(args.feature_flag),
        disabled_hooks=_split(args.disable_hook),
        enabled_hooks=_split(args.enable_hook),
    )
    output = os.path.abspath(args.output_file) if args.output_file else None
    if args.interval is None:
        args.interval = 10.0
    if args.format:
        from cdikit.producers.output import format_for_path

        format_for_path(output, args.format)  # invalid output format: exit 1, as nvidia-ctk
    return options, output, args.format


def _toolkit_driver_root(path: str | None) -> str | None:
    """``nvidia-container-cli.root`` of the NVIDIA toolkit's config.toml (nvidia-ctk's fallback)."""
    from cdikit.producers.nvidia.toolkit_config import load_toolkit_config, toolkit_setting

    value = toolkit_setting(load_toolkit_config(path), "nvidia-container-cli.root")
    return value if isinstance(value, str) and value else None


def report_outcome(outcome: RefreshOutcome, reason: str, output: str) -> None:
    """Print one refresh outcome the way ``cdikit-refresh`` and ``generate --watch`` report it."""
    if outcome.error:
        extra = f"; removed stale {output}" if outcome.removed else ""
        print(f"cdikit-refresh: {reason}: generation failed: {outcome.error}{extra}", file=sys.stderr)
    elif outcome.written:
        print(f"cdikit-refresh: {reason}: wrote {output}", file=sys.stderr)
    if outcome.result is not None and outcome.result.missing:
        print(f"cdikit-refresh: {len(outcome.result.missing)} optional file(s) not found", file=sys.stderr)
    if outcome.result is not None:
        warn_missing_hooks(outcome.result.spec, "cdikit-refresh")


def warn_missing_hooks(spec: Any, prog: str) -> None:
    """Warn about hook binaries the spec records that do not exist here: every container would fail."""
    paths: set[str] = set()
    for edits in [spec.container_edits, *(d.container_edits for d in spec.devices or ())]:
        paths.update(h.path for h in (edits.hooks if edits is not None else None) or ())
    for path in sorted(p for p in paths if not os.path.exists(p)):
        print(
            f"{prog}: warning: the spec runs hook {path}, which does not exist on this host: containers "
            "using it will fail to start (install cdikit there, or give --hook-path)",
            file=sys.stderr,
        )


def _cmd_generate(args: argparse.Namespace) -> int:
    exit_when_done = getattr(args, "exit_when_done", False) and not args.watch
    if exit_when_done:
        import gc

        gc.disable()  # a short-lived process: collections during its imports are pure cost
    from cdikit.producers.nvidia.generate import generate_plain
    from cdikit.producers.output import encode, format_for_path, with_infix, write_if_changed

    options, output, fmt = options_from_args(args)
    if args.watch:
        from cdikit.producers.nvidia import refresh

        output = output or refresh.DEFAULT_OUTPUT
        try:
            refresh.watch(
                options,
                output,
                fmt=fmt,
                interval=args.interval,
                on_refresh=lambda o, r: report_outcome(o, r, output),
            )
        except KeyboardInterrupt:
            pass
        return 0
    result = generate_plain(options)  # encoded as they are: no msgspec import
    warn_missing_hooks(result.spec, "cdi")
    for warning in result.warnings:
        print(f"cdi: warning: {warning}", file=sys.stderr)
    specs = [("", result.spec), *result.extra_specs]
    for infix, spec in specs:
        data = encode(spec, format_for_path(output, fmt))
        if output:
            write_if_changed(with_infix(output, infix), data)
        else:
            sys.stdout.buffer.write(data)
    sys.stdout.flush()
    if result.missing and not args.quiet:
        verbose = (getattr(args, "verbose", 0) or 0) + (getattr(args, "gen_verbose", 0) or 0)
        if verbose:
            print(f"cdi: {len(result.missing)} optional file(s) not found:", file=sys.stderr)
            for item in result.missing:
                print(f"  {item}", file=sys.stderr)
        else:
            print(
                f"cdi: {len(result.missing)} optional file(s) not found (use -v to list them)",
                file=sys.stderr,
            )
    if output:
        from cdikit.cli._spec import warn_unloadable

        for infix, spec in specs:
            print(
                f"cdi: wrote {with_infix(output, infix)} ({result.mode} mode, cdiVersion {spec.cdi_version})",
                file=sys.stderr,
            )
            warn_unloadable(
                with_infix(output, infix), spec.cdi_version, "--spec-version {version} writes what it loads"
            )
    if exit_when_done:
        _exit_now(0)
    return 0


def _exit_now(status: int) -> None:
    """End the ``cdi`` process: output flushed, the interpreter's teardown (milliseconds) skipped.

    Everything written is already complete (spec files are replaced atomically and
    closed); nothing on this path registers exit handlers.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # the normal exit reports it
    os._exit(status)


def _cmd_transform_root(args: argparse.Namespace) -> int:
    from cdikit.cli._common import UsageError, read_source
    from cdikit.producers.nvidia.transform import transform_root
    from cdikit.producers.output import encode, format_for_path, write_if_changed
    from cdikit.spec import parse_spec

    path = args.input
    data = read_source(path)
    spec = parse_spec(data, path=None if path == "-" else path)
    if spec is None:
        raise UsageError(f"{path}: empty spec document")
    moved = transform_root(spec, args.from_root, args.to_root, relative_to=args.relative_to)
    out = encode(moved, format_for_path(args.output_file, args.format))
    if args.output_file:
        write_if_changed(os.path.abspath(args.output_file), out)
    else:
        sys.stdout.buffer.write(out)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``generate`` (``nvidia``) and ``transform`` (``root``) to the ``cdi`` command."""
    from cdikit.cli._common import add_command, add_command_group, honour_global_options

    gen_sub = add_command_group(
        subparsers,
        "generate",
        "generate CDI specs for a vendor's devices",
        "Generate CDI specs from the devices found on this host.",
        dest="generator",
        metavar="GENERATOR",
    )
    nvidia = add_command(
        gen_sub,
        "nvidia",
        "NVIDIA GPUs (the nvidia-ctk cdi generate equivalent)",
        "Generate the CDI spec for the NVIDIA GPUs, MIG devices and driver files of this host.",
        epilog=_GENERATE_EPILOG,
    )
    add_generate_options(nvidia)
    nvidia.set_defaults(func=_cmd_generate)
    honour_global_options(nvidia, ("output",), format_dest="format")
    from cdikit.cli._vendors import register_generators

    register_generators(gen_sub)

    tr_sub = add_command_group(
        subparsers,
        "transform",
        "rewrite paths in a CDI spec",
        "Rewrite paths in an existing CDI spec.",
        dest="transform",
        metavar="TRANSFORM",
    )
    root = add_command(
        tr_sub,
        "root",
        "move host (or container) paths from one root to another",
        "Move every path below --from to below --to (whole path components).\n\n"
        "example:\n  cdi transform root --from / --to /run/nvidia/driver --input nvidia.yaml",
    )
    root.add_argument("--from", dest="from_root", default="", metavar="DIR", help="root to replace")
    root.add_argument(
        "--to", dest="to_root", default="", metavar="DIR", help="replacement root (default: none)"
    )
    root.add_argument(
        "--relative-to",
        dest="relative_to",
        choices=("host", "container"),
        default="host",
        help="which side's paths to move (default: host)",
    )
    root.add_argument("--input", default="-", metavar="FILE", help="spec to read (default: - = stdin)")
    root.add_argument(
        "--output", dest="output_file", metavar="FILE", help="write here atomically (default: stdout)"
    )
    root.add_argument(
        "--format", choices=("json", "yaml"), help="output format (default: from --output, else yaml)"
    )
    root.set_defaults(func=_cmd_transform_root)
    honour_global_options(root, ("output",), format_dest="format")
