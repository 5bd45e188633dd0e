"""Any device: a CDI spec from a small declarative file (``cdi generate devices``).

For hardware with no vendor generator (serial adapters, FUSE, VFIO groups,
FPGAs, NICs...), an operator describes a class of devices once and gets a
spec that follows the hardware, like squat/generic-device-plugin's groups::

    kind: example.com/serial
    devices:
      - name: "usb{digits}"          # one device per match of the glob
        match: /dev/ttyUSB*
        containerEdits:
          env: ["SERIAL_PORT={path}"]
      - name: fuse                   # one device holding fixed nodes
        paths: [/dev/fuse]
      - name: "vfio{digits}"         # a group of nodes per device
        match: "/dev/vfio/[0-9]*"
        with: [/dev/vfio/vfio]
    all: true                        # also "all" (default: true)

``match`` is a shell glob over host paths (``*``, ``?``, ``[0-9]``); every
match is one device, in natural order (``ttyUSB2`` before ``ttyUSB10``).
``paths`` lists nodes that together make one device; ``with`` adds nodes to
every matched device (missing ones are skipped unless listed in
``required``). Templates (``name``, ``with`` and every string of
``containerEdits``) may use ``{path}`` (the matched node), ``{base}`` (its file
name), ``{digits}`` (the trailing number of its file name, or ``""``) and
``{index}`` (its position among the matches); nothing else is expanded.
Spec-level ``containerEdits`` and ``annotations`` are copied as given. The
file is JSON (``.json``) or YAML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdikit.producers.hostfs import HostFS, ProducerError
from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Spec

__all__ = ["DeviceClass", "DevicesConfig", "generate", "load_config", "parse_config", "watched_dirs"]

_TEMPLATE = re.compile(r"\{([^{}]*)\}")
_FIELDS = ("path", "base", "digits", "index")
_TOP_KEYS = {"kind", "devices", "all", "containerEdits", "annotations"}
_DEVICE_KEYS = {"name", "match", "paths", "with", "required", "containerEdits"}


@dataclass(frozen=True)
class DeviceClass:
    """One ``devices`` entry of the config."""

    name: str
    match: str | None
    paths: tuple[str, ...]
    with_: tuple[str, ...]
    required: frozenset[str]
    edits: Mapping[str, Any] | None


@dataclass(frozen=True)
class DevicesConfig:
    """A parsed ``cdi generate devices`` config."""

    kind: str
    classes: tuple[DeviceClass, ...]
    all: bool
    edits: Mapping[str, Any] | None
    annotations: Mapping[str, str] | None
    source: str = ""


def _expand(template: str, values: Mapping[str, str], where: str, source: str) -> str:
    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise ProducerError(
                f"unknown template field {{{key}}} (known: {', '.join('{' + k + '}' for k in _FIELDS)})",
                path=source or None,
                field=where,
            )
        return values[key]

    return _TEMPLATE.sub(one, template)


def _expand_tree(value: Any, values: Mapping[str, str], where: str, source: str) -> Any:
    if isinstance(value, str):
        return _expand(value, values, where, source)
    if isinstance(value, list):
        return [_expand_tree(v, values, f"{where}[{i}]", source) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand_tree(v, values, f"{where}.{k}", source) for k, v in value.items()}
    return value


def _strings(value: Any, field: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.startswith("/") for v in value):
        raise ProducerError("want a list of absolute paths", path=source or None, field=field)
    return tuple(value)


def parse_config(data: Any, *, source: str = "") -> DevicesConfig:
    """Check a decoded config; :class:`ProducerError` names the file and the field at fault."""
    where = source or None
    if not isinstance(data, dict):
        raise ProducerError("a devices config must be a mapping", path=where)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ProducerError(f"unknown key {unknown[0]!r}", path=where, field=unknown[0])
    kind = data.get("kind")
    if not isinstance(kind, str) or "/" not in kind:
        raise ProducerError("kind must be vendor.com/class", path=where, field="kind")
    from cdikit.errors import InvalidNameError
    from cdikit.names import parse_qualifier, validate_class_name, validate_vendor_name

    try:
        vendor, cls = parse_qualifier(kind)
        validate_vendor_name(vendor)
        validate_class_name(cls)
    except InvalidNameError as e:
        raise ProducerError(f"invalid kind {kind!r}: {e}", path=where, field="kind") from e
    entries = data.get("devices")
    if not isinstance(entries, list) or not entries:
        raise ProducerError("devices must be a non-empty list", path=where, field="devices")
    classes = []
    for i, entry in enumerate(entries):
        field = f"devices[{i}]"
        if not isinstance(entry, dict):
            raise ProducerError("each device must be a mapping", path=where, field=field)
        unknown = sorted(set(entry) - _DEVICE_KEYS)
        if unknown:
            raise ProducerError(f"unknown key {unknown[0]!r}", path=where, field=f"{field}.{unknown[0]}")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ProducerError("name is required", path=where, field=f"{field}.name")
        match = entry.get("match")
        paths = _strings(entry.get("paths"), f"{field}.paths", source)
        if (match is None) == (not paths):
            raise ProducerError("give exactly one of match or paths", path=where, field=field)
        if match is not None and (not isinstance(match, str) or not match.startswith("/")):
            raise ProducerError("match must be an absolute glob", path=where, field=f"{field}.match")
        edits = entry.get("containerEdits")
        if edits is not None and not isinstance(edits, dict):
            raise ProducerError("must be a mapping", path=where, field=f"{field}.containerEdits")
        classes.append(
            DeviceClass(
                name=name,
                match=match,
                paths=paths,
                with_=_strings(entry.get("with"), f"{field}.with", source),
                required=frozenset(_strings(entry.get("required"), f"{field}.required", source)),
                edits=edits,
            )
        )
    every = data.get("all", True)
    if not isinstance(every, bool):
        raise ProducerError("all must be true or false", path=where, field="all")
    edits = data.get("containerEdits")
    if edits is not None and not isinstance(edits, dict):
        raise ProducerError("must be a mapping", path=where, field="containerEdits")
    annotations = data.get("annotations")
    if annotations is not None and not (
        isinstance(annotations, dict) and all(isinstance(v, str) for v in annotations.values())
    ):
        raise ProducerError("must map strings to strings", path=where, field="annotations")
    return DevicesConfig(kind, tuple(classes), every, edits, annotations, source)


def load_config(path: str) -> DevicesConfig:
    """Read and check a config file (JSON for ``.json``, else YAML)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
    except OSError as e:
        raise ProducerError(f"cannot read devices config: {os.strerror(e.errno or 0)}", path=path) from e
    try:
        if path.lower().endswith(".json"):
            import json

            data = json.loads(raw)
        else:
            import yaml

            data = yaml.safe_load(raw)
    except ValueError as e:
        raise ProducerError(f"invalid JSON: {e}", path=path) from e
    except Exception as e:  # yaml.YAMLError carries line and column in its text
        raise ProducerError(f"invalid YAML: {e}", path=path) from e
    return parse_config(data, source=path)


