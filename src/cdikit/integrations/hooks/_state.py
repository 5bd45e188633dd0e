"""Finding the container root filesystem from the OCI state a runtime passes to a hook.

Runtimes write the OCI state JSON (``ociVersion``, ``id``, ``pid``,
``bundle``, ...) on a hook's stdin. crun adds a non-standard ``root``; runc
does not, so the root comes from ``<bundle>/config.json`` ``root.path``
(relative to the bundle when not absolute).
"""

from __future__ import annotations

import os

from cdikit.integrations.hooks._errors import HookError

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from typing import Any

__all__ = ["container_root_from_spec", "container_root_from_state"]


def _load_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        from cdikit._cjson import loads  # json's C scanner without json's import of re

        doc = loads(data)
    except ValueError as e:
        raise HookError(f"{what} is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise HookError(f"{what} is not a JSON object")
    return doc


def container_root_from_spec(config_path: str) -> str:
    """``root.path`` of an OCI runtime spec file, made absolute against its directory."""
    try:
        with open(config_path, "rb") as f:
            doc = _load_json(f.read(), config_path)
    except OSError as e:
        raise HookError(f"cannot read {config_path}: {e.strerror}", path=config_path) from e
    root = doc.get("root")
    path = root.get("path") if isinstance(root, dict) else None
    if not isinstance(path, str) or not path:
        raise HookError(f"{config_path} has no root.path", path=config_path, field="root.path")
    return os.path.join(os.path.dirname(os.path.abspath(config_path)), path)


def container_root_from_state(state: bytes) -> str:
    """The container root for the OCI state JSON ``state`` (a hook's stdin)."""
    doc = _load_json(state, "OCI state on stdin")
    root = doc.get("root")
    if isinstance(root, str) and root:
        return root
    bundle = doc.get("bundle")
    if not isinstance(bundle, str) or not bundle:
        raise HookError("OCI state on stdin has no bundle", field="bundle")
    return container_root_from_spec(os.path.join(bundle, "config.json"))
