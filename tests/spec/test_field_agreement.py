"""Every place that lists the spec's fields agrees with ``cdikit/spec/types.py``.

A new field means editing the wire types, the decoder's field table, both
encoders, the minimum-version rules, the built-in JSON schema and the test
strategies (CONTRIBUTING.md, "Adding a spec field"). Each test here fails, naming
the field and the place, when one of them was forgotten.
"""

from __future__ import annotations

import ast
import json
import typing
from importlib.resources import files
from pathlib import Path
from typing import Any

import msgspec
import pytest

from cdikit.spec import types
from cdikit.spec.decode import parse_spec
from cdikit.spec.encode import encode_spec
from cdikit.spec.version import minimum_version

STRUCTS: dict[str, type[msgspec.Struct]] = {
    "Spec": types.Spec,
    "Device": types.Device,
    "ContainerEdits": types.ContainerEdits,
    "DeviceNode": types.DeviceNode,
    "Mount": types.Mount,
    "Hook": types.Hook,
    "IntelRdt": types.IntelRdt,
    "NetDevice": types.NetDevice,
}

#: The version that introduced each field (the reference's ``specs-go/version.go``);
#: a field missing here fails test_every_field_has_a_minimum_version.
SINCE: dict[str, str] = {
    "Spec.annotations": "0.6.0",
    "Device.annotations": "0.6.0",
    "Mount.type": "0.4.0",
    "DeviceNode.hostPath": "0.5.0",
    "ContainerEdits.intelRdt": "0.7.0",
    "ContainerEdits.additionalGids": "0.7.0",
    "IntelRdt.schemata": "1.1.0",
    "IntelRdt.enableMonitoring": "1.1.0",
    "ContainerEdits.netDevices": "1.1.0",
    "NetDevice.hostInterfaceName": "1.1.0",
    "NetDevice.name": "1.1.0",
}
BASELINE = "0.3.0"


def wire_fields(struct: type[msgspec.Struct]) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(struct)]


def _struct_of(annotation: Any) -> tuple[type[msgspec.Struct], bool] | None:
    """The wire struct a field holds, and whether as a list; None for scalars, maps and lists of scalars."""
    for arg in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(arg) is list:
            arg, many = typing.get_args(arg)[0], True
        else:
            many = False
        if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
            return arg, many
    return None


def _sample(annotation: Any, name: str, *, nested: Any = None) -> Any:
    """A non-default value for one field (valid enough to survive decoding)."""
    held = _struct_of(annotation)
    if held is not None:
        struct, many = held
        value = (nested or full)(struct)
        return [value] if many else value
    text = str(annotation)
    if "dict" in text:
        return {"example.com/key": "value"}
    if "list" in text:
        return [1000] if "int" in text.lower() else ["x=1" if name == "env" else "/x"]
    if "bool" in text:
        return True
    if "int" in text.lower():
        return 7
    return {"hook_name": "prestart", "cdi_version": "1.1.0", "kind": "example.com/dev"}.get(name, "/x")


def full(struct: type[msgspec.Struct]) -> msgspec.Struct:
    """An instance of ``struct`` with every field (recursively) set to a non-default value."""
    hints = {f.name: f.type for f in msgspec.structs.fields(struct)}
    return struct(**{name: _sample(hint, name) for name, hint in hints.items()})


def test_decoder_field_table_matches_types() -> None:
    from cdikit.spec import decode

    table: dict[str, dict[str, Any]] = decode._STRUCTS  # the decoder's own field table
    aliases = {"NetDevice": "LinuxNetDevice"}
    for name, struct in STRUCTS.items():
        assert list(table[aliases.get(name, name)]) == wire_fields(struct), f"decode._STRUCTS[{name!r}]"


def test_schema_properties_match_types() -> None:
    schema = json.loads(files("cdikit.validation").joinpath("schema.json").read_text())
    for name, struct in STRUCTS.items():
        props = schema["properties"] if name == "Spec" else schema["definitions"][name]["properties"]
        assert list(props) == wire_fields(struct), f"schema.json {name}"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_both_encoders_write_every_field_and_the_decoder_reads_it_back(fmt: str) -> None:
    spec = full(types.Spec)
    data = encode_spec(spec, fmt)  # type: ignore[arg-type]
    decoded = parse_spec(data)
    assert decoded == spec, f"{fmt} round trip lost a field"
    doc = json.loads(data) if fmt == "json" else __import__("yaml").safe_load(data)
    edits = doc["devices"][0]["containerEdits"]
    seen = {
        "Spec": doc,
        "Device": doc["devices"][0],
        "ContainerEdits": edits,
        "DeviceNode": edits["deviceNodes"][0],
        "Mount": edits["mounts"][0],
        "Hook": edits["hooks"][0],
        "IntelRdt": edits["intelRdt"],
        "NetDevice": edits["netDevices"][0],
    }
    for name, struct in STRUCTS.items():
        assert list(seen[name]) == wire_fields(struct), f"{fmt} encoder, {name}: keys or their order"


