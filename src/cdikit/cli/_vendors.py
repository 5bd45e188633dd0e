"""``cdi generate amd|intel|gaudi|devices``: the generators beyond NVIDIA.

Registered into the ``generate`` group that :mod:`cdikit.cli._nvidia` creates.
Only argparse is imported here; each generator loads when its command runs.
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # not typing's: ``cdi`` imports this module at start-up
if TYPE_CHECKING:
    from collections.abc import Callable

    from cdikit.spec.types import Spec

__all__ = ["register_generators"]

_COMMON_EPILOG = (
    "The spec goes to stdout, or atomically to --output (mode 0644, rewritten only when it\n"
    "changed). With --watch the command stays up and rewrites --output whenever the devices\n"
    "change (hot-plug), which is what a systemd unit or a DaemonSet runs."
)


def _add_common(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--root", default="/", metavar="DIR", help="the host root to discover under (default: /)")
    a("--output", dest="output_file", metavar="FILE", help="write here atomically (default: stdout)")
    a(
        "--format",
        type=str.lower,
        choices=("json", "yaml"),
        help="output format (default: from --output, else yaml)",
    )
    a("--watch", action="store_true", help="keep --output current as devices come and go, until interrupted")
    a("--interval", type=float, default=10.0, metavar="SECONDS", help="poll period for --watch (default: 10)")


def _emit(args: argparse.Namespace, make: Callable[[], Spec], watch_dirs: list[str]) -> int:
    from cdikit.cli._common import UsageError
    from cdikit.producers.output import encode, format_for_path, write_if_changed

    output = args.output_file
    if args.watch:
        if not output:
            raise UsageError("--watch needs --output")
        from cdikit.producers.watch import watch_and_write

        def report(written: bool, reason: str, error: Exception | None) -> None:
            if error is not None:
                print(f"cdi: {reason}: generation failed: {error}", file=sys.stderr)
            elif written:
                print(f"cdi: {reason}: wrote {output}", file=sys.stderr)

        try:
            watch_and_write(
                make, output, watch_dirs, fmt=args.format, interval=args.interval, on_refresh=report
            )
        except KeyboardInterrupt:
            pass
        return 0
    spec = make()
    data = encode(spec, format_for_path(output, args.format))
    if output:
        write_if_changed(output, data)
        names = ", ".join(d.name for d in spec.devices or [])
        print(f"cdi: wrote {output} ({spec.kind}: {names}; cdiVersion {spec.cdi_version})", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _host_dirs(root: str, dirs: list[str]) -> list[str]:
    from cdikit.producers.hostfs import HostFS

    fs = HostFS(root)
    return [fs.host(d) for d in dirs]


def _cmd_amd(args: argparse.Namespace) -> int:
    from cdikit.producers import amd

    return _emit(
        args,
        lambda: amd.generate(args.root, uuid_names=not args.no_uuid_names),
        _host_dirs(
            args.root,
            ["/dev/dri", "/sys/module/amdgpu/drivers/pci:amdgpu", "/sys/class/kfd/kfd/topology/nodes"],
        ),
    )


def _cmd_intel(args: argparse.Namespace) -> int:
    from cdikit.producers import intel

    return _emit(
        args,
        lambda: intel.generate_gpus(args.root, naming=args.naming),
        _host_dirs(args.root, ["/dev/dri", "/sys/bus/pci/drivers/i915", "/sys/bus/pci/drivers/xe"]),
    )


def _cmd_gaudi(args: argparse.Namespace) -> int:
    from cdikit.producers import intel

    return _emit(
        args,
        lambda: intel.generate_gaudi(args.root, naming=args.naming),
        _host_dirs(args.root, ["/dev/accel", "/sys/bus/pci/drivers/habanalabs"]),
    )


def _cmd_devices(args: argparse.Namespace) -> int:
    from cdikit.producers import devices

    config = devices.load_config(args.config)
    return _emit(
        args,
        lambda: devices.generate(config, args.root),
        _host_dirs(args.root, devices.watched_dirs(config)),
    )


def register_generators(generators: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``amd``, ``intel``, ``gaudi`` and ``devices`` to ``cdi generate``."""
    from cdikit.cli._common import add_command, honour_global_options

    amd = add_command(
        generators,
        "amd",
        "AMD GPUs (the amd-ctk cdi generate equivalent)",
        "Generate the amd.com/gpu spec: one device per GPU or compute partition, named by\n"
        "index (as AMD_VISIBLE_DEVICES counts them) and by unique id, each with its DRM\n"
        "nodes and /dev/kfd, and all.\n\n"
        "example:\n  cdi generate amd --output /etc/cdi/amd.json",
        epilog=_COMMON_EPILOG,
    )
    _add_common(amd)
    honour_global_options(amd, ("output",), format_dest="format")
    amd.add_argument("--no-uuid-names", action="store_true", help="name devices by index only, as amd-ctk")
    amd.set_defaults(func=_cmd_amd)

    for name, func, summary, kind in (
        ("intel", _cmd_intel, "Intel GPUs (i915 and xe)", "intel.com/gpu"),
        ("gaudi", _cmd_gaudi, "Intel Gaudi accelerators (habanalabs)", "intel.com/gaudi"),
    ):
        parser = add_command(
            generators,
            name,
            summary,
            f"Generate the {kind} spec: one device per PCI function, named by its UID\n"
            "(0000-03-00-0-0x56c0, as Intel's Kubernetes driver names them; --naming classic:\n"
            "card0/accel0), and all.\n\n"
            f"example:\n  cdi generate {name} --output /etc/cdi/{name}.yaml",
            epilog=_COMMON_EPILOG,
        )
        _add_common(parser)
        honour_global_options(parser, ("output",), format_dest="format")
        parser.add_argument(
            "--naming", choices=("uid", "classic"), default="uid", help="device names (default: uid)"
        )
        parser.set_defaults(func=func)

    generic = add_command(
        generators,
        "devices",
        "any device, from a small declarative file (globs of device nodes)",
        "Generate a spec from CONFIG (YAML or JSON): a kind and device classes, each a glob\n"
        "(one device per match) or a fixed group of nodes, with templated names and edits.\n"
        "See docs/generators.md for the format.\n\n"
        "example:\n  cdi generate devices serial.yaml --output /etc/cdi/serial.yaml --watch",
        epilog=_COMMON_EPILOG,
    )
    generic.add_argument("config", metavar="CONFIG", help="the devices file")
    _add_common(generic)
    honour_global_options(generic, ("output",), format_dest="format")
    generic.set_defaults(func=_cmd_devices)