def _edits(raw: Mapping[str, Any] | None, field: str, source: str) -> ContainerEdits:
    if not raw:
        return ContainerEdits()
    import msgspec

    try:
        return msgspec.convert(dict(raw), ContainerEdits)
    except msgspec.ValidationError as e:
        raise ProducerError(f"invalid container edits: {e}", path=source or None, field=field) from e


def _merge(edits: ContainerEdits, nodes: list[DeviceNode]) -> ContainerEdits:
    edits.device_nodes = nodes + list(edits.device_nodes or [])
    return edits


def _trailing_digits(name: str) -> str:
    m = re.search(r"(\d+)$", name)
    return m.group(1) if m else ""


def generate(config: DevicesConfig, root: str = "/") -> Spec:
    """The spec for the devices of ``config`` found under ``root`` now."""
    from cdikit.errors import InvalidNameError
    from cdikit.names import validate_device_name

    fs = HostFS(root)
    source = config.source
    devices: list[Device] = []
    seen: dict[str, str] = {}
    every: dict[str, DeviceNode] = {}  # container path -> node, first wins, in order
    for i, cls in enumerate(config.classes):
        field = f"devices[{i}]"
        matches = fs.glob(cls.match) if cls.match else [cls.paths[0]]
        for index, path in enumerate(matches):
            base = path.rsplit("/", 1)[-1]
            values = {"path": path, "base": base, "digits": _trailing_digits(base), "index": str(index)}
            name = _expand(cls.name, values, f"{field}.name", source)
            try:
                validate_device_name(name)
            except InvalidNameError as e:
                raise ProducerError(
                    f"device name {name!r}: {e}", path=source or None, field=f"{field}.name"
                ) from e
            if name in seen:
                raise ProducerError(
                    f"device name {name!r} is produced twice (by {seen[name]} and {path})",
                    path=source or None,
                    field=f"{field}.name",
                )
            seen[name] = path
            wanted = [path] if cls.match else list(cls.paths)
            wanted += [_expand(w, values, f"{field}.with", source) for w in cls.with_]
            nodes: list[DeviceNode] = []
            missing = False
            for node_path in dict.fromkeys(wanted):
                if fs.exists(node_path):
                    nodes.append(fs.device_node(node_path))
                elif node_path in cls.required or (not cls.match and node_path in cls.paths):
                    missing = True
                    break
            if missing or not nodes:
                continue  # a fixed group whose nodes are absent is simply not on this host
            edits = _edits(_expand_tree(cls.edits, values, f"{field}.containerEdits", source), field, source)
            devices.append(Device(name=name, container_edits=_merge(edits, nodes)))
            for node in nodes:
                every.setdefault(node.path, node)
    if not devices:
        raise ProducerError(f"no {config.kind} devices found on this host", path=source or None)
    if config.all and "all" not in seen:
        devices.append(Device(name="all", container_edits=ContainerEdits(device_nodes=list(every.values()))))
    spec = Spec(
        kind=config.kind,
        devices=devices,
        annotations=dict(config.annotations) if config.annotations else None,
        container_edits=_edits(config.edits, "containerEdits", source) if config.edits else None,
    )
    from cdikit.spec.version import minimum_version
    from cdikit.validation.rules import validate_spec

    spec.cdi_version = minimum_version(spec)
    validate_spec(spec, path=source or None)
    return spec


def watched_dirs(config: DevicesConfig) -> list[str]:
    """The directories whose changes can change what ``config`` produces (for hot-plug)."""
    dirs: list[str] = []
    for cls in config.classes:
        for pattern in ([cls.match] if cls.match else []) + list(cls.paths) + list(cls.with_):
            head = pattern.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0].split("{", 1)[0]
            dirs.append(head if head.endswith("/") else os.path.dirname(head) or "/")
    return list(dict.fromkeys(d.rstrip("/") or "/" for d in dirs))
