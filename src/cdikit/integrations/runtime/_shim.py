"""The ``create``/``run`` path: inject the requested CDI devices into the bundle.

Everything happens on an in-memory copy of ``config.json``; the file is
replaced (atomically, keeping its mode) only once injection has succeeded, so
any failure leaves the bundle exactly as the engine wrote it. The copy keeps
every number as written (:mod:`cdikit._rawjson`: a ``1e999`` runc accepted
must not come back as ``Infinity``), so only what is injected changes.

Injected hooks without ``env`` get ``PATH`` as their whole environment, and
without ``timeout`` cdikit's hook timeout: runc would otherwise run them with
the container's own environment (``LD_PRELOAD``, ``PYTHONPATH``...) as root,
with no time limit (see :mod:`cdikit._isolation`).
"""

from __future__ import annotations

import os

from cdikit.errors import CDIError, RegistryError, UnresolvableDevicesError
from cdikit.integrations.runtime._argv import RuntimeCommand
from cdikit.integrations.runtime._config import DEFAULT_CONFIG_PATH, RuntimeConfig
from cdikit.integrations.runtime._errors import ShimError
from cdikit.integrations.runtime._log import ShimLog
from cdikit.integrations.runtime._requests import DeviceRequests, collect_requests

# typing is not needed at run time (and costs milliseconds on every container start).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from cdikit.registry import Registry
    from cdikit.spec.types import ContainerEdits

__all__ = ["inject_bundle", "prepare_bundle"]

# Legacy NVIDIA prestart hooks that would inject the same GPUs a second time.
_LEGACY_NVIDIA_HOOKS = frozenset({"nvidia-container-runtime-hook", "nvidia-container-toolkit"})


def _read_raw(path: str) -> tuple[bytes, int]:
    try:
        with open(path, "rb") as f:
            return f.read(), os.fstat(f.fileno()).st_mode & 0o7777
    except OSError as e:
        raise ShimError(f"cannot read bundle config {path}: {e.strerror}", path=path) from e


def container_requests(doc: Mapping[str, Any], cfg: RuntimeConfig) -> DeviceRequests:
    """What the container of ``doc`` asks for, under ``cfg``'s sources and request policy."""
    return collect_requests(
        doc,
        annotation_prefixes=cfg.annotation_prefixes,
        env_var=cfg.env_var,
        nvidia_env_var=cfg.nvidia_env_var,
        amd_env_var=cfg.amd_env_var,
        default_kind=cfg.default_kind,
        accept_env_unprivileged=cfg.accept_env_unprivileged,
        accept_volume_mounts=cfg.accept_volume_mounts,
    )


def may_request(raw: bytes, cfg: RuntimeConfig) -> bool:
    """False only when ``raw`` (a config.json) certainly holds no CDI request.

    Most containers request nothing; for them this byte search spares the
    JSON parse (and the import of ``json``, which loads ``re``). Every source
    needs its key verbatim in the file (an annotation prefix, ``VAR=`` in
    the env), unless JSON escapes disguise it: then the answer is True.
    """
    if b"\\u" in raw or b"\\/" in raw:
        return True
    needles = [p.encode() for p in cfg.annotation_prefixes if p]
    needles += [f"{var}=".encode() for var in (cfg.env_var, cfg.nvidia_env_var, cfg.amd_env_var) if var]
    if cfg.nvidia_env_var:
        needles.append(b"CUDA_VERSION=")  # legacy images: unset NVIDIA_VISIBLE_DEVICES means all
    if cfg.accept_volume_mounts:
        needles.append(b"/nvidia-container-devices")
    return any(needle in raw for needle in needles)


def _parse_config(path: str, raw: bytes) -> dict[str, Any]:
    from cdikit._rawjson import loads

    try:
        doc = loads(raw)
    except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than Python's stack
        raise ShimError(f"bundle config {path} is not valid JSON: {e}", path=path) from e
    if not isinstance(doc, dict):
        raise ShimError(f"bundle config {path} is not a JSON object", path=path)
    return doc


