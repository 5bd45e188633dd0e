"""The ``nvidia.com/gpu`` on-demand provider (:mod:`cdikit.requests`' protocol, BuildKit's NVIDIA setup).

The requests layer knows only :class:`~cdikit.requests.OnDemandProvider`; the
callers (``cdi request``, ``cdi devices``) register this one from above through
:func:`cdikit.producers.default_providers`.
"""

from __future__ import annotations

import os

from cdikit.requests.ondemand import OnDemandProvider

TYPE_CHECKING = False  # not typing's: `cdi devices` builds this provider on every listing
if TYPE_CHECKING:
    from cdikit.producers.nvidia.generate import GenerateOptions
    from cdikit.producers.nvidia.nvml import NvmlBackend
    from cdikit.spec.types import Spec

__all__ = ["NVIDIA_GPU_KIND", "nvidia_gpu_provider"]

NVIDIA_GPU_KIND = "nvidia.com/gpu"
# Equal to cdikit.producers.nvidia.nvml.FAKE_NVML_ENV (a test checks it); not imported
# from there because ``cdi devices`` asks every provider whether it is available, and
# importing the NVML module would add to the start-up of every listing.
_FAKE_NVML_ENV = "CDIKIT_FAKE_NVML"


def nvidia_gpu_provider(
    options: GenerateOptions | None = None, *, backend: NvmlBackend | None = None
) -> OnDemandProvider:
    """The ``nvidia.com/gpu`` provider: the NVIDIA generator with ``options`` (default: the host).

    Available when a backend is given, ``CDIKIT_FAKE_NVML`` selects the fake
    NVML, or the driver is loaded (``<proc_root>/proc/driver/nvidia/version``, the
    precondition BuildKit's NVIDIA setup checks; ``proc_root`` is the root holding
    ``/proc``, as everywhere in :class:`~cdikit.producers.nvidia.generate.GenerateOptions`).
    """

    def available() -> bool:
        proc_root = options.proc_root if options is not None else "/"
        return (
            backend is not None
            or bool(os.environ.get(_FAKE_NVML_ENV))
            or os.path.exists(os.path.join(proc_root, "proc/driver/nvidia/version"))
        )

    def generate() -> Spec:
        # Deferred: the generator (and NVML bindings) cost start-up time nobody else pays.
        from cdikit.producers.nvidia.generate import GenerateOptions, generate

        return generate(options or GenerateOptions(), backend=backend).spec

    return OnDemandProvider(NVIDIA_GPU_KIND, generate, available)
