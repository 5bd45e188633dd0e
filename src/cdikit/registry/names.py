"""Spec file names: where a producer's spec lands and what it is called.

Texts and rules follow ``pkg/cdi/cache.go`` / ``spec.go`` of the Go reference:
none of the plain helpers validate anything (``generate_spec_name("", "")`` is
``"-"``), and the ``*_for_spec`` helpers fail only when ``kind`` has no vendor
part.
"""

from __future__ import annotations

from cdikit._paths import with_spec_extension
from cdikit._text import go_quote
from cdikit.errors import CDIError, InvalidSpecNameError
from cdikit.names import parse_qualifier
from cdikit.registry.scan import go_join
from cdikit.spec.types import Spec

__all__ = [
    "generate_name_for_spec",
    "generate_name_for_transient_spec",
    "generate_spec_name",
    "generate_transient_spec_name",
    "spec_file_path",
    "validate_spec_name",
]


def validate_spec_name(name: str) -> None:
    """Raise :class:`~cdikit.errors.InvalidSpecNameError` unless ``name`` is a plain file name.

    Refused: ``""``, ``.``, ``..``, anything with ``/`` and anything with a
    NUL byte. The Go reference accepts them all and joins them to the spec
    directory, so ``../x`` writes outside it, ``sub/x`` goes where no scanner
    looks and ``..`` becomes ``<dir>/../.yaml`` (a deliberate difference).
    """
    problem = None
    if not isinstance(name, str) or not name:
        problem = "it is empty"
    elif "/" in name:
        problem = 'it contains "/" (a spec is a file directly in the spec directory)'
    elif "\0" in name:
        problem = "it contains a NUL byte"
    elif name in (".", ".."):
        problem = "it names a directory"
    if problem is not None:
        raise InvalidSpecNameError(f"invalid Spec file name {go_quote(str(name))}: {problem}", field="name")


def spec_file_path(directory: str, name: str) -> str:
    """The file a spec written under ``name`` into ``directory`` goes to.

    ``.yaml`` is appended unless the extension is exactly ``.json`` or
    ``.yaml`` (so ``x.yml`` becomes ``x.yml.yaml``, as the reference does).
    Raises :class:`~cdikit.errors.InvalidSpecNameError` for a name that is
    not a plain file name (:func:`validate_spec_name`).
    """
    validate_spec_name(name)
    return with_spec_extension(go_join(directory, name))


def generate_spec_name(vendor: str, cls: str) -> str:
    """``vendor-class``: the conventional spec file name (no extension)."""
    return f"{vendor}-{cls}"


def generate_transient_spec_name(vendor: str, cls: str, transient_id: str) -> str:
    """``vendor-class_id`` with every ``/`` of the id replaced by ``_``."""
    return f"{vendor}-{cls}_{transient_id.replace('/', '_')}"


def _vendor_class(spec: Spec) -> tuple[str, str]:
    vendor, cls = parse_qualifier(spec.kind)
    if not vendor:
        raise CDIError(f"invalid vendor/class {go_quote(spec.kind)} in Spec", field="kind")
    return vendor, cls


def generate_name_for_spec(spec: Spec) -> str:
    """The plain spec file name for ``spec``'s kind (raises when the kind has no vendor)."""
    return generate_spec_name(*_vendor_class(spec))


def generate_name_for_transient_spec(spec: Spec, transient_id: str) -> str:
    """The transient spec file name for ``spec``'s kind and ``transient_id``."""
    vendor, cls = _vendor_class(spec)
    return generate_transient_spec_name(vendor, cls, transient_id)
