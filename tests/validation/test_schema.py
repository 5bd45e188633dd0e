"""JSON-schema validation: the builtin CDI 1.1.0 schema, the no-op one, files, and "default"."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from cdikit.errors import ParseError, ValidationError
from cdikit.spec.types import ContainerEdits, Device, Spec
from cdikit.validation.schema import DEFAULT_EXTERNAL_SCHEMA, Schema

VALID: dict[str, Any] = {
    "cdiVersion": "1.1.0",
    "kind": "vendor.com/gpu",
    "annotations": {"a": "b"},
    "devices": [
        {
            "name": "gpu0",
            "annotations": {"x": "y"},
            "containerEdits": {
                "env": ["A=1", "B="],
                "deviceNodes": [
                    {
                        "path": "/dev/gpu0",
                        "hostPath": "/dev/gpu0",
                        "type": "c",
                        "major": 195,
                        "minor": 0,
                        "fileMode": 438,
                        "permissions": "rwm",
                        "uid": 0,
                        "gid": 0,
                    }
                ],
                "netDevices": [{"hostInterfaceName": "eth0", "name": "net0"}],
                "hooks": [
                    {
                        "hookName": "createContainer",
                        "path": "/bin/hook",
                        "args": ["hook"],
                        "env": ["X=1"],
                        "timeout": 5,
                    }
                ],
                "mounts": [{"hostPath": "/a", "containerPath": "/b", "options": ["ro"], "type": "bind"}],
                "intelRdt": {
                    "closID": "c",
                    "l3CacheSchema": "L3:0=f",
                    "memBwSchema": "MB:0=50",
                    "schemata": ["L3:0=f"],
                    "enableMonitoring": True,
                },
                "additionalGids": [5],
            },
        }
    ],
    "containerEdits": {"env": ["S=1"]},
}


def _with(path: str, value: object) -> dict[str, Any]:
    """VALID with the value at a /-separated path replaced (or the key deleted when value is ...)."""
    doc = copy.deepcopy(VALID)
    *parents, last = path.strip("/").split("/")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def _bad(why: str, pointer: str, value: object, detail: str) -> tuple[str, object, str, str]:
    """A case: VALID with ``value`` at ``pointer`` (deleted for ...) fails there with ``detail``."""
    return why, _with(pointer, value), pointer, detail


DEV = "/devices/0/containerEdits"

INVALID = [
    _bad("missing cdiVersion", "/cdiVersion", ..., "is a required property"),
    _bad("missing devices", "/devices", ..., "is a required property"),
    _bad("unknown top-level key", "/extra", 1, "Additional properties"),
    _bad("version not a string", "/cdiVersion", 1.1, "is not of type 'string'"),
    _bad("kind without class", "/kind", "vendor.com", "does not match"),
    _bad("annotation value not a string", "/annotations/a", 1, "is not of type 'string'"),
    _bad("device without name", "/devices/0/name", ..., "is a required property"),
    _bad("device without edits", "/devices/0/containerEdits", ..., "required"),
    _bad("unknown device key", "/devices/0/nick", "x", "Additional properties"),
    _bad("env without =", f"{DEV}/env/1", "NOPE", "does not match"),
    _bad("env starting with =", f"{DEV}/env/0", "=1", "does not match"),
    _bad("node without path", f"{DEV}/deviceNodes/0/path", ..., "required"),
    _bad("node bad type", f"{DEV}/deviceNodes/0/type", "x", "is not one of"),
    _bad("node bad permissions", f"{DEV}/deviceNodes/0/permissions", "rx", "does not match"),
    _bad("negative uid", f"{DEV}/deviceNodes/0/uid", -1, "minimum"),
    _bad("major as string", f"{DEV}/deviceNodes/0/major", "195", "is not of type 'integer'"),
    _bad("fileMode too big", f"{DEV}/deviceNodes/0/fileMode", 2**32, "maximum"),
    _bad("mount without containerPath", f"{DEV}/mounts/0/containerPath", ..., "required"),
    _bad("mount options not a list", f"{DEV}/mounts/0/options", "ro", "is not of type 'array'"),
    _bad("hook bad name", f"{DEV}/hooks/0/hookName", "preStart", "is not one of"),
    _bad("hook without path", f"{DEV}/hooks/0/path", ..., "required"),
    _bad("hook timeout float", f"{DEV}/hooks/0/timeout", 1.5, "integer"),
    _bad("rdt unknown key", f"{DEV}/intelRdt/enableCMT", True, "Additional properties"),
    _bad("rdt monitoring not bool", f"{DEV}/intelRdt/enableMonitoring", "yes", "boolean"),
    _bad("netdev without name", f"{DEV}/netDevices/0/name", ..., "required"),
    _bad("gid negative", f"{DEV}/additionalGids/0", -5, "minimum"),
    _bad("spec-level unknown edit", "/containerEdits/devices", [], "Additional properties"),
    ("not an object", ["a"], "(document root)", "is not of type 'object'"),
]


@pytest.fixture(scope="module")
def builtin() -> Schema:
    return Schema.load("builtin")


def test_valid_document_passes(builtin: Schema) -> None:
    builtin.validate(VALID)
    builtin.validate(json.dumps(VALID).encode())


@pytest.mark.parametrize(("why", "doc", "pointer", "detail"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_documents(builtin: Schema, why: str, doc: object, pointer: str, detail: str) -> None:
    with pytest.raises(ValidationError) as info:
        builtin.validate(doc, path="/etc/cdi/x.json")
    message = str(info.value)
    assert message.startswith("Spec validation failed: " + pointer), message
    assert detail in message
    assert info.value.path == "/etc/cdi/x.json"
    if pointer.startswith("/devices/0/") and why != "device without name":
        assert info.value.device == "gpu0"
        assert "device 'gpu0'" in message
        assert info.value.field is not None and info.value.field.startswith("devices[0].")


def test_none_schema_accepts_anything() -> None:
    schema = Schema.load("none")
    assert schema.is_noop
    schema.validate({"anything": [1, 2]})
    assert Schema.load("  ").is_noop


def test_spec_objects_are_checked_in_their_go_json_form(builtin: Schema) -> None:
    spec = msgspec.convert(VALID, Spec)
    builtin.validate(spec)
    # A device without edits still encodes `containerEdits: {}` (as Go does): valid.
    builtin.validate(Spec(cdi_version="1.1.0", kind="v.com/c", devices=[Device(name="d")]))
    bad = Spec(
        cdi_version="1.1.0",
        kind="v.com/c",
        devices=[Device(name="d", container_edits=ContainerEdits(env=["X"]))],
    )
    with pytest.raises(ValidationError, match=r"/devices/0/containerEdits/env/0"):
        builtin.validate(bad)


def test_yaml_bytes_are_validated_as_a_tree(builtin: Schema) -> None:
    yaml_doc = (
        b"cdiVersion: 1.1.0\nkind: v.com/c\ndevices:\n  - name: d\n    containerEdits:\n      env: [A=1]\n"
    )
    builtin.validate(yaml_doc)
    with pytest.raises(ValidationError, match="/devices/0/containerEdits/env/0"):
        builtin.validate(yaml_doc.replace(b"A=1", b"A"))
    with pytest.raises(ParseError):
        builtin.validate(b"{not json")


def _write_schema_pair(directory: Path) -> Path:
    """An external schema split in two files, like the reference's schema.json + defs.json."""
    (directory / "defs.json").write_text(
        json.dumps({"definitions": {"kind": {"type": "string", "pattern": "^only/"}}})
    )
    main = directory / "schema.json"
    main.write_text(
        json.dumps(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"kind": {"$ref": "defs.json#/definitions/kind"}},
                "required": ["kind"],
            }
        )
    )
    return main


