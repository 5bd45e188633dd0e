"""``cdi spec install FILE`` / ``cdi spec remove NAME`` / ``cdi spec autoallow NAME``: producer writes.

Without ``-d`` the target is ``/etc/cdi`` (it survives a reboot; ``/var/run/cdi``
is for specs regenerated at boot); with ``-d`` it is the highest-priority dir
given. Files are written atomically, world-readable (0644), with the lowest
``cdiVersion`` their content needs, so the oldest consumers load them; a
warning names every consumer installed here that still cannot.
"""

from __future__ import annotations

import os
import sys

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, UsageError, load_schema, open_registry, output_format
from cdikit.cli._output import emit, error

TYPE_CHECKING = False  # not typing's: `cdi generate --output` imports this module
if TYPE_CHECKING:
    import argparse

    from cdikit.registry import Registry
    from cdikit.spec.types import Spec

__all__ = ["cmd_autoallow", "cmd_install", "cmd_remove", "target_dir"]

_EXTENSIONS = (".json", ".yaml")


def target_dir(args: argparse.Namespace) -> tuple[list[str], int]:
    """``(spec dirs, index of the one written)``: the top ``-d`` dir, else the first default, /etc/cdi."""
    dirs = list(args.spec_dirs)
    if getattr(args, "spec_dirs_given", True):
        return dirs, len(dirs) - 1
    return dirs, 0  # the defaults: /etc/cdi (persistent), /var/run/cdi


def _target_name(file: str, name: str | None) -> str:
    chosen = name or os.path.basename(file)
    if not chosen or "/" in chosen or chosen in (".", ".."):
        raise UsageError(f"invalid spec file name {chosen!r}")
    root, ext = os.path.splitext(chosen)
    if ext in _EXTENSIONS:
        return chosen
    # Consumers ignore .yml and other extensions, so the file would never load under that name.
    return (root if ext in (".yml", ".YAML", ".JSON", ".Yaml") else chosen) + ".yaml"


def _writer(dirs: list[str], index: int, args: argparse.Namespace) -> Registry:
    """A registry whose highest-priority dir is the target (``write_spec`` writes there)."""
    from cdikit.registry import Registry

    return Registry(dirs[: index + 1], auto_refresh=False, schema=load_schema(args, "builtin"))


def warn_unloadable(path: str, cdi_version: str, hint: str = "") -> None:
    """Warn when an installed consumer cannot load a spec declaring ``cdi_version``."""
    from cdikit.integrations.consumers.versions import detect_all, limiting, unloadable_by

    for found, top in unloadable_by(cdi_version, detect_all(limiting(cdi_version))):
        sys.stderr.write(
            f"cdi: warning: {found.consumer} {found.text} ({found.binary}) loads cdiVersion {top} at most: "
            f"it cannot load {path} (cdiVersion {cdi_version}); its devices are unresolvable there"
            + (f" ({hint.format(version=top)})" if hint else "")
            + "\n"
        )


def cmd_install(args: argparse.Namespace) -> int:
    from cdikit.specfile import read_spec

    if not os.path.isfile(args.file):
        raise UsageError(f"{args.file}: no such file")
    spec_file = read_spec(args.file, schema=load_schema(args, "builtin"))
    dirs, index = target_dir(args)
    top_dir = dirs[index]
    name = _target_name(args.file, args.name)
    target = os.path.abspath(os.path.join(top_dir, name))
    registry = open_registry(args)
    registry_dirs = [os.path.abspath(d) for d in args.spec_dirs]
    conflicts, shadowed = [], []
    for device in spec_file.devices:
        qualified = spec_file.qualified_name(device)
        existing = registry.get_device(qualified)
        if existing is None or os.path.abspath(existing.spec.path) == target:
            continue
        where = os.path.dirname(os.path.abspath(existing.spec.path))
        if where == os.path.abspath(top_dir):
            conflicts.append(f"{qualified} is already defined by {existing.spec.path}")
        elif where in registry_dirs and registry_dirs.index(where) > registry_dirs.index(
            os.path.abspath(top_dir)
        ):
            shadowed.append(f"{qualified} stays defined by {existing.spec.path} (higher priority)")
    if conflicts:
        error(
            f"installing {args.file} into {top_dir} would make these devices conflict "
            "(consumers drop a device defined twice at one priority):"
        )
        for line in conflicts:
            sys.stderr.write(f"  {line}\n")
        return EXIT_FAILURE
    spec = spec_file.spec
    if args.buildkit_autoallow:
        spec = _with_autoallow(spec, devices=(), on=True)
    os.makedirs(top_dir, mode=0o755, exist_ok=True)
    written = _writer(dirs, index, args).write_spec(spec, name, version=args.cdi_version)
    written_version = read_spec(written).spec.cdi_version
    for line in shadowed:
        sys.stderr.write(f"cdi: warning: {line}\n")
    warn_unloadable(written, written_version)
    data = {
        "path": written,
        "cdiVersion": written_version,
        "devices": [spec_file.qualified_name(d) for d in spec_file.devices],
    }
    emit(
        data,
        output_format(args),
        f"installed {written} ({len(data['devices'])} device(s), cdiVersion {written_version})\n",
    )
    return EXIT_OK


