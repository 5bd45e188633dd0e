"""``cdi inject`` and ``cdi resolve``: apply devices to an OCI runtime spec, print the result.

stdout carries the resulting OCI spec and nothing else, so the output can be
redirected straight into a bundle's ``config.json``; every diagnostic goes to
stderr. When any requested name is unresolvable nothing is printed at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, UsageError, open_registry, read_source
from cdikit.cli._gomatch import BadPatternError, has_magic, match
from cdikit.cli._output import dump, error

if TYPE_CHECKING:
    from cdikit.registry import Registry

__all__ = ["cmd_inject", "cmd_resolve", "expand_names", "read_oci_spec"]

_MAX_LISTED = 8


def read_oci_spec(source: str) -> dict[str, Any]:
    """The OCI spec in ``source`` (a path, or ``-`` for stdin), JSON or YAML."""
    data = read_source(source, "OCI spec")
    label = "stdin" if source == "-" else source
    try:
        doc = json.loads(data)
    except ValueError as json_err:
        if data.lstrip()[:1] in (b"{", b"["):
            raise UsageError(f"OCI spec {label} is not valid JSON: {json_err}") from json_err
        doc = _yaml_document(data, label)
    if not isinstance(doc, dict):
        raise UsageError(f"OCI spec {label} is not a JSON object")
    return doc


def _yaml_document(data: bytes, label: str) -> Any:
    import yaml  # deferred: OCI specs are JSON in practice; YAML is the upstream tool's courtesy

    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as err:
        raise UsageError(f"OCI spec {label} is neither JSON nor YAML: {err}") from err


def expand_names(names: Sequence[str], devices: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Expand glob patterns against ``devices`` (sorted); returns ``(names, failed_patterns)``.

    Exact names pass through untouched and in place; each pattern is replaced
    by its matches in device-list order. ``failed_patterns`` maps a pattern
    that matches nothing (or is malformed) to the reason.
    """
    expanded: list[str] = []
    failed: dict[str, str] = {}
    for name in names:
        if not has_magic(name):
            expanded.append(name)
            continue
        try:
            matches = [device for device in devices if match(name, device)]
        except BadPatternError:
            failed[name] = "malformed glob pattern (Go filepath.Match syntax)"
            continue
        if not matches:
            failed[name] = "pattern matches no device" + (
                " ('*' does not match '/'; try VENDOR/CLASS=*)" if "/" not in name else ""
            )
            continue
        expanded.extend(matches)
    return expanded, failed


def _why_unresolvable(name: str, registry: Registry, devices: Sequence[str]) -> str:
    """A short explanation of why ``name`` resolves to nothing, with the nearest alternatives."""
    from cdikit.errors import InvalidNameError
    from cdikit.names import parse_qualified_name

    for messages in registry.get_errors().values():
        for message in messages:
            if f'conflicting device "{name}"' in message:
                return f"dropped because of a conflict at one priority: {message}"
    if "=" not in name and "/" in name:
        same_kind = [d for d in devices if d.startswith(name + "=")]
        hint = f"; devices of this kind: {_listing(same_kind)}" if same_kind else ""
        return f"a kind, not a device: use {name}=NAME{hint}"
    try:
        vendor, cls, _ = parse_qualified_name(name)
    except InvalidNameError as err:
        return f"not a valid qualified device name ({err})"
    kind = f"{vendor}/{cls}"
    same_kind = [d for d in devices if d.startswith(kind + "=")]
    if same_kind:
        return f"no such device of kind {kind}; available: {_listing(same_kind)}"
    note = ""
    if registry.get_errors():
        note = f"; {len(registry.get_errors())} spec file(s) failed to load (see 'cdi validate')"
    return f"no loaded spec file provides kind {kind}{note}"


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _MAX_LISTED else "")


