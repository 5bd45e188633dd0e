"""Encoding and writing generated specs: format choice, write-only-when-changed."""

from __future__ import annotations

from typing import Literal

from cdikit.errors import WriteError
from cdikit.spec.types import Spec

__all__ = ["encode", "format_for_path", "write_if_changed"]

Format = Literal["json", "yaml"]


def format_for_path(path: str | None, explicit: str | None) -> Format:
    """An explicit ``--format`` wins; else ``.json`` means JSON and anything else YAML.

    The file name is never changed (the reference turns ``nvidia.yml`` into
    ``nvidia.yml.yaml`` and lets the extension override ``--format``).
    """
    if explicit:
        fmt = explicit.lower()
        if fmt not in ("json", "yaml"):
            raise WriteError(f"invalid output format: {explicit}", field="format")
        return "json" if fmt == "json" else "yaml"
    return "json" if path and path.lower().endswith(".json") else "yaml"


def encode(spec: Spec, fmt: Format) -> bytes:
    from cdikit.spec.encode import encode_spec

    return encode_spec(spec, fmt)


def write_if_changed(path: str, data: bytes, *, mode: int = 0o644) -> bool:
    """Atomically replace ``path`` with ``data`` unless it already holds exactly that.

    Returns whether the file was written. Unchanged content is not rewritten so spec
    watchers (registries, kubelet plugins) see no churn; 0644 so rootless engines can
    read the spec (podman #17539).
    """
    from cdikit.spec._atomic import atomic_write

    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    except (OSError, ValueError):
        pass  # absent or unreadable (a NUL in the path: atomic_write reports it as a WriteError)
    atomic_write(path, data, mode=mode)
    return True
