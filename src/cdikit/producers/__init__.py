"""Spec producers: generators that discover devices on a host and build CDI specs.

``cdikit.producers.nvidia`` builds NVIDIA GPU specs (the ``nvidia-ctk cdi generate``
equivalent) and keeps them current (the refresh service).
"""
