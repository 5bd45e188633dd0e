"""The NVIDIA Container Toolkit's ``config.toml``: the few keys cdikit honours.

``nvidia-ctk cdi generate`` takes its driver root from ``nvidia-container-cli.root``
when neither ``--driver-root`` nor ``NVIDIA_CTK_DRIVER_ROOT`` is given, and
``nvidia-container-runtime`` in ``jit-cdi`` mode reads the same key plus
``nvidia-ctk.path`` and ``nvidia-container-runtime.modes.jit-cdi.*``. The file is
found as the toolkit finds it: ``$NVIDIA_CTK_CONFIG_FILE_PATH``, else
``$XDG_CONFIG_HOME/nvidia-container-runtime/config.toml``, else
``/etc/nvidia-container-runtime/config.toml``. A missing file means defaults; a
file that is not valid TOML is an error naming it (nvidia-ctk silently ignores
it and would then generate for the wrong root).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cdikit.producers.nvidia._errors import GenerateError

__all__ = ["TOOLKIT_CONFIG_ENV", "load_toolkit_config", "toolkit_config_path", "toolkit_setting"]

TOOLKIT_CONFIG_ENV = "NVIDIA_CTK_CONFIG_FILE_PATH"
_RELATIVE = "nvidia-container-runtime/config.toml"


def toolkit_config_path(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    override = env.get(TOOLKIT_CONFIG_ENV)
    if override:
        return override
    return os.path.join(env.get("XDG_CONFIG_HOME") or "/etc", _RELATIVE)


def load_toolkit_config(path: str | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The parsed file (``{}`` when it does not exist)."""
    import tomllib

    path = path or toolkit_config_path(environ)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise GenerateError(f"cannot read NVIDIA toolkit config {path}: {exc.strerror}", path=path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GenerateError(f"NVIDIA toolkit config {path} is not valid TOML: {exc}", path=path) from exc


def toolkit_setting(doc: Mapping[str, Any], key: str) -> Any:
    """The value at the dotted ``key`` (``nvidia-container-cli.root``), ``None`` if absent."""
    node: Any = doc
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
