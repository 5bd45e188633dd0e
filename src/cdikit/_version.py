"""The cdikit version: one home, read by the package, the caches and the build (pyproject ``dynamic``)."""

__version__ = "0.1.0"