_BASES: dict[str, msgspec.Struct] = {
    "Device": types.Device(name="d", container_edits=types.ContainerEdits(env=["A=1"])),
    "ContainerEdits": types.ContainerEdits(env=["A=1"]),
    "DeviceNode": types.DeviceNode(path="/dev/x"),
    "Mount": types.Mount(host_path="/a", container_path="/b"),
    "Hook": types.Hook(hook_name="prestart", path="/bin/true"),
    "IntelRdt": types.IntelRdt(clos_id="c"),
    "NetDevice": types.NetDevice(host_interface_name="a", name="b"),
}


def _base(struct: type[msgspec.Struct]) -> msgspec.Struct:
    return _BASES[struct.__name__]


def _minimal(**edits: Any) -> types.Spec:
    ce = types.ContainerEdits(**{"env": ["A=1"], **edits})
    return types.Spec(
        cdi_version="1.1.0", kind="example.com/dev", devices=[types.Device(name="d", container_edits=ce)]
    )


def _one_field_set(struct_name: str, field: str) -> types.Spec:
    """A minimal spec where only ``struct_name.field`` adds to what 0.3.0 can express."""
    struct = STRUCTS[struct_name]
    attr = next(f.name for f in msgspec.structs.fields(struct) if f.encode_name == field)
    value = _sample(
        next(f.type for f in msgspec.structs.fields(struct) if f.name == attr), attr, nested=_base
    )
    if struct_name == "Spec":
        return msgspec.structs.replace(_minimal(), **{attr: value})
    if struct_name == "Device":
        spec = _minimal()
        assert spec.devices is not None
        return msgspec.structs.replace(
            spec, devices=[msgspec.structs.replace(spec.devices[0], **{attr: value})]
        )
    if struct_name == "ContainerEdits":
        return _minimal(**{attr: value})
    key = {"DeviceNode": "device_nodes", "Mount": "mounts", "Hook": "hooks", "IntelRdt": "intel_rdt"}.get(
        struct_name, "net_devices"
    )
    item = msgspec.structs.replace(_BASES[struct_name], **{attr: value})
    return _minimal(**{key: item if key == "intel_rdt" else [item]})


@pytest.mark.parametrize(
    ("struct_name", "field"), [(n, f) for n, s in STRUCTS.items() for f in wire_fields(s)]
)
def test_every_field_has_a_minimum_version(struct_name: str, field: str) -> None:
    qualified = f"{struct_name}.{field}"
    expected = SINCE.get(qualified, BASELINE)
    if struct_name == "IntelRdt" and expected == BASELINE:
        expected = SINCE["ContainerEdits.intelRdt"]  # the struct itself needs 0.7.0
    if struct_name == "NetDevice":
        expected = SINCE["ContainerEdits.netDevices"]
    assert minimum_version(_one_field_set(struct_name, field)) == expected, (
        f"{qualified}: version.py's minimum_version disagrees with SINCE (new field? add its rule)"
    )


def _strategy_keywords() -> dict[str, set[str]]:
    """``Type -> field keywords`` of every ``st.builds(Type, ...)`` / ``Type(...)`` in the strategies."""
    tree = ast.parse((Path(__file__).parent / "strategies.py").read_text())
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = (
            node.args[0]
            if (isinstance(node.func, ast.Attribute) and node.func.attr == "builds" and node.args)
            else node.func
        )
        if isinstance(target, ast.Name) and target.id in STRUCTS:
            found.setdefault(target.id, set()).update(k.arg for k in node.keywords if k.arg)
    return found


def test_strategies_generate_every_field() -> None:
    keywords = _strategy_keywords()
    for name, struct in STRUCTS.items():
        attrs = {f.name for f in msgspec.structs.fields(struct)}
        missing = attrs - keywords.get(name, set())
        assert not missing, f"tests/spec/strategies.py never sets {name}.{sorted(missing)}"