def _candidates(top_dir: str, name: str) -> list[str]:
    if "/" in name or not name:
        raise UsageError(f"invalid spec file name {name!r}: give the file name only")
    candidates = [name] if name.endswith(_EXTENSIONS) else [name + ext for ext in _EXTENSIONS]
    return [c for c in candidates if os.path.isfile(os.path.join(top_dir, c))]


def cmd_remove(args: argparse.Namespace) -> int:
    dirs, index = target_dir(args)
    top_dir = dirs[index]
    name: str = args.name
    present = _candidates(top_dir, name)
    if not present:
        candidates = [name] if name.endswith(_EXTENSIONS) else [name + ext for ext in _EXTENSIONS]
        error(f"no spec file {' or '.join(candidates)} in {top_dir}")
        return EXIT_FAILURE
    registry = _writer(dirs, index, args)
    removed = []
    for filename in present:
        registry.remove_spec(filename)
        removed.append(os.path.join(top_dir, filename))
    emit({"removed": removed}, output_format(args), "".join(f"removed {p}\n" for p in removed))
    return EXIT_OK


def _with_autoallow(spec: Spec, *, devices: tuple[str, ...], on: bool) -> Spec:
    """``spec`` with BuildKit's autoallow annotation set (or removed) on the spec or on ``devices``."""
    import msgspec

    from cdikit.requests.policy import AUTO_ALLOW_ANNOTATION

    def update(annotations: dict[str, str] | None) -> dict[str, str] | None:
        out = dict(annotations or {})
        if on:
            out[AUTO_ALLOW_ANNOTATION] = "true"
        else:
            out.pop(AUTO_ALLOW_ANNOTATION, None)
        return out or None

    if not devices:
        return msgspec.structs.replace(spec, annotations=update(spec.annotations))
    known = {d.name for d in spec.devices or ()}
    unknown = [d for d in devices if d not in known]
    if unknown:
        raise UsageError(
            f"no device {', '.join(unknown)} in kind {spec.kind} (has: {', '.join(sorted(known))})"
        )
    return msgspec.structs.replace(
        spec,
        devices=[
            msgspec.structs.replace(d, annotations=update(d.annotations)) if d.name in devices else d
            for d in spec.devices or ()
        ],
    )


def cmd_autoallow(args: argparse.Namespace) -> int:
    """Set (or with ``--off`` remove) ``org.mobyproject.buildkit.device.autoallow`` on an installed spec."""
    from cdikit.specfile import read_spec

    dirs, index = target_dir(args)
    top_dir = dirs[index]
    present = _candidates(top_dir, args.name)
    if len(present) != 1:
        error(
            f"no single spec file {args.name} in {top_dir}"
            + (f" (found {', '.join(present)})" if present else "")
        )
        return EXIT_FAILURE
    path = os.path.join(top_dir, present[0])
    spec = read_spec(path, schema=load_schema(args, "builtin")).spec
    updated = _with_autoallow(spec, devices=tuple(args.device or ()), on=not args.off)
    written = _writer(dirs, index, args).write_spec(updated, present[0], version="minimum")
    version = read_spec(written).spec.cdi_version
    warn_unloadable(written, version)
    what = ", ".join(args.device) if args.device else "every device"
    state = "no longer auto-allowed" if args.off else "auto-allowed"
    emit(
        {
            "path": written,
            "cdiVersion": version,
            "autoallow": not args.off,
            "devices": list(args.device or []),
        },
        output_format(args),
        f"{written}: {what} of {spec.kind} {state} in BuildKit builds (cdiVersion {version})\n",
    )
    return EXIT_OK