def test_schema_from_path_with_relative_refs(tmp_path: Path) -> None:
    path = _write_schema_pair(tmp_path)
    for name in (str(path), path.as_uri()):
        schema = Schema.load(name)
        schema.validate({"kind": "only/this"})
        with pytest.raises(
            ValidationError, match=r"Spec validation failed: /kind: 'v\.com/c' does not match"
        ):
            schema.validate({"kind": "v.com/c"})


def test_schema_file_changes_are_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "object"}')
    Schema.load(str(path)).validate({"x": 1})
    path.write_text('{"type": "object", "additionalProperties": false, "properties": {}}')
    with pytest.raises(ValidationError):
        Schema.load(str(path)).validate({"x": 1})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "failed to load JSON schema"),
        ("{not json", "failed to load JSON schema"),
        ('{"type": 5}', "invalid schema"),
    ],
)
def test_bad_schema_files_are_rejected(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "schema.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValidationError, match=message):
        Schema.load(str(path))


def test_remote_schemas_are_refused() -> None:
    with pytest.raises(ValidationError, match="only local schema files"):
        Schema.load("https://example.com/schema.json")


def test_default_prefers_the_external_schema(tmp_path: Path) -> None:
    external = _write_schema_pair(tmp_path)
    schema = Schema.load("default", external_path=str(external))
    assert schema.name == str(external)
    with pytest.raises(ValidationError, match="/kind"):
        schema.validate(VALID)


@pytest.mark.parametrize("content", [None, "{broken"])
def test_default_falls_back_to_builtin(tmp_path: Path, content: str | None) -> None:
    external = tmp_path / "schema.json"
    if content is not None:
        external.write_text(content)
    schema = Schema.load("default", external_path=str(external))
    assert schema.name == "builtin"
    schema.validate(VALID)
    with pytest.raises(ValidationError):
        schema.validate(_with("devices", ...))


def test_default_external_path_is_the_reference_one() -> None:
    assert DEFAULT_EXTERNAL_SCHEMA == "/etc/cdi/schema/schema.json"


def test_builtin_schema_is_compiled_once() -> None:
    assert Schema.load("builtin")._validator is Schema.load("builtin")._validator
