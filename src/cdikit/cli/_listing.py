"""``cdi devices | vendors | classes | specs | list``: what the registry holds."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, open_registry, output_format, spec_error_note
from cdikit.cli._output import Table, dump, emit, warn

if TYPE_CHECKING:
    from cdikit.registry import Registry
    from cdikit.specfile import SpecFile

__all__ = ["cmd_classes", "cmd_devices", "cmd_dirs", "cmd_list", "cmd_specs", "cmd_vendors"]


def _edits_data(edits: Any) -> Any:
    import msgspec  # deferred: only verbose listings show edits

    return msgspec.to_builtins(edits)


def _device_rows(
    registry: Registry, verbose: int, auto_allowed: Sequence[str] = (), *, on_demand: bool = True
) -> list[dict[str, Any]]:
    """Every device (sorted), then (with ``on_demand``) every on-demand kind no spec provides yet.

    ``autoAllow`` and ``onDemand`` are BuildKit's inspect fields: whether a
    build may use the device without ``--allow``, and whether its spec is
    generated on first request. Listing never runs an on-demand generator.
    """
    # Deferred: the requests layer is needed only here among the listing commands.
    from cdikit.producers import default_providers
    from cdikit.requests.ondemand import OnDemandProviders
    from cdikit.requests.policy import AllowPolicy
    from cdikit.requests.resolve import Resolver

    policy = AllowPolicy(auto_allowed=set(auto_allowed))
    resolver = Resolver(
        registry, policy=policy, providers=default_providers() if on_demand else OnDemandProviders()
    )
    rows = []
    for listing in resolver.list_devices():
        resolved = None if listing.on_demand else registry.get_device(listing.name)
        if resolved is None and not listing.on_demand:  # removed between the listing and the lookup
            continue
        row: dict[str, Any] = {
            "name": listing.name,
            "spec": resolved.spec.path if resolved else None,
            "priority": resolved.spec.priority if resolved else None,
            "autoAllow": listing.auto_allowed,
            "onDemand": listing.on_demand,
        }
        if verbose:
            row["annotations"] = dict(listing.annotations)
            if resolved is not None:
                row["containerEdits"] = _edits_data(resolved.device.edits)
                spec_edits = resolved.spec.spec.edits
                if not spec_edits.is_empty():
                    row["specContainerEdits"] = _edits_data(spec_edits)
        rows.append(row)
    return rows


def _spec_data(spec: SpecFile, errors: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "path": spec.path,
        "vendor": spec.vendor,
        "class": spec.class_,
        "priority": spec.priority,
        "cdiVersion": spec.spec.cdi_version,
        "devices": list(spec.devices),
        "errors": list(errors.get(spec.path, [])),
    }


def _vendor_data(registry: Registry) -> list[dict[str, Any]]:
    result = []
    for vendor in registry.list_vendors():
        specs = registry.get_vendor_specs(vendor)
        result.append(
            {
                "vendor": vendor,
                "classes": sorted({s.class_ for s in specs}),
                "specs": sorted(s.path for s in specs),
            }
        )
    return result


def _class_data(registry: Registry) -> list[dict[str, Any]]:
    vendors: dict[str, set[str]] = {}
    for spec in registry.specs():
        vendors.setdefault(spec.class_, set()).add(spec.vendor)
    return [{"class": cls, "vendors": sorted(vendors.get(cls, ()))} for cls in registry.list_classes()]


def _dir_data(registry: Registry) -> list[dict[str, Any]]:
    dir_errors = registry.get_spec_dir_errors()
    return [
        {
            "path": path,
            "priority": priority,
            "exists": os.path.isdir(path),
            "error": dir_errors.get(path),
        }
        for priority, path in enumerate(registry.spec_dirs)
    ]


def _note_errors(registry: Registry) -> None:
    note = spec_error_note(registry)
    if note:
        warn(note)


def _show(
    args: argparse.Namespace, registry: Registry, data: Any, table: Table | str, empty: str | None = None
) -> int:
    """Print a listing in the chosen format, then the spec-error hint on stderr.

    An empty table says so in the upstream tool's words (``No CDI devices found.``);
    JSON and YAML print the empty list.
    """
    if empty is not None and not data:
        table = empty + "\n"
    emit(data, output_format(args), table)
    _note_errors(registry)
    return EXIT_OK


def _indented(data: Any, fmt: str, level: int) -> str:
    """``data`` in ``fmt`` (json or yaml), every line indented by ``level`` spaces (upstream's -v layout)."""
    pad = " " * level
    return "".join(pad + line + "\n" for line in dump(data, fmt).rstrip("\n").split("\n"))


def _detail_format(args: argparse.Namespace, path: str | None) -> str:
    """The format of a -v detail block: the spec file's own (by extension), as upstream's chooseFormat."""
    from cdikit._paths import spec_format

    return spec_format(path) if path else "yaml"


def _devices_verbose_text(args: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    """``devices -v``: each device with its edits (and its spec's), like the upstream tool."""
    out = []
    for row in rows:
        where = row["spec"] or "on demand"
        out.append(f"{row['name']} ({where})\n")
        fmt = _detail_format(args, row["spec"])
        detail = {k: row[k] for k in ("annotations", "containerEdits") if row.get(k)}
        if detail:
            out.append(_indented(detail, fmt, 4))
        if row.get("specContainerEdits"):
            out.append("    global Spec containerEdits:\n")
            out.append(_indented(row["specContainerEdits"], fmt, 6))
    return "".join(out)


def cmd_devices(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    rows = _device_rows(registry, args.verbose, getattr(args, "auto_allow", None) or ())
    from cdikit.cli._lean import device_table

    view: Table | str = _devices_verbose_text(args, rows) if args.verbose else device_table(rows)
    return _show(args, registry, rows, view, "No CDI devices found.")


def cmd_vendors(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    data = _vendor_data(registry)
    table = Table(
        ["VENDOR", "CLASSES", "SPEC FILES"],
        [(v["vendor"], ",".join(v["classes"]), " ".join(v["specs"])) for v in data],
    )
    return _show(args, registry, data, table, "No CDI vendors found.")


def cmd_classes(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    data = _class_data(registry)
    table = Table(["CLASS", "VENDORS"], [(c["class"], ",".join(c["vendors"])) for c in data])
    return _show(args, registry, data, table, "No CDI device classes found.")


def cmd_dirs(args: argparse.Namespace) -> int:
    """``cdi dirs``: the spec dirs in priority order, their state and the errors of their files."""
    registry = open_registry(args)
    errors = registry.get_errors()
    data = _dir_data(registry)
    for entry in data:
        entry["specErrors"] = {
            path: list(msgs)
            for path, msgs in sorted(errors.items())
            if os.path.dirname(os.path.abspath(path)) == os.path.abspath(entry["path"])
        }
    lines = []
    for entry in data:
        notes = [f"priority {entry['priority']}"]
        if entry["error"]:
            notes.append(str(entry["error"]))
        elif not entry["exists"]:
            notes.append("missing")
        lines.append(f"{entry['path']} ({', '.join(notes)})\n")
        for path, msgs in entry["specErrors"].items():
            lines.extend(f"  - {path}: {msg}\n" for msg in msgs)
    emit(data, output_format(args), "".join(lines))
    return EXIT_OK


def _specs_table(specs: list[dict[str, Any]]) -> Table:
    return Table(
        ["SPEC FILE", "KIND", "PRIORITY", "VERSION", "DEVICES", "ERRORS"],
        [
            (
                s["path"],
                f"{s['vendor']}/{s['class']}",
                s["priority"],
                s["cdiVersion"],
                len(s["devices"]),
                len(s["errors"]),
            )
            for s in specs
        ],
    )


def cmd_specs(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    errors = registry.get_errors()
    wanted = list(args.vendors)
    specs = sorted(registry.specs(), key=lambda s: (s.priority, s.path))
    if wanted:
        specs = [s for s in specs if s.vendor in wanted]
    data = [_spec_data(s, errors) for s in specs]
    table = _specs_table(data)
    view: Table | str = table
    if not data:
        view = "No CDI Specs found.\n"
    elif args.verbose:
        # Upstream's specs -v: each file's content, in the file's own format.
        from cdikit.spec.encode import encode_spec

        blocks = []
        for s in specs:
            text = encode_spec(s.spec, "json" if _detail_format(args, s.path) == "json" else "yaml").decode()
            blocks.append(
                f"Spec File {s.path}\n"
                + "".join("    " + line + "\n" for line in text.rstrip("\n").split("\n"))
            )
        view = table.render() + "".join(blocks)
    emit(data, output_format(args), view)
    status = EXIT_OK
    known = set(registry.list_vendors())
    for vendor in wanted:
        if vendor not in known:
            warn(f"no spec file of vendor {vendor!r} is loaded (known: {', '.join(sorted(known)) or 'none'})")
            status = EXIT_FAILURE
    _note_errors(registry)
    return status


def cmd_list(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    errors = registry.get_errors()
    specs = sorted(registry.specs(), key=lambda s: (s.priority, s.path))
    data = {
        "specDirs": _dir_data(registry),
        "specs": [_spec_data(s, errors) for s in specs],
        # What the registry holds: on-demand kinds are not (yet) in it.
        "devices": _device_rows(registry, args.verbose, on_demand=False),
        "vendors": _vendor_data(registry),
        "classes": _class_data(registry),
        "errors": {path: list(msgs) for path, msgs in sorted(errors.items())},
    }
    emit(data, output_format(args), _list_text(data))
    return EXIT_OK


def _list_text(data: dict[str, Any]) -> str:
    sections = []
    dirs = Table(
        ["SPEC DIR", "PRIORITY", "STATE"],
        [
            (d["path"], d["priority"], d["error"] or ("ok" if d["exists"] else "missing"))
            for d in data["specDirs"]
        ],
    )
    sections.append("Spec dirs:\n" + dirs.render())
    sections.append("Spec files:\n" + (_specs_table(data["specs"]).render() or "  (none)\n"))
    devices = Table(["DEVICE", "SPEC FILE"], [(d["name"], d["spec"]) for d in data["devices"]])
    sections.append("Devices:\n" + (devices.render() or "  (none)\n"))
    vendors = ", ".join(v["vendor"] for v in data["vendors"]) or "(none)"
    classes = ", ".join(c["class"] for c in data["classes"]) or "(none)"
    sections.append(f"Vendors: {vendors}\nClasses: {classes}\n")
    if data["errors"]:
        lines = [
            f"  {path}:\n" + "".join(f"    {m}\n" for m in msgs) for path, msgs in data["errors"].items()
        ]
        sections.append("Errors:\n" + "".join(lines))
    return "\n".join(sections)
