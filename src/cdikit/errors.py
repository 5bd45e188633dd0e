"""One exception hierarchy for all of cdikit, rooted in :class:`CDIError`.

``str(error)`` keeps the reference library's wording wherever the Go library
composes the text itself (so logs and tools that grep for it keep working);
the structured attributes (``path``, ``device``, ``field``, ``line``,
``column``) say precisely which file, device and field the error is about.
"""

from __future__ import annotations

__all__ = [
    "AnnotationError",
    "CDIError",
    "ConflictError",
    "DeviceNotAllowedError",
    "InjectionError",
    "InvalidNameError",
    "InvalidSpecNameError",
    "OnDemandError",
    "ParseError",
    "RegistryError",
    "RequestError",
    "UnresolvableDevicesError",
    "ValidationError",
    "VersionError",
    "WriteError",
]


class CDIError(Exception):
    """Base class of every error raised by cdikit.

    Attributes are optional context: the spec file (``path``), the device name
    (``device``) and the field (``field``, a dotted path such as
    ``devices[0].containerEdits.env[1]``).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        device: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.device = device
        self.field = field

    def __str__(self) -> str:
        return self.message

    def context(self) -> str:
        """A one-line summary of where the error is: file, device, field."""
        parts = []
        if self.path:
            parts.append(f"file {self.path}")
        if self.device:
            parts.append(f"device {self.device!r}")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts)


class ParseError(CDIError):
    """Bytes that are not a CDI spec document (syntax, types, unknown fields).

    ``go_panics`` is true for documents the Go reference decodes but then panics on
    (``null`` entries in ``deviceNodes``, ``netDevices``, ``hooks`` or ``mounts``).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        device: str | None = None,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
        go_panics: bool = False,
    ) -> None:
        super().__init__(message, path=path, device=device, field=field)
        self.line = line
        self.column = column
        self.go_panics = go_panics

    def context(self) -> str:
        where = super().context()
        if self.line is not None:
            pos = f"line {self.line}" + (f", column {self.column}" if self.column is not None else "")
            where = f"{where}, {pos}" if where else pos
        return where


class InvalidNameError(CDIError):
    """A vendor, class, device or qualified name that breaks the CDI grammar.

    ``go_panics`` is true for names on which the Go reference library panics
    (one-character vendor or class names): cdikit rejects them instead.
    """

    def __init__(self, message: str, *, go_panics: bool = False, **context: str | None) -> None:
        super().__init__(message, **context)
        self.go_panics = go_panics


class ValidationError(CDIError):
    """A spec that decodes but breaks a semantic rule of CDI."""


class VersionError(ValidationError):
    """An unknown ``cdiVersion`` or one below what the content requires."""


class AnnotationError(CDIError):
    """A ``cdi.k8s.io/`` annotation key or value that cannot be built or parsed."""


class RegistryError(CDIError):
    """A problem of the spec-directory registry (no spec dirs, refresh failures)."""


class ConflictError(RegistryError):
    """Two spec files of the same priority define the same device.

    Raised by :meth:`cdikit.registry.Registry.refresh` when conflicts are its only
    errors; ``names`` lists the conflicting qualified device names, sorted.
    """

    def __init__(self, message: str, *, names: list[str] | None = None, **context: str | None) -> None:
        super().__init__(message, **context)
        self.names = list(names or ())


class UnresolvableDevicesError(CDIError):
    """Some requested device names are not known to the registry.

    ``names`` lists every unresolvable name, in request order.
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__("unresolvable CDI devices " + ", ".join(names))
        self.names = list(names)


class InjectionError(CDIError):
    """Applying container edits to an OCI spec failed (the spec is left unchanged)."""


class WriteError(CDIError):
    """Writing or removing a spec file failed (no torn file is ever left)."""


class InvalidSpecNameError(WriteError):
    """A spec file name a producer may not write or remove (``..``, ``a/b``, ``""``, NUL).

    The name must stay a plain file name inside the spec directory: the Go
    reference joins it to the directory unchecked, so ``../x`` lands outside
    it and ``sub/x`` in a subdirectory no scanner reads.
    """


class RequestError(CDIError):
    """A device request that is malformed or (when required) resolves to nothing."""


class DeviceNotAllowedError(RequestError):
    """Resolved devices that the allow policy does not permit.

    ``names`` lists every forbidden device, in resolution order.
    """

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message, device=names[0] if names else None)
        self.names = list(names)


class OnDemandError(RequestError):
    """An on-demand provider failed to produce, write or expose its devices."""
