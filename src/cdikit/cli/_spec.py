"""``cdi spec install FILE`` / ``cdi spec remove NAME``: producer writes into the top spec dir."""

from __future__ import annotations

import argparse
import os
import sys

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, UsageError, load_schema, open_registry, output_format
from cdikit.cli._output import emit, error

__all__ = ["cmd_install", "cmd_remove"]

_EXTENSIONS = (".json", ".yaml")


def _target_name(file: str, name: str | None) -> str:
    chosen = name or os.path.basename(file)
    if not chosen or "/" in chosen or chosen in (".", ".."):
        raise UsageError(f"invalid spec file name {chosen!r}")
    root, ext = os.path.splitext(chosen)
    if ext in _EXTENSIONS:
        return chosen
    # Consumers ignore .yml and other extensions, so the file would never load under that name.
    return (root if ext in (".yml", ".YAML", ".JSON", ".Yaml") else chosen) + ".yaml"


def cmd_install(args: argparse.Namespace) -> int:
    from cdikit.specfile import read_spec

    if not os.path.isfile(args.file):
        raise UsageError(f"{args.file}: no such file")
    spec_file = read_spec(args.file, schema=load_schema(args, "builtin"))
    top_dir = args.spec_dirs[-1]
    top_priority = len(args.spec_dirs) - 1
    name = _target_name(args.file, args.name)
    target = os.path.abspath(os.path.join(top_dir, name))
    registry = open_registry(args)
    conflicts = []
    for device in spec_file.devices:
        qualified = spec_file.qualified_name(device)
        existing = registry.get_device(qualified)
        if (
            existing is not None
            and existing.spec.priority == top_priority
            and os.path.abspath(existing.spec.path) != target
        ):
            conflicts.append(f"{qualified} is already defined by {existing.spec.path}")
    if conflicts:
        error(
            f"installing {args.file} into {top_dir} would make these devices conflict "
            "(consumers drop a device defined twice at one priority):"
        )
        for line in conflicts:
            sys.stderr.write(f"  {line}\n")
        return EXIT_FAILURE
    os.makedirs(top_dir, mode=0o755, exist_ok=True)
    written = registry.write_spec(spec_file.spec, name, version=args.cdi_version)
    data = {"path": written, "devices": [spec_file.qualified_name(d) for d in spec_file.devices]}
    emit(data, output_format(args), f"installed {written} ({len(data['devices'])} device(s))\n")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    top_dir = args.spec_dirs[-1]
    name: str = args.name
    if "/" in name or not name:
        raise UsageError(f"invalid spec file name {name!r}: give the file name only")
    candidates = [name] if name.endswith(_EXTENSIONS) else [name + ext for ext in _EXTENSIONS]
    present = [c for c in candidates if os.path.isfile(os.path.join(top_dir, c))]
    if not present:
        error(f"no spec file {' or '.join(candidates)} in {top_dir}")
        return EXIT_FAILURE
    registry = open_registry(args)
    removed = []
    for filename in present:
        registry.remove_spec(filename)
        removed.append(os.path.join(top_dir, filename))
    emit({"removed": removed}, output_format(args), "".join(f"removed {p}\n" for p in removed))
    return EXIT_OK
