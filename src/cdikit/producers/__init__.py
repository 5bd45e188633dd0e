"""Spec producers: generators that discover devices on a host and build CDI specs.

``cdikit.producers.nvidia`` builds NVIDIA GPU specs (the ``nvidia-ctk cdi generate``
equivalent) and keeps them current (the refresh service).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: ``cdi devices`` imports this module
if TYPE_CHECKING:
    from cdikit.requests.ondemand import OnDemandProvider, OnDemandProviders
    from cdikit.spec.types import Spec

__all__ = ["default_providers", "vendor_providers"]


def default_providers() -> OnDemandProviders:
    """The built-in on-demand providers: NVIDIA, AMD and Intel GPUs and Intel Gaudi.

    Producers sit above :mod:`cdikit.requests`, which knows only the provider
    protocol; callers pass this to :class:`cdikit.requests.Resolver`.
    """
    from cdikit.producers.nvidia.ondemand import nvidia_gpu_provider
    from cdikit.requests.ondemand import OnDemandProviders

    providers = OnDemandProviders()
    providers.add(nvidia_gpu_provider())
    for provider in vendor_providers():
        providers.add(provider)
    return providers


def vendor_providers(root: str = "/") -> list[OnDemandProvider]:
    """``amd.com/gpu``, ``intel.com/gpu`` and ``intel.com/gaudi``, generated from ``root``.

    Each is available when its driver is bound (a ``stat`` or a directory
    listing: ``cdi devices`` asks every provider); the generator module loads
    only when a request needs the spec.
    """
    from cdikit.producers import _drivers
    from cdikit.requests.ondemand import OnDemandProvider

    def amd_spec() -> Spec:
        from cdikit.producers import amd

        return amd.generate(root)

    def amd_available() -> bool:
        return _drivers.amd_present(root)

    def intel_spec() -> Spec:
        from cdikit.producers import intel

        return intel.generate_gpus(root)

    def intel_available() -> bool:
        return _drivers.pci_bound(root, _drivers.INTEL_GPU_DRIVERS)

    def gaudi_spec() -> Spec:
        from cdikit.producers import intel

        return intel.generate_gaudi(root)

    def gaudi_available() -> bool:
        return _drivers.pci_bound(root, (_drivers.GAUDI_DRIVER,))

    return [
        OnDemandProvider("amd.com/gpu", amd_spec, amd_available),
        OnDemandProvider("intel.com/gpu", intel_spec, intel_available),
        OnDemandProvider("intel.com/gaudi", gaudi_spec, gaudi_available),
    ]
