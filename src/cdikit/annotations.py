"""``cdi.k8s.io/`` container annotations: building and reading CDI device requests.

Device plugins put requests on a container as annotations
``cdi.k8s.io/<plugin>_<deviceID>: vendor/class=dev[,vendor/class=dev...]``.
Behaviour and error texts follow ``pkg/cdi/annotations.go`` of the Go
reference library (errors are :class:`~cdikit.errors.AnnotationError`; when a
device name is at fault the :class:`~cdikit.errors.InvalidNameError` is the
``__cause__``, so ``go_panics`` stays reachable).
"""

from __future__ import annotations

from cdikit._text import go_quote
from cdikit.errors import AnnotationError, InvalidNameError
from cdikit.names import is_qualified_name, parse_qualified_name

TYPE_CHECKING = False  # not typing's: the runtime shim imports this module on container starts
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Mapping, MutableMapping

__all__ = [
    "ANNOTATION_PREFIX",
    "annotation_key",
    "annotation_value",
    "parse_annotations",
    "update_annotations",
]

ANNOTATION_PREFIX = "cdi.k8s.io/"
# Kubernetes limits the name part of a qualified annotation key to 63 bytes.
_MAX_NAME_LEN = 63
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*[A-Za-z0-9]"


_COMPILED: list[re.Pattern[str]] = []


def _name_re() -> re.Pattern[str]:
    # Imported and compiled on first use: importing this module must stay cheap for the runtime shim.
    if not _COMPILED:
        import re

        _COMPILED.append(re.compile(_NAME))
    return _COMPILED[0]


_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_MIDDLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def _name_error(name: str) -> str | None:
    """Go's checks on ``plugin_deviceID``; the message, or None when valid."""
    if len(name) <= _MAX_NAME_LEN and _name_re().fullmatch(name):
        return None
    raw = name.encode("utf-8", "surrogatepass")
    if len(raw) > _MAX_NAME_LEN:
        return f"invalid plugin+deviceID {go_quote(name)}, too long"
    # Go prints the first and last *byte* as a rune, i.e. as its Latin-1 character.
    if raw[0] not in _ALNUM:
        return f"invalid name {go_quote(name)}, first '{chr(raw[0])}' should be alphanumeric"
    for ch in raw[1:-1].decode("utf-8", "replace"):
        if ch not in _MIDDLE:
            return f"invalid name {go_quote(name)}, invalid character '{ch}'"
    return f"invalid name {go_quote(name)}, last '{chr(raw[-1])}' should be alphanumeric"


def _name_error_of(device: str) -> InvalidNameError | None:
    """The parser's error for an invalid ``device`` (kept as ``__cause__``)."""
    try:
        parse_qualified_name(device)
    except InvalidNameError as err:
        return err
    return None


def annotation_key(plugin: str, device_id: str) -> str:
    """The annotation key for one allocation: ``cdi.k8s.io/<plugin>_<device_id>``.

    ``/`` in ``device_id`` becomes ``_``. Raises :class:`AnnotationError`.
    """
    if not plugin:
        raise AnnotationError("invalid plugin name, empty", field="plugin")
    if not device_id:
        raise AnnotationError("invalid deviceID, empty", field="deviceID")
    name = f"{plugin}_{device_id.replace('/', '_')}"
    problem = _name_error(name)
    if problem is not None:
        raise AnnotationError(problem, field="key")
    return ANNOTATION_PREFIX + name


def annotation_value(devices: Iterable[str] | None) -> str:
    """The annotation value for ``devices``: the qualified names joined by ``,``.

    Every device must be a qualified name; the parser's error text is kept
    verbatim (as Go returns it unwrapped). An empty list gives ``""``.
    """
    names = list(devices or ())
    for device in names:
        if not is_qualified_name(device):
            err = _name_error_of(device)
            raise AnnotationError(str(err), device=device, field="value") from err
    return ",".join(names)


def update_annotations(
    annotations: MutableMapping[str, str] | None,
    plugin: str,
    device_id: str,
    devices: Iterable[str] | None,
) -> MutableMapping[str, str]:
    """Add the request for ``devices`` to ``annotations`` and return the mapping.

    A given mapping is updated in place (a new dict is made for ``None``). On
    error, :class:`AnnotationError` is raised and ``annotations`` is unchanged.
    """
    try:
        key = annotation_key(plugin, device_id)
    except AnnotationError as err:
        raise AnnotationError(f"CDI annotation failed: {err}", field=err.field) from err
    if annotations is not None and key in annotations:
        raise AnnotationError(f"CDI annotation failed, key {go_quote(key)} used", field=key)
    try:
        value = annotation_value(devices)
    except AnnotationError as err:
        raise AnnotationError(
            f"CDI annotation failed: {err}", device=err.device, field=err.field
        ) from err.__cause__
    if annotations is None:
        annotations = {}
    annotations[key] = value
    return annotations


def parse_annotations(annotations: Mapping[str, str] | None) -> tuple[list[str], list[str]]:
    """The CDI request keys and devices in ``annotations``, as ``(keys, devices)``.

    Only keys starting with ``cdi.k8s.io/`` count (keys themselves are not
    validated); each value is split on ``,`` without trimming and every piece
    must be a qualified name, else :class:`AnnotationError` is raised. Keys
    come in mapping order, devices in key then value order.
    """
    keys: list[str] = []
    devices: list[str] = []
    if not annotations:
        return keys, devices
    for key, value in annotations.items():
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        pieces = value.split(",")
        for device in pieces:
            if not is_qualified_name(device):
                raise AnnotationError(
                    f"invalid CDI device name {go_quote(device)}", device=device, field=key
                ) from _name_error_of(device)
        devices.extend(pieces)
        keys.append(key)
    return keys, devices
