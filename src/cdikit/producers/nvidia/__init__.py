"""NVIDIA GPU spec generation: NVML backends (real + fake), discovery, assembly, refresh.

Import the submodules directly (``cdikit.producers.nvidia.generate``); this package
imports nothing so that ``cdi`` start-up stays cheap.
"""