def _write_config(path: str, doc: dict[str, Any], mode: int) -> None:
    # Atomic (no reader ever sees half a file) but not fsync'ed: a bundle does not survive a
    # reboot, and two fsyncs cost more than the rest of a warm start on a busy disk.
    from cdikit._atomic import atomic_write
    from cdikit._rawjson import dumps

    data = dumps(doc)

    try:
        atomic_write(path, data, mode=mode, make_parents=False, durable=False)
    except (OSError, CDIError) as e:
        raise ShimError(f"cannot write bundle config {path}: {e}", path=path) from e


def _expand_requests(registry: Registry, names: Sequence[str]) -> list[str]:
    """Kind-only, ``=*`` and class-alias requests to names: :func:`cdikit.requests.expand_names`.

    That module loads only when such a request appears (the container start path).
    """
    if not any(n.partition("=")[1] == "" or n.partition("=")[2] == "*" for n in names):
        return list(dict.fromkeys(names))
    from cdikit.requests.resolve import expand_names

    return expand_names(registry, names)


def _drop_legacy_nvidia_hooks(doc: dict[str, Any], log: ShimLog) -> None:
    hooks = doc.get("hooks")
    if not isinstance(hooks, dict) or not isinstance(hooks.get("prestart"), list):
        return
    kept = [
        h
        for h in hooks["prestart"]
        if not (isinstance(h, dict) and os.path.basename(str(h.get("path", ""))) in _LEGACY_NVIDIA_HOOKS)
    ]
    if len(kept) != len(hooks["prestart"]):
        log.info("removed the legacy NVIDIA prestart hook (devices come from CDI)")
        hooks["prestart"] = kept


def inject_bundle(
    doc: dict[str, Any], requests: DeviceRequests, cfg: RuntimeConfig, log: ShimLog
) -> list[str]:
    """Inject ``requests`` into the OCI spec ``doc`` in place; returns the injected names.

    The edits come from the edit cache when the spec dirs are unchanged since
    the same requests were last resolved (no registry, no spec parsing), else
    from the registry, and are then applied the same way.
    """
    from cdikit.integrations.runtime._editcache import Resolution, edit_views, open_edit_cache, plain_edits

    optional = sorted(requests.optional)
    jit = _jit_ids(requests)  # JIT-CDI: generated now, nothing to cache by spec dirs
    cache = open_edit_cache(cfg.spec_dirs) if jit is None else None
    edits: Sequence[ContainerEdits]
    hit = cache.lookup(requests.names, optional) if cache is not None else None
    if hit is not None:
        if hit.warning:
            log.warning(hit.warning)
        log.debug(f"edits of {', '.join(hit.names) or 'nothing'} from the edit cache")
        names, edits = hit.names, edit_views(hit.edits)
    else:
        names, edits, warning = _resolve(requests, cfg, log) if jit is None else (*_jit(jit, doc, log), None)
        plain = plain_edits(edits)
        if cache is not None and plain is not None:
            cache.store(requests.names, optional, Resolution(names, plain, warning))
    if not names:
        return []
    _check_allowed_kinds(names, requests, cfg)
    _drop_legacy_nvidia_hooks(doc, log)  # whatever the source: it would inject GPUs a second time
    from cdikit.oci import inject_edits

    hooks = doc.get("hooks")
    before = {k: len(v) for k, v in hooks.items() if isinstance(v, list)} if isinstance(hooks, dict) else {}
    inject_edits(doc, edits)
    _harden_injected_hooks(doc, before)
    return names


def _check_allowed_kinds(names: Sequence[str], requests: DeviceRequests, cfg: RuntimeConfig) -> None:
    """Refuse the container when a device to inject is of a kind ``allowed-kinds`` leaves out.

    Checked on the resolved names, so a kind-only or class-alias request
    cannot reach a kind the operator did not allow.
    """
    from cdikit.integrations.runtime._requests import not_allowed

    refused = not_allowed(names, cfg.allowed_kinds)
    if refused:
        where = cfg.source or DEFAULT_CONFIG_PATH
        raise ShimError(
            f"device {', '.join(refused[:5])}{' ...' if len(refused) > 5 else ''} "
            f"(requested through {requests.source}) is of a kind not in allowed-kinds "
            f"[{', '.join(cfg.allowed_kinds)}] of {where}",
            device=refused[0],
            field="allowed-kinds",
        )


def _jit_ids(requests: DeviceRequests) -> list[str] | None:
    from cdikit.integrations.runtime._jit import split_jit_requests

    return split_jit_requests(requests.names)


