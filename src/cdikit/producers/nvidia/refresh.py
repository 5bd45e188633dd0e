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
COHERENT_FLAG = "enable-coherent-annotations"
SPLIT_INFIXES = (".coherent", ".noncoherent")
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
    from cdikit._atomic import atomic_remove
    from cdikit.producers.output import encode, format_for_path, with_infix, write_if_changed

    # The coherent split files (enable-coherent-annotations) live and go with the main spec.
    split = [with_infix(output, i) for i in SPLIT_INFIXES] if COHERENT_FLAG in options.features() else []
    try:
        result = generate(options)
    except CDIError as exc:
        removed = False
        if remove_when_driver_gone and isinstance(exc, DriverNotFoundError):
            for path in [output, *split]:
                if os.path.exists(path):
                    atomic_remove(path)
                    removed = True
        return RefreshOutcome(written=False, removed=removed, error=str(exc))
    written = False
    wanted = {with_infix(output, infix): spec for infix, spec in [("", result.spec), *result.extra_specs]}
    for path, spec in wanted.items():
        written = write_if_changed(path, encode(spec, format_for_path(output, fmt))) or written
    for path in split:
        if path not in wanted and os.path.exists(path):
            atomic_remove(path)  # no GPU of that coherence any more: its spec goes
            written = True
    return RefreshOutcome(written=written, result=result)


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
    backend_factory: BackendFactory | None = None,
    on_refresh: Callable[[RefreshOutcome, str], None] | None = None,
) -> None:
    """Refresh now, then whenever the driver or the MIG layout changes, until ``stop`` is set.

    NVML is polled from the driver root's ``libnvidia-ml.so.1`` unless ``backend_factory`` says otherwise.
    """
    stop = stop or threading.Event()
    if backend_factory is None:
        from cdikit.producers.nvidia.discover import nvml_library

        library = nvml_library(options.host_view())
        backend_factory = lambda: open_backend(library=library)  # noqa: E731
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
