"""Encoding and writing generated specs: format choice, write-only-when-changed."""

from __future__ import annotations

from cdikit._paths import spec_format
from cdikit.errors import WriteError

TYPE_CHECKING = False  # not typing's (start-up time)
if TYPE_CHECKING:
    from typing import Literal

    from cdikit.spec.types import Spec

    Format = Literal["json", "yaml"]

__all__ = ["encode", "format_for_path", "with_infix", "write_if_changed"]


def format_for_path(path: str | None, explicit: str | None) -> Format:
    """An explicit ``--format`` wins; else exactly ``.json`` means JSON and anything else YAML.

    The file name is never changed (the reference turns ``nvidia.yml`` into
    ``nvidia.yml.yaml`` and lets the extension override ``--format``).
    """
    if explicit:
        fmt = explicit.lower()
        if fmt not in ("json", "yaml"):
            raise WriteError(f"invalid output format: {explicit}", field="format")
        return "json" if fmt == "json" else "yaml"
    return "json" if path and spec_format(path) == "json" else "yaml"


def with_infix(path: str, infix: str) -> str:
    """``nvidia.yaml`` + ``.coherent`` -> ``nvidia.coherent.yaml`` (nvidia-ctk's split-spec names)."""
    if not infix:
        return path
    import os

    stem, ext = os.path.splitext(path)
    return stem + infix + ext


def encode(spec: Spec, fmt: Format) -> bytes:
    from cdikit.spec.encode import encode_spec

    return encode_spec(spec, fmt)


def write_if_changed(path: str, data: bytes, *, mode: int = 0o644) -> bool:
    """Atomically replace ``path`` with ``data`` unless it already holds exactly that.

    Returns whether the file was written: :func:`cdikit.spec.encode.write_spec_data`,
    the library's one spec writer (0644, so rootless engines can read the spec).
    """
    from cdikit.spec.encode import write_spec_data

    return write_spec_data(path, data, mode=mode, if_changed=True)
