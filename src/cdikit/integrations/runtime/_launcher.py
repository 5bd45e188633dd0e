"""The fast launcher of ``cdi-runtime``: ``cdi-runtime --install-launcher PATH``.

An engine runs its runtime for every ``create``, ``start``, ``state``,
``kill`` and ``delete``, so the shim's start-up is paid many times per
container. The launcher starts the same interpreter with ``-I -S``: no
``site`` (tens of milliseconds in a busy virtualenv) and no ``PYTHON*``
variables, user site or working directory of the engine steering what code
the runtime runs. How is :mod:`cdikit._isolation`'s (shared with ``cdi-hook``).

What :func:`install_launcher` writes is a ``/bin/sh`` script
(:mod:`._shlauncher`) in front of that interpreter: passthrough commands and
creates whose ``config.json`` cannot hold a request exec the runtime without
starting Python at all. :func:`launcher_script` is the Python-only launcher.
"""

from __future__ import annotations

import sys

from cdikit import _isolation
from cdikit.integrations.runtime._errors import ShimError

__all__ = ["INSTALL_FLAG", "install_launcher", "install_main", "launcher_script", "launcher_sys_path"]

INSTALL_FLAG = _isolation.INSTALL_FLAG
MODULE = "cdikit.integrations.runtime"
launcher_sys_path = _isolation.launcher_sys_path


def launcher_script(python: str, path_entries: list[str]) -> str:
    """The text of a launcher running ``cdi-runtime`` on ``python`` with ``path_entries``."""
    return _isolation.launcher_script(python, path_entries, MODULE, "cdi-runtime")


def _front_script(python: str, entries: list[str]) -> str:
    from cdikit.integrations.runtime._shlauncher import find_grep, sh_launcher_script

    return sh_launcher_script(python, entries, find_grep())


def install_launcher(path: str, *, python: str | None = None) -> str:
    """Write the launcher to ``path`` (atomically, mode 0755) and check that it imports; returns the path."""
    try:
        return _isolation.install_launcher(
            path,
            MODULE,
            "cdi-runtime",
            python=python,
            also_imports=("cdikit.registry",),
            script_for=_front_script,
        )
    except _isolation.LauncherError as e:
        raise ShimError(str(e), path=e.path) from e


def install_main(args: list[str]) -> int:
    """``cdi-runtime --install-launcher PATH`` (``args`` without argv[0])."""
    code = _isolation.install_main(
        args,
        MODULE,
        "cdi-runtime",
        install=lambda target: _isolation.install_launcher(
            target, MODULE, "cdi-runtime", also_imports=("cdikit.registry",), script_for=_front_script
        ),
    )
    if code == 0:
        sys.stdout.write(
            "use it as the engine's runtime path, e.g. `cdi configure docker --runtime-path PATH`\n"
        )
    return code