def _jit(ids: Sequence[str], doc: dict[str, Any], log: ShimLog) -> tuple[list[str], list[ContainerEdits]]:
    """JIT-CDI (``runtime.nvidia.com/gpu``): edits generated now, no spec file involved."""
    from cdikit.integrations.runtime._jit import jit_edits

    names, edits = jit_edits(ids, doc)
    log.debug(f"generated in memory: {', '.join(names)}")
    return names, edits


def _harden_injected_hooks(doc: dict[str, Any], before: dict[str, int]) -> None:
    """Give the hooks just injected (past ``before``'s lengths) an env and a timeout if they lack one."""
    hooks = doc.get("hooks")
    if not isinstance(hooks, dict):
        return
    from cdikit._isolation import HOOK_ENV, HOOK_TIMEOUT

    for kind, entries in hooks.items():
        if not isinstance(entries, list):
            continue
        for hook in entries[before.get(kind, 0) :]:
            if isinstance(hook, dict):
                if not hook.get("env"):
                    hook["env"] = list(HOOK_ENV)
                if hook.get("timeout") is None:
                    hook["timeout"] = HOOK_TIMEOUT


def _resolve(
    requests: DeviceRequests, cfg: RuntimeConfig, log: ShimLog
) -> tuple[list[str], list[ContainerEdits], str | None]:
    """The names to inject, their edits in the reference's order, and the refresh warning."""
    from cdikit.registry import Registry

    registry = Registry(cfg.spec_dirs, auto_refresh=False)
    warning: str | None = None
    try:
        try:
            registry.refresh()
        except RegistryError as e:
            # As containerd and CRI-O do: a broken spec file must not hide the others.
            warning = f"CDI registry refresh: {e}"
            log.warning(warning)
        names = _expand_requests(registry, requests.names)
        if requests.optional:
            names = [n for n in names if n not in requests.optional or registry.get_device(n) is not None]
        if not names:
            return [], [], warning
        try:
            return names, registry.collect_edits(names), warning
        except UnresolvableDevicesError as e:
            detail = _registry_errors(registry)
            dirs = ", ".join(cfg.spec_dirs) or "(none)"
            raise ShimError(f"{e} (spec dirs: {dirs}){detail}", device=", ".join(e.names)) from e
    finally:
        close = getattr(registry, "close", None)
        if close is not None:
            close()


def _registry_errors(registry: Registry) -> str:
    try:
        errors = registry.get_errors()
    except CDIError:
        return ""
    lines = [f"{path}: {msg}" for path, msgs in sorted(errors.items()) for msg in msgs]
    return ("; spec errors: " + "; ".join(lines)) if lines else ""


def prepare_bundle(cmd: RuntimeCommand, cfg: RuntimeConfig, log: ShimLog) -> None:
    """Inject the CDI devices ``cmd``'s bundle asks for; raise :class:`ShimError` on failure."""
    path = cmd.config_file
    assert path is not None  # set by parse_command_line for injecting subcommands
    raw, mode = _read_raw(path)
    if not may_request(raw, cfg):
        log.debug(f"{path}: no CDI devices requested")
        return
    doc = _parse_config(path, raw)
    requests = container_requests(doc, cfg)
    if requests.ignored:
        log.warning(
            f"{path}: ignoring device requests from the environment of an unprivileged container "
            f"({'; '.join(requests.ignored)}): the image sets the env, and only a container with "
            "CAP_SYS_ADMIN in its bounding set may use it to ask for devices; request devices "
            "with cdi.k8s.io/ annotations, or set accept-env-requests-when-unprivileged = true "
            f"in {cfg.source or DEFAULT_CONFIG_PATH} (see docs/security.md)"
        )
    if not requests:
        log.debug(f"{path}: no CDI devices requested")
        return
    log.info(f"{path}: requested {', '.join(requests.names)} (from {requests.source})")
    try:
        injected = inject_bundle(doc, requests, cfg, log)
    except ShimError:
        raise
    except CDIError as e:
        raise ShimError(f"CDI injection into {path} failed: {e}", path=path, device=e.device) from e
    if not injected:
        log.info(f"{path}: nothing to inject")
        return
    _write_config(path, doc, mode)
    log.info(f"{path}: injected {', '.join(injected)}")
