"""Lazy package attributes (PEP 562), shared by every package that re-exports heavy modules.

``import cdikit`` must stay cheap for the CLI and the runtime hooks that run on
every container start, so packages map public names to the modules defining
them and load a module only when one of its names is first used.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs more than this whole path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` loading ``name`` from module ``where[name]``.

    Module names starting with ``.`` are relative to ``package``. A loaded value is
    stored in the package namespace, so each name is looked up once.
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib  # only when a lazy name is first used: it pulls in warnings

        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
