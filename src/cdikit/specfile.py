"""One loaded spec file: decoded, schema-checked, validated, with its path and priority.

``read_spec`` is the reference's ``ReadSpec``: same error texts, same recorded
path (``filepath.Clean``-ed, with ``.yaml`` appended when the name does not end in
``.json`` or ``.yaml``), same vendor/class split.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING, Protocol

from cdikit._paths import go_clean, with_spec_extension
from cdikit._text import go_errno_text, go_quote
from cdikit.errors import CDIError, ParseError
from cdikit.names import parse_qualifier
from cdikit.spec.types import ContainerEdits, Device, Spec
from cdikit.validation.rules import validate_spec

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "MAX_SPEC_FILE_BYTES",
    "SchemaValidator",
    "SpecFile",
    "load_spec_bytes",
    "read_error",
    "read_spec",
    "read_spec_bytes",
    "recorded_path",
]

#: Larger spec files are refused (a spec for a node full of GPUs is well under 1 MiB).
MAX_SPEC_FILE_BYTES = 32 << 20


class SchemaValidator(Protocol):
    """Anything with the ``cdikit.validation.schema.Schema.validate`` shape."""

    def validate(self, doc: object, *, path: str | None = None) -> None: ...


class SpecFile:
    """A valid spec as loaded from ``path`` with ``priority`` (index of its spec dir)."""

    __slots__ = ("_devices", "class_", "path", "priority", "spec", "vendor")

    def __init__(self, spec: Spec, path: str, priority: int = 0) -> None:
        self.spec = spec
        self.path = path
        self.priority = priority
        self.vendor, self.class_ = parse_qualifier(spec.kind)
        self._devices: dict[str, Device] = {d.name: d for d in spec.devices or ()}

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def devices(self) -> dict[str, Device]:
        """Devices by name, in file order."""
        return self._devices

    @property
    def edits(self) -> ContainerEdits:
        """Spec-level container edits (applied once per spec on injection)."""
        return self.spec.edits

    def qualified_name(self, device: str) -> str:
        return f"{self.vendor}/{self.class_}={device}"

    def qualified_names(self) -> Iterator[str]:
        prefix = f"{self.vendor}/{self.class_}="
        return (prefix + name for name in self._devices)

    def __repr__(self) -> str:
        return f"SpecFile(path={self.path!r}, kind={self.kind!r}, priority={self.priority}, devices={list(self._devices)})"


def recorded_path(path: str) -> str:
    """The path the reference records for a spec file (``spec.yml`` -> ``spec.yml.yaml``)."""
    return with_spec_extension(go_clean(path))


def load_spec_bytes(
    data: bytes, path: str, priority: int = 0, *, schema: SchemaValidator | None = None
) -> SpecFile:
    """Parse, schema-check and validate spec bytes read from ``path``."""
    from cdikit.spec.decode import parse_spec  # not needed when specs come from the disk cache

    quoted = go_quote(path)
    try:
        spec = parse_spec(data, path=path)
    except ParseError as err:
        raise ParseError(
            f"failed to parse CDI Spec {quoted}: {err.message}", path=path, line=err.line, column=err.column
        ) from None
    if spec is None:
        raise ParseError(f"failed to parse CDI Spec {quoted}, no Spec data", path=path)
    if schema is not None:
        import msgspec

        schema.validate(msgspec.to_builtins(spec), path=path)
    recorded = recorded_path(path)
    try:
        validate_spec(spec, path=recorded)
    except CDIError as err:
        err.path = recorded
        raise
    return SpecFile(spec, recorded, priority)


def read_spec(path: str, priority: int = 0, *, schema: SchemaValidator | None = None) -> SpecFile:
    """Read and validate the spec file at ``path`` (the reference's ``ReadSpec``)."""
    return load_spec_bytes(read_spec_bytes(path), path, priority, schema=schema)


def read_spec_bytes(path: str) -> bytes:
    """The bytes of the spec file at ``path``: a regular file of at most ``MAX_SPEC_FILE_BYTES``.

    Deliberate difference: the reference reads whatever the name points to, so a FIFO named
    ``x.json`` in a spec directory blocks every consumer forever and a link to ``/dev/zero``
    exhausts its memory. Here the file is opened without blocking and anything but a regular
    file, or a larger one, is that file's error (a directory keeps Go's wording).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise read_error(path, exc) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise read_error(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
        if not stat.S_ISREG(st.st_mode):
            raise CDIError(
                f"failed to read CDI Spec {go_quote(path)}: read {path}: not a regular file", path=path
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_SPEC_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_SPEC_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise read_error(path, exc) from None
    finally:
        os.close(fd)
    if size > MAX_SPEC_FILE_BYTES:
        raise CDIError(
            f"failed to read CDI Spec {go_quote(path)}: read {path}: file too large"
            f" (more than {MAX_SPEC_FILE_BYTES} bytes)",
            path=path,
        )
    return b"".join(chunks)


def read_error(path: str, exc: OSError) -> CDIError:
    """A failure to read ``path`` worded as the reference's ``ReadSpec`` words it.

    A missing file is the raw OS error; anything else is wrapped. ``os.ReadFile``
    fails at ``read`` for a directory and at ``open`` otherwise.
    """
    op = "read" if exc.errno == errno.EISDIR else "open"
    inner = f"{op} {path}: {go_errno_text(exc)}"
    if exc.errno == errno.ENOENT:
        return CDIError(inner, path=path)
    return CDIError(f"failed to read CDI Spec {go_quote(path)}: {inner}", path=path)
