"""JIT-CDI: the spec for exactly the requested GPUs, generated at container start.

As ``nvidia-container-runtime`` in ``jit-cdi`` mode, requests of the kind
``runtime.nvidia.com/gpu`` (``runtime.nvidia.com/gpu=0``, ``=GPU-…``, ``=1:0``,
``=all``, ``=none``) are not looked up in spec files: the NVIDIA generator runs
in memory for those ids (index names only, no ``all`` device) and its edits
are injected directly, so no spec file is needed on the host. Set
``default-kind = "runtime.nvidia.com/gpu"`` in the shim's config to turn bare
``NVIDIA_VISIBLE_DEVICES`` ids into such requests (nvidia's jit-cdi mode).

The container may also ask for the add-on devices with ``NVIDIA_GDS``,
``NVIDIA_MOFED``, ``NVIDIA_GDRCOPY``, ``NVIDIA_NVSWITCH`` (``=enabled``) and for
IMEX channels with ``NVIDIA_IMEX_CHANNELS`` (ids; ``all`` is ignored, as
nvidia does). Only ids come from the container: the driver root, the hook
binary, feature flags and disabled hooks come from the NVIDIA toolkit's
``config.toml`` (``nvidia-container-cli.root``, ``nvidia-ctk.path``,
``nvidia-container-runtime.modes.jit-cdi.nvcdi-feature-flags`` and
``.nvcdi-disable-hooks``, ``.modes.csv.compat-container-root``), read by the host.
"""

from __future__ import annotations

from cdikit.integrations.runtime._errors import ShimError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from cdikit.spec.types import ContainerEdits

__all__ = ["JIT_KIND", "jit_edits", "split_jit_requests"]

JIT_KIND = "runtime.nvidia.com/gpu"
_PREFIX = JIT_KIND + "="
_GATED = (
    ("NVIDIA_GDS", "gds"),
    ("NVIDIA_MOFED", "mofed"),
    ("NVIDIA_GDRCOPY", "gdrcopy"),
    ("NVIDIA_NVSWITCH", "nvswitch"),
)
_MAX_IDS = 1024  # bounded work whatever the container's env says


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def split_jit_requests(names: Sequence[str]) -> list[str] | None:
    """The ids of ``runtime.nvidia.com/gpu`` requests, or ``None`` when there are none.

    Mixing them with other CDI devices is refused with nvidia's message.
    """
    ids = [n[len(_PREFIX) :] for n in names if n.startswith(_PREFIX)]
    if not ids:
        return None
    if len(ids) != len(names):
        raise ShimError(
            "requesting a CDI device with vendor 'runtime.nvidia.com' is not supported "
            "when requesting other CDI devices"
        )
    return ["none" if i == "" else i for i in ids]


def _env(doc: Mapping[str, Any]) -> Sequence[str]:
    process = doc.get("process")
    env = process.get("env") if isinstance(process, dict) else None
    return env if isinstance(env, list) else []


def _modes(doc: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """The extra add-on modes the container env asks for: ``(mode, ids)``."""
    from cdikit.integrations.runtime._requests import env_lookup

    env = _env(doc)
    out: list[tuple[str, tuple[str, ...]]] = [
        (mode, ("all",)) for var, mode in _GATED if env_lookup(env, var) == "enabled"
    ]
    channels = env_lookup(env, "NVIDIA_IMEX_CHANNELS") or ""
    ids = [c.strip() for c in channels.split(",") if c.strip() and c.strip() != "all"]
    if ids:
        out.append(("imex", tuple(dict.fromkeys(ids))))
    return out


def _settings() -> dict[str, Any]:
    from cdikit.producers.nvidia.toolkit_config import load_toolkit_config, toolkit_setting

    doc = load_toolkit_config()

    def strings(key: str) -> tuple[str, ...]:
        value = toolkit_setting(doc, key)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    root = _string(doc, "nvidia-container-cli.root")
    hook = _string(doc, "nvidia-ctk.path")
    import os

    return {
        # The host's /sys and /proc unless the shim's own environment says otherwise
        # (the generator's CDIKIT_NVIDIA_SYSFS_ROOT / _PROCFS_ROOT; tests, chroots).
        "sys_root": os.environ.get("CDIKIT_NVIDIA_SYSFS_ROOT") or "/",
        "proc_root": os.environ.get("CDIKIT_NVIDIA_PROCFS_ROOT") or "/",
        "driver_root": root or "/",
        "hook_path": hook,
        "csv_compat_container_root": _string(doc, "nvidia-container-runtime.modes.csv.compat-container-root"),
        "feature_flags": strings("nvidia-container-runtime.modes.jit-cdi.nvcdi-feature-flags"),
        "disabled_hooks": strings("nvidia-container-runtime.modes.jit-cdi.nvcdi-disable-hooks"),
    }


def _string(doc: Mapping[str, Any], key: str) -> str | None:
    from cdikit.producers.nvidia.toolkit_config import toolkit_setting

    value = toolkit_setting(doc, key)
    return value if isinstance(value, str) and value else None


def jit_edits(ids: Sequence[str], doc: Mapping[str, Any]) -> tuple[list[str], list[ContainerEdits]]:
    """The device names injected and their edits (spec level first, then each device).

    Raises :class:`ShimError` naming the ids when generation fails (no driver, unknown id).
    """
    if len(ids) > _MAX_IDS:
        raise ShimError(f"too many {JIT_KIND} devices requested ({len(ids)} > {_MAX_IDS})")
    from cdikit.errors import CDIError
    from cdikit.producers.nvidia.generate import GenerateOptions, generate

    settings = _settings()
    wanted = [("auto", tuple(dict.fromkeys(ids))), *_modes(doc)]
    names: list[str] = []
    edits: list[ContainerEdits] = []
    for mode, mode_ids in wanted:
        options = GenerateOptions(
            mode=mode,
            device_ids=mode_ids,
            device_name_strategies=("index",),
            no_all_device=True,
            vendor="runtime.nvidia.com",
            class_="gpu" if mode == "auto" else None,  # add-on modes: their own class (gds, ...)
            **settings,
        )
        try:
            spec = generate(options).spec
        except CDIError as e:
            asked = _short(",".join(mode_ids))  # container-controlled: keep messages bounded
            raise ShimError(
                f"failed to generate the CDI spec for {JIT_KIND}={asked} ({mode} mode): {_short(str(e), 2000)}",
                device=f"{_PREFIX}{asked}",
            ) from e
        if spec.container_edits is not None:
            edits.append(spec.container_edits)
        for device in spec.devices or []:
            names.append(f"{spec.kind}={device.name}")
            edits.append(device.edits)
    return names, edits