def _report_unresolvable(names: Sequence[str], reasons: dict[str, str], registry: Registry) -> int:
    devices = registry.list_devices()
    error("unresolvable CDI devices " + ", ".join(names))
    for name in names:
        reason = reasons.get(name) or _why_unresolvable(name, registry, devices)
        sys.stderr.write(f"  {name}: {reason}\n")
    return EXIT_FAILURE


def _inject(registry: Registry, oci: dict[str, Any], names: list[str]) -> int:
    from cdikit.errors import UnresolvableDevicesError

    try:
        registry.inject_devices(oci, names)
    except UnresolvableDevicesError as err:
        return _report_unresolvable(err.names, {}, registry)
    return EXIT_OK


def _inject_and_print(registry: Registry, oci: dict[str, Any], names: list[str], fmt: str) -> int:
    status = _inject(registry, oci, names)
    if status == EXIT_OK:
        sys.stdout.write(dump(oci, fmt))
        sys.stdout.flush()
    return status


def _oci_format(args: argparse.Namespace, source: str) -> str:
    """``-o json|yaml``, else the input's own format by its extension, as the upstream tool does.

    stdin (``-``) and ``config.json`` give JSON; ``x.yaml`` gives YAML (the one
    extension rule, :func:`cdikit._paths.spec_format`). ``-o table`` means the default.
    """
    if args.output in ("json", "yaml"):
        return str(args.output)
    if source == "-":
        return "json"
    from cdikit._paths import spec_format

    return spec_format(source)


def cmd_inject(args: argparse.Namespace) -> int:
    oci = read_oci_spec(args.oci)
    registry = open_registry(args)
    devices = registry.list_devices()
    names, failed = expand_names(args.devices, devices)
    unresolved = [
        name
        for name in args.devices
        if name in failed or (not has_magic(name) and registry.get_device(name) is None)
    ]
    if unresolved:
        # Keep request order, one entry per distinct name.
        return _report_unresolvable(list(dict.fromkeys(unresolved)), failed, registry)
    return _inject_and_print(registry, oci, names, _oci_format(args, args.oci))


def _requested_by_spec(oci: dict[str, Any]) -> list[str]:
    """Devices requested by ``cdi.k8s.io/`` annotations and by qualified-name linux.devices entries.

    The second convention is the upstream tool's: such entries are placeholders
    and are removed from the spec.
    """
    from cdikit.annotations import parse_annotations
    from cdikit.names import is_qualified_name

    annotations = oci.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        raise UsageError("OCI spec annotations are not an object")
    _, names = parse_annotations(annotations)
    linux = oci.get("linux")
    if isinstance(linux, dict) and isinstance(linux.get("devices"), list):
        kept = []
        for entry in linux["devices"]:
            path = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(path, str) and is_qualified_name(path):
                names.append(path)
            else:
                kept.append(entry)
        linux["devices"] = kept
    # Runtimes deduplicate requests that arrive through several annotations.
    return list(dict.fromkeys(names))


def cmd_resolve(args: argparse.Namespace) -> int:
    """Resolve every given OCI spec; print them only when all of them resolved.

    One file: the resulting spec, as ``inject`` prints it. Several (as the
    upstream tool takes): one ``{file: spec}`` mapping, in argument order.
    """
    sources: list[str] = list(args.oci)
    if sources.count("-") > 1:
        raise UsageError("stdin (-) can be read only once")
    docs = {source: read_oci_spec(source) for source in sources}
    registry = open_registry(args)
    for source, oci in docs.items():
        names = _requested_by_spec(oci)
        if args.verbose:
            sys.stderr.write(f"{source}: requested: {', '.join(names) or '(none)'}\n")
        status = _inject(registry, oci, names)
        if status != EXIT_OK:
            sys.stderr.write(f"  (in {'stdin' if source == '-' else source}; nothing printed)\n")
            return status
    if len(docs) == 1:
        (source, oci), *_ = docs.items()
        sys.stdout.write(dump(oci, _oci_format(args, source)))
    else:
        sys.stdout.write(dump(docs, _oci_format(args, sources[0])))
    sys.stdout.flush()
    return EXIT_OK
