"""One loaded spec file: decoded, schema-checked, validated, with its path and priority.

``read_spec`` is the reference's ``ReadSpec``: same error texts, same recorded
path (``filepath.Clean``-ed, with ``.yaml`` appended when the name does not end in
``.json`` or ``.yaml``), same vendor/class split.
"""

from __future__ import annotations

import errno
import os
import stat

from cdikit._paths import go_clean, with_spec_extension
from cdikit._text import go_errno_text, go_quote
from cdikit.errors import CDIError, ParseError
from cdikit.names import parse_qualifier

# Not typing's: a registry over a warm disk cache imports this module but never needs
# typing, msgspec or the spec model (specs are decoded when first used).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Protocol

    from cdikit.spec.types import ContainerEdits, Device, Spec

    class SchemaValidator(Protocol):
        """Anything with the ``cdikit.validation.schema.Schema.validate`` shape."""

        def validate(self, doc: object, *, path: str | None = None) -> None: ...


__all__ = [
    "MAX_SPEC_BYTES",
    "SchemaValidator",
    "SpecFile",
    "load_spec_bytes",
    "read_error",
    "read_spec",
    "read_spec_bytes",
    "recorded_path",
]

# A spec file larger than this is refused (the largest real specs, NVIDIA's for 8 GPUs
# with MIG profiles, are a few hundred KiB): a symlink to /dev/zero or a huge file in a
# spec directory must not exhaust memory in every command, the runtime shim included.
MAX_SPEC_BYTES = 16 * 1024 * 1024


def __getattr__(name: str) -> Any:
    """``SchemaValidator``, made when first imported at run time (it needs typing)."""
    if name != "SchemaValidator":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from typing import Protocol

    class SchemaValidator(Protocol):
        """Anything with the ``cdikit.validation.schema.Schema.validate`` shape."""

        def validate(self, doc: object, *, path: str | None = None) -> None: ...

    globals()[name] = SchemaValidator
    return SchemaValidator


class SpecFile:
    """A valid spec as loaded from ``path`` with ``priority`` (index of its spec dir).

    A spec taken from the registry's disk cache is *deferred*
    (:meth:`deferred`): its kind and device names are known at once, the
    spec itself is decoded the first time :attr:`spec` (or a device) is used.
    """

    __slots__ = ("_decode", "_devices", "_kind", "_names", "_spec", "class_", "path", "priority", "vendor")

    def __init__(self, spec: Spec, path: str, priority: int = 0) -> None:
        self._spec: Spec | None = spec
        self._decode: Callable[[], Spec] | None = None
        self._kind = spec.kind
        self.path = path
        self.priority = priority
        self.vendor, self.class_ = parse_qualifier(spec.kind)
        self._devices: dict[str, Device] | None = {d.name: d for d in spec.devices or ()}
        self._names = tuple(self._devices)

    @classmethod
    def deferred(
        cls, decode: Callable[[], Spec], kind: str, device_names: tuple[str, ...], path: str, priority: int
    ) -> SpecFile:
        """A spec file whose spec ``decode()`` gives on first use; ``kind`` and ``device_names`` are its."""
        self = cls.__new__(cls)
        self._spec = None
        self._decode = decode
        self._kind = kind
        self.path = path
        self.priority = priority
        self.vendor, self.class_ = parse_qualifier(kind)
        self._devices = None
        self._names = device_names
        return self

    @property
    def spec(self) -> Spec:
        """The validated wire spec."""
        spec = self._spec
        if spec is None:
            # Two threads may both decode (the same spec): harmless, and no lock on the hot path.
            decode = self._decode
            assert decode is not None  # kept after use: a racing reader still finds it
            spec = self._spec = decode()
        return spec

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def devices(self) -> dict[str, Device]:
        """Devices by name, in file order."""
        devices = self._devices
        if devices is None:
            devices = self._devices = {d.name: d for d in self.spec.devices or ()}
        return devices

    @property
    def device_names(self) -> tuple[str, ...]:
        """The devices' names, in file order (known without decoding a deferred spec)."""
        return self._names

    @property
    def edits(self) -> ContainerEdits:
        """Spec-level container edits (applied once per spec on injection)."""
        return self.spec.edits

    def qualified_name(self, device: str) -> str:
        return f"{self.vendor}/{self.class_}={device}"

    def qualified_names(self) -> Iterator[str]:
        prefix = f"{self.vendor}/{self.class_}="
        return (prefix + name for name in self._names)

    def __repr__(self) -> str:
        return (
            f"SpecFile(path={self.path!r}, kind={self.kind!r}, priority={self.priority}, "
            f"devices={list(self._names)})"
        )


def recorded_path(path: str) -> str:
    """The path the reference records for a spec file (``spec.yml`` -> ``spec.yml.yaml``)."""
    return with_spec_extension(go_clean(path))


def load_spec_bytes(
    data: bytes, path: str, priority: int = 0, *, schema: SchemaValidator | None = None
) -> SpecFile:
    """Parse, schema-check and validate spec bytes read from ``path``."""
    from cdikit.spec.decode import parse_spec  # not needed when specs come from the disk cache
    from cdikit.validation.rules import validate_spec

    quoted = go_quote(path)
    try:
        spec = parse_spec(data, path=path)
    except ParseError as err:
        raise ParseError(
            f"failed to parse CDI Spec {quoted}: {err.message}",
            path=path,
            line=err.line,
            column=err.column,
            go_panics=err.go_panics,
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


_FILE_KINDS = {
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_spec_bytes(path: str) -> bytes:
    """The bytes of the spec file at ``path``: a regular file (symlinks followed), at most
    :data:`MAX_SPEC_BYTES`, read without ever blocking.

    The reference reads whatever the name points at: a FIFO named ``*.json`` hangs it, a
    symlink to ``/dev/zero`` exhausts its memory. Here the link target is checked with
    ``stat`` first, then opened non-blocking, without following a symlink planted in its
    place meanwhile, and checked again with ``fstat``. Failures are :class:`CDIError` in
    the reference's words (``failed to read CDI Spec "p": open p: ...``).
    """
    try:
        target = os.path.realpath(path)
        st = os.stat(target)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
        fd = os.open(target, flags)
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            if not stat.S_ISREG(st.st_mode):
                raise _not_regular(path, st.st_mode)
            if st.st_size > MAX_SPEC_BYTES:
                raise _too_large(path)
            chunks = []
            size = 0
            while True:
                chunk = os.read(fd, min(1 << 20, MAX_SPEC_BYTES + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_SPEC_BYTES:  # grew while being read
                    raise _too_large(path)
        finally:
            os.close(fd)
    except OSError as exc:
        raise read_error(path, exc) from None
    return b"".join(chunks)


def _not_regular(path: str, mode: int) -> CDIError:
    kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return CDIError(
        f"failed to read CDI Spec {go_quote(path)}: read {path}: {kind}, not a spec file", path=path
    )


def _too_large(path: str) -> CDIError:
    limit = MAX_SPEC_BYTES // (1024 * 1024)
    return CDIError(
        f"failed to read CDI Spec {go_quote(path)}: read {path}: larger than {limit} MiB", path=path
    )


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
