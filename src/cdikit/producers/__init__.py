"""Spec producers: generators that discover devices on a host and build CDI specs.

``cdikit.producers.nvidia`` builds NVIDIA GPU specs (the ``nvidia-ctk cdi generate``
equivalent) and keeps them current (the refresh service).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: ``cdi devices`` imports this module
if TYPE_CHECKING:
    from cdikit.requests.ondemand import OnDemandProviders

__all__ = ["default_providers"]


def default_providers() -> OnDemandProviders:
    """The built-in on-demand providers: ``nvidia.com/gpu`` through the NVIDIA generator.

    Producers sit above :mod:`cdikit.requests`, which knows only the provider
    protocol; callers pass this to :class:`cdikit.requests.Resolver`.
    """
    from cdikit.producers.nvidia.ondemand import nvidia_gpu_provider
    from cdikit.requests.ondemand import OnDemandProviders

    providers = OnDemandProviders()
    providers.add(nvidia_gpu_provider())
    return providers
