"""JSON-schema validation of spec documents (cdikit's own CDI 1.1.0 schema, or another).

Schemas are named like the reference's ``schema.Load``:

* ``"builtin"``: the schema shipped in this package (``schema.json``, draft-07);
* ``"none"`` (or an empty name): no schema validation at all;
* ``"default"``: the external schema at :data:`DEFAULT_EXTERNAL_SCHEMA` when it
  exists and loads, else the builtin one -- what the reference's
  ``validate.WithDefaultSchema()`` does;
* anything else: a path (or ``file://`` URI) of a JSON schema file; relative
  ``$ref`` s (``defs.json#/...``) are read from the schema's directory.

The reference validates the Go struct re-encoded as JSON, so a decoded
:class:`~cdikit.spec.types.Spec` is checked in its canonical JSON form; plain
dict/list trees (e.g. straight from a YAML loader) and raw bytes work too.
``jsonschema`` is imported only when a real schema is first used.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlparse

from cdikit.errors import ParseError, ValidationError

# jsonschema ships no type information: its objects are handled as Any.
Validator = Any
_JSError = Any

__all__ = [
    "BUILTIN_SCHEMA_NAME",
    "DEFAULT_EXTERNAL_SCHEMA",
    "DEFAULT_SCHEMA_NAME",
    "NONE_SCHEMA_NAME",
    "Schema",
]

BUILTIN_SCHEMA_NAME = "builtin"
NONE_SCHEMA_NAME = "none"
DEFAULT_SCHEMA_NAME = "default"
DEFAULT_EXTERNAL_SCHEMA = "/etc/cdi/schema/schema.json"
"""Where the reference looks for an administrator-provided schema."""

_PREFIX = "Spec validation failed: "
_MAX_DETAIL = 200


class Schema:
    """A loaded JSON schema (or the no-op one); immutable, compiled once, shareable."""

    __slots__ = ("_validator", "name")

    def __init__(self, name: str, validator: Validator | None) -> None:
        self.name = name
        self._validator = validator

    def __repr__(self) -> str:
        return f"Schema({self.name!r})"

    @property
    def is_noop(self) -> bool:
        """True for the ``none`` schema, which accepts everything."""
        return self._validator is None

    @classmethod
    def load(cls, spec: str, *, external_path: str = DEFAULT_EXTERNAL_SCHEMA) -> Schema:
        """Load the schema named ``spec`` (see the module doc); raises :class:`ValidationError`.

        ``external_path`` is the file ``"default"`` looks for (tests point it elsewhere).
        """
        source = spec.strip()
        if source == BUILTIN_SCHEMA_NAME:
            return cls(BUILTIN_SCHEMA_NAME, _builtin_validator())
        if source in (NONE_SCHEMA_NAME, ""):
            return cls(NONE_SCHEMA_NAME, None)
        if source == DEFAULT_SCHEMA_NAME:
            try:
                return cls(external_path, _file_validator(*_file_key(external_path)))
            except ValidationError:
                return cls(BUILTIN_SCHEMA_NAME, _builtin_validator())
        if source.startswith("file://"):
            path = unquote(urlparse(source).path)
        elif "://" in source:
            raise ValidationError(
                f"failed to load JSON schema {source}: only local schema files are supported", path=source
            )
        else:
            path = os.path.abspath(source)
        return cls(path, _file_validator(*_file_key(path)))

    def validate(self, doc: object, *, path: str | None = None) -> None:
        """Check ``doc`` (a Spec, a dict/list tree, or JSON/YAML bytes) against the schema.

        Raises :class:`ValidationError` whose message starts ``Spec validation
        failed:`` and names the JSON pointer of the failing field (``field`` holds
        the same location as ``devices[0].containerEdits.env[1]``; ``path`` is the
        spec file, when given).
        """
        validator = self._validator
        if validator is None:
            return
        tree = _as_tree(doc, path)
        first = next(iter(validator.iter_errors(tree)), None)
        if first is None:
            return
        exceptions = importlib.import_module("jsonschema.exceptions")
        error = exceptions.best_match(validator.iter_errors(tree)) or first
        raise _to_validation_error(error, tree, path)


# ---------------------------------------------------------------- loading


@functools.cache
def _builtin_validator() -> Validator:
    from importlib.resources import files

    text = files("cdikit.validation").joinpath("schema.json").read_text(encoding="utf-8")
    return _compile(json.loads(text), base_dir=None, source=BUILTIN_SCHEMA_NAME)


def _file_key(path: str) -> tuple[str, int, int]:
    try:
        st = os.stat(path)
    except OSError as err:
        raise ValidationError(f"failed to load JSON schema {path}: {err.strerror or err}", path=path) from err
    return path, st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=16)
def _file_validator(path: str, mtime_ns: int, size: int) -> Validator:
    # (path, mtime, size) key: an edited schema file is recompiled, an unchanged one is not.
    del mtime_ns, size
    try:
        with open(path, encoding="utf-8") as f:
            contents = json.load(f)
    except (OSError, ValueError) as err:
        raise ValidationError(f"failed to load JSON schema {path}: {err}", path=path) from err
    return _compile(contents, base_dir=os.path.dirname(path), source=path)


def _compile(contents: Any, *, base_dir: str | None, source: str) -> Validator:
    jsonschema = importlib.import_module("jsonschema")
    # referencing's attrs classes confuse type checkers: use them untyped too.
    referencing = importlib.import_module("referencing")
    draft7 = importlib.import_module("referencing.jsonschema").DRAFT7
    no_such_resource = importlib.import_module("referencing.exceptions").NoSuchResource
    try:
        jsonschema.Draft7Validator.check_schema(contents)
    except jsonschema.exceptions.SchemaError as err:
        raise ValidationError(
            f"failed to load JSON schema {source}: invalid schema: {_short(err.message)}", path=source
        ) from err

    def retrieve(uri: str) -> Any:
        # Relative references ("defs.json#/definitions/x") are files next to the schema.
        if uri.startswith("file://"):
            ref_path = unquote(urlparse(uri).path)
        elif base_dir is not None and "://" not in uri:
            ref_path = os.path.join(base_dir, uri)
        else:
            raise no_such_resource(ref=uri)
        try:
            with open(ref_path, encoding="utf-8") as f:
                return referencing.Resource.from_contents(json.load(f), default_specification=draft7)
        except (OSError, ValueError) as err:
            raise no_such_resource(ref=uri) from err

    registry = referencing.Registry(retrieve=retrieve)
    return jsonschema.Draft7Validator(contents, registry=registry)


# ---------------------------------------------------------------- validating


def _as_tree(doc: object, path: str | None) -> object:
    """The plain JSON-like tree the schema is checked against."""
    from cdikit.spec.types import Spec

    if isinstance(doc, Spec):
        import msgspec

        from cdikit.spec.encode import encode_spec

        # The reference validates the Go struct, i.e. its canonical JSON encoding.
        return msgspec.json.decode(encode_spec(doc, "json"))
    if isinstance(doc, bytes | bytearray | memoryview | str):
        import yaml

        data = bytes(doc) if not isinstance(doc, str) else doc.encode()
        try:
            # Like the reference's ValidateData: JSON objects as JSON, the rest as YAML.
            if data.lstrip().startswith(b"{"):
                return json.loads(data)
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return yaml.load(data, Loader=loader)
        except (ValueError, yaml.YAMLError) as err:
            raise ParseError(f"failed to parse data for schema validation: {err}", path=path) from err
    return doc


def _to_validation_error(error: _JSError, tree: object, path: str | None) -> ValidationError:
    parts: list[str | int] = list(error.absolute_path)
    extra = _offending_key(error)
    if extra is not None:
        parts.append(extra)
    pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    field = _dotted(parts)
    device = _device_name(tree, parts)
    where = pointer or "(document root)"
    if device is not None:
        where += f" (device {device!r})"
    return ValidationError(
        f"{_PREFIX}{where}: {_short(error.message)}", path=path, device=device, field=field
    )


def _offending_key(error: _JSError) -> str | None:
    """For "required" and "additionalProperties" errors, the key that is missing or extra."""
    instance = error.instance
    if not isinstance(instance, dict):
        return None
    if error.validator == "required":
        return next((str(k) for k in _iter(error.validator_value) if k not in instance), None)
    if error.validator == "additionalProperties" and isinstance(error.schema, dict):
        known = error.schema.get("properties", {})
        return next((str(k) for k in instance if k not in known), None)
    return None


def _iter(value: object) -> Iterator[object]:
    return iter(value) if isinstance(value, list | tuple) else iter(())


def _dotted(parts: list[str | int]) -> str:
    out = []
    for p in parts:
        if isinstance(p, int):
            out.append(f"[{p}]")
        else:
            out.append(("." if out else "") + p)
    return "".join(out)


def _device_name(tree: object, parts: list[str | int]) -> str | None:
    if len(parts) < 2 or parts[0] != "devices" or not isinstance(parts[1], int) or not isinstance(tree, dict):
        return None
    devices = tree.get("devices")
    if not isinstance(devices, list) or parts[1] >= len(devices):
        return None
    dev = devices[parts[1]]
    name = dev.get("name") if isinstance(dev, dict) else None
    return name if isinstance(name, str) else None


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."
