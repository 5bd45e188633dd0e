"""Keep a generated NVIDIA spec current (``cdikit-refresh``, ``cdi generate nvidia --watch``).

One refresh = generate, encode, and write atomically *only when the bytes differ*,
so an unchanged host causes no spec-dir churn and a reader never sees a torn file.

The watch loop regenerates when

* the driver changes: inotify on the driver library dirs, the binary dirs, the
  kernel's ``modules.dep`` dir and ``/dev`` (install, upgrade, removal, module load);
* the MIG layout (or the GPU set) changes: NVML is polled every ``interval``
  seconds and a fingerprint of driver version, GPU and MIG UUIDs and GI/CI ids is
  compared -- the reference refresh units miss MIG reconfiguration entirely.

Without inotify the same loop still works: each poll also compares the mtimes of
the watched directories.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cdikit.errors import CDIError
from cdikit.producers.nvidia.generate import DriverNotFoundError, GenerateOptions, GenerateResult, generate
from cdikit.producers.nvidia.nvml import NvmlBackend, NvmlError, open_backend
from cdikit.producers.watch import ChangeWaiter, mtimes

__all__ = [
    "DEFAULT_OUTPUT",
    "RefreshOutcome",
    "fingerprint",
    "refresh_once",
    "watch",
    "watched_paths",
]

DEFAULT_OUTPUT = "/var/run/cdi/nvidia.yaml"
BackendFactory = Callable[[], NvmlBackend]


@dataclass
class RefreshOutcome:
    written: bool
    removed: bool = False
    result: GenerateResult | None = None
    error: str | None = None


def fingerprint(backend_factory: BackendFactory = open_backend) -> str:
    """A digest of what NVML reports (driver, GPUs, MIG devices); ``"no-nvml"`` when absent."""
    try:
        backend = backend_factory()
    except NvmlError:
        return "no-nvml"
    try:
        parts = [backend.driver_version() or ""]
        for g in backend.gpus():
            parts.append(f"{g.index}|{g.uuid}|{g.minor}|{g.pci_bus_id}|{int(g.mig_enabled)}")
            parts += [
                f"  {m.index}|{m.uuid}|{m.gpu_instance_id}|{m.compute_instance_id}" for m in g.mig_devices
            ]
    except NvmlError:
        return "nvml-error"
    finally:
        backend.close()
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def refresh_once(
    options: GenerateOptions,
    output: str,
    *,
    fmt: str | None = None,
    remove_when_driver_gone: bool = False,
) -> RefreshOutcome:
    """Generate and write ``output`` if its content changed.

    With ``remove_when_driver_gone``, a generation that fails because the driver is
    absent removes ``output``: a spec for GPUs whose driver was uninstalled only makes
    containers fail later and more confusingly.
    """
    from cdikit.producers.output import encode, format_for_path, write_if_changed

    try:
        result = generate(options)
    except CDIError as exc:
        removed = False
        if remove_when_driver_gone and isinstance(exc, DriverNotFoundError) and os.path.exists(output):
            from cdikit._atomic import atomic_remove

            atomic_remove(output)
            removed = True
        return RefreshOutcome(written=False, removed=removed, error=str(exc))
    data = encode(result.spec, format_for_path(output, fmt))
    return RefreshOutcome(written=write_if_changed(output, data), result=result)


def watched_paths(options: GenerateOptions) -> list[str]:
    """Host directories whose changes mean "the driver was installed, upgraded or removed"."""
    view = options.host_view()
    root = view.driver_root
    dirs = [root.host(d) for d in view.library_dirs()]
    dirs += [root.host(d) for d in ("/usr/bin", "/usr/lib/wsl/lib")]
    dirs += [f"/lib/modules/{view.kernel_release}", view.dev_root.host("/dev")]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def watch(
    options: GenerateOptions,
    output: str,
    *,
    fmt: str | None = None,
    interval: float = 10.0,
    stop: threading.Event | None = None,
    backend_factory: BackendFactory = open_backend,
    on_refresh: Callable[[RefreshOutcome, str], None] | None = None,
) -> None:
    """Refresh now, then whenever the driver or the MIG layout changes, until ``stop`` is set."""
    stop = stop or threading.Event()
    paths = watched_paths(options)
    ino = ChangeWaiter(paths)

    def run(reason: str) -> None:
        outcome = refresh_once(options, output, fmt=fmt, remove_when_driver_gone=True)
        if on_refresh is not None:
            on_refresh(outcome, reason)

    try:
        last_fp = fingerprint(backend_factory)
        last_mtimes = mtimes(paths)
        run("start")
        while not stop.is_set():
            event = ino.wait(interval)
            if stop.is_set():
                break
            fp = fingerprint(backend_factory)
            now = mtimes(paths)
            if event or fp != last_fp or now != last_mtimes:
                reason = "driver files changed" if event or now != last_mtimes else "NVML state changed"
                last_fp, last_mtimes = fp, now
                run(reason)
    finally:
        ino.close()
