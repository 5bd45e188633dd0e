"""``cdi request``: show what BuildKit-style device requests resolve to, or why not.

Registered into ``cdi`` through :func:`register`. Only argparse is imported at
module level; the registry, resolver and output helpers load when the command
runs.
"""

from __future__ import annotations

import argparse

# Not ``typing.TYPE_CHECKING``: importing typing costs more than this module.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from cdikit.requests.resolve import Resolution

__all__ = ["register"]

_DESCRIPTION = """\
Resolve device requests the way BuildKit's RUN --device does and print the
devices each one resolves to.

REQUEST forms:
  vendor.com/class=name   that device
  vendor.com/class        the first device of the kind (in sorted order)
  vendor.com/class=*      every device of the kind
  ALIAS                   devices annotated org.mobyproject.buildkit.device.class=ALIAS
Each REQUEST may add options as in a Dockerfile: NAME,required or NAME,required=false.
Requests are optional unless marked required (or --required is given); an optional
request that resolves to nothing is dropped with a note.

Devices must be allowed: by --allow device (all), --allow device=NAME|KIND,
--allow device=NAME,alias=ALIAS, the annotation
org.mobyproject.buildkit.device.autoallow=true on their spec or device, or --auto-allow.
Kinds with an on-demand provider (nvidia.com/gpu) are generated, written into the
highest-priority spec dir and then resolved when no spec provides them yet.

exit status: 0 resolved, 1 a required request is unresolvable or a device is not
allowed, 2 usage.

example:
  cdi -d ./cdi request --allow device vendor.com/gpu 'vendor.com/nic=*'
  cdi request --allow device=vendor.com/gpu=0,alias=gpu gpu,required
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``cdi request`` to the ``cdi`` sub-command parsers."""
    from cdikit.cli._common import add_auto_allow_option, add_command, add_global_options

    parser = add_command(
        subparsers,
        "request",
        "resolve BuildKit-style device requests under an allow policy",
        _DESCRIPTION,
        aliases=["req"],
    )
    parser.add_argument("requests", nargs="+", metavar="REQUEST", help="device request (see above)")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="ENTITLEMENT",
        help="device | device=NAME|KIND | device=NAME,alias=ALIAS (repeatable)",
    )
    add_auto_allow_option(parser)
    parser.add_argument(
        "--required", action="store_true", help="requests are required unless they say required=false"
    )
    parser.add_argument(
        "--no-on-demand", action="store_true", help="never generate specs for on-demand kinds"
    )
    # The built-in commands' global options, so that "cdi -d DIR request ..." and
    # "cdi request -d DIR ..." both work.
    add_global_options(parser, only=("spec-dirs", "output"))
    parser.set_defaults(func=run)


def _as_data(resolution: Resolution) -> dict[str, Any]:
    return {
        "devices": resolution.devices,
        "requests": [
            {
                "request": r.request.name,
                "optional": r.request.optional,
                "aliasOf": r.alias_of,
                "devices": list(r.devices),
                "note": r.note,
            }
            for r in resolution.results
        ],
        "written": resolution.written,
        "notes": resolution.notes,
    }


def run(args: argparse.Namespace) -> int:
    """Handler of ``cdi request``; returns the exit status."""
    from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, open_registry, output_format
    from cdikit.cli._output import Table, emit, error, warn
    from cdikit.producers import default_providers
    from cdikit.requests import (
        AllowPolicy,
        DeviceNotAllowedError,
        OnDemandError,
        OnDemandProviders,
        RequestError,
        Resolver,
        parse_request,
    )

    try:
        requests = [parse_request(text, required=args.required) for text in args.requests]
        policy = AllowPolicy.from_entitlements(args.allow, auto_allowed=args.auto_allow)
    except RequestError as err:
        error(str(err))
        return EXIT_USAGE
    registry = open_registry(args)
    providers = OnDemandProviders() if args.no_on_demand else default_providers()
    resolver = Resolver(registry, policy=policy, providers=providers)
    try:
        resolution = resolver.resolve(requests)
    except (DeviceNotAllowedError, OnDemandError, RequestError) as err:
        error(str(err))
        return EXIT_FAILURE
    for note in resolution.notes:
        warn(note)
    rows = [
        (
            r.request.name + (f" -> {r.alias_of}" if r.alias_of else ""),
            "optional" if r.request.optional else "required",
            ", ".join(r.devices) or "-",
        )
        for r in resolution.results
    ]
    emit(_as_data(resolution), output_format(args), Table(["REQUEST", "NEED", "DEVICES"], rows))
    return EXIT_OK
