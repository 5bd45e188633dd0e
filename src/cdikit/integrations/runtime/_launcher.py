"""The fast launcher of ``cdi-runtime``: ``cdi-runtime --install-launcher PATH``.

An engine runs its runtime for every ``create``, ``start``, ``state``,
``kill`` and ``delete``, so the shim's start-up is paid many times per
container. A console script starts Python with ``site`` (every ``.pth`` file
of the environment is processed: tens of milliseconds in a busy virtualenv)
and pip's wrapper imports ``re``. The launcher written here starts the same
interpreter with ``-I -S`` instead (spelled ``-IS``: the kernel passes a
shebang's arguments as one word):

* ``-S``: no ``site``; the launcher puts the directories that ``site`` would
  have added (the ones holding cdikit and its dependencies, as found when the
  launcher is installed) on ``sys.path`` itself;
* ``-I``: isolated, so ``PYTHONPATH``, ``PYTHONHOME``, the user site and the
  working directory of the engine cannot change what code the runtime runs.

Re-install it after moving or upgrading the Python environment.

What :func:`install_launcher` writes is a ``/bin/sh`` script
(:mod:`._shlauncher`) in front of that interpreter: passthrough commands and
creates whose ``config.json`` cannot hold a request exec the runtime without
starting Python at all. :func:`launcher_script` is the Python-only launcher
(its shebang lines longer than the kernel accepts, or with spaces, get a
``/bin/sh`` trampoline instead).
"""

from __future__ import annotations

import os
import sys

from cdikit.integrations.runtime._errors import ShimError

__all__ = ["INSTALL_FLAG", "install_launcher", "launcher_script", "launcher_sys_path"]

INSTALL_FLAG = "--install-launcher"
# Linux before 5.1 truncates a shebang line at 127 bytes.
_SHEBANG_MAX = 127

_PRINT_PATH = "import sys; print('\\0'.join(sys.path))"


def _interpreter_path(python: str, *flags: str) -> list[str]:
    import subprocess

    try:
        done = subprocess.run(
            [python, *flags, "-c", _PRINT_PATH], capture_output=True, text=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise ShimError(f"cannot ask {python} for its import path: {e}") from e
    return [p for p in done.stdout.rstrip("\n").split("\0") if p]


def launcher_sys_path(python: str | None = None) -> list[str]:
    """What the launcher must append to the ``-I -S`` import path of ``python``.

    The directories ``site`` adds in isolated mode (site-packages, ``.pth``
    entries such as an editable install), in ``site``'s order, plus the one
    holding this cdikit if it is elsewhere (``PYTHONPATH``, user site).
    """
    python = python or sys.executable
    bare = set(_interpreter_path(python, "-I", "-S"))
    extra = [p for p in _interpreter_path(python, "-I") if p not in bare]
    # This file is <dir>/cdikit/integrations/runtime/_launcher.py.
    here = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    if here not in extra and here not in bare:
        extra.append(here)
    return list(dict.fromkeys(extra))


def launcher_script(python: str, path_entries: list[str]) -> str:
    """The text of a launcher running ``cdi-runtime`` on ``python`` with ``path_entries``."""
    body = (
        "# cdi-runtime launcher, written by `cdi-runtime --install-launcher` (cdikit).\n"
        "# -I -S: no site processing, no PYTHON* variables, no user site: the path is fixed here.\n"
        "import sys\n"
        f"sys.path.extend({path_entries!r})\n"
        "from cdikit.integrations.runtime import main\n"
        "sys.exit(main())\n"
    )
    shebang = f"#!{python} -IS"
    if len(shebang) <= _SHEBANG_MAX and not any(c.isspace() for c in python):
        return f"{shebang}\n{body}"
    import shlex

    # sh runs the exec line; Python sees a string expression and skips it (pip's trick).
    return f"#!/bin/sh\n'''exec' {shlex.quote(python)} -IS \"$0\" \"$@\"\n' '''\n{body}"


def _front_script(python: str, entries: list[str]) -> str:
    from cdikit.integrations.runtime._shlauncher import find_grep, sh_launcher_script

    return sh_launcher_script(python, entries, find_grep())


def install_launcher(path: str, *, python: str | None = None) -> str:
    """Write the launcher to ``path`` (atomically, mode 0755) and check that it imports; returns the path."""
    python = os.path.abspath(python or sys.executable)
    entries = launcher_sys_path(python)
    script = _front_script(python, entries)
    check = f"import sys; sys.path.extend({entries!r}); import cdikit.integrations.runtime, cdikit.registry"
    import subprocess

    try:
        subprocess.run([python, "-I", "-S", "-c", check], capture_output=True, check=True, timeout=60)
    except subprocess.CalledProcessError as e:
        reason = e.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise ShimError(f"{python} -IS cannot import cdikit with the computed path: {reason[0]}") from e
    except (OSError, subprocess.SubprocessError) as e:
        raise ShimError(f"cannot run {python}: {e}") from e
    from cdikit.errors import CDIError
    from cdikit.spec._atomic import atomic_write

    path = os.path.abspath(path)
    try:
        atomic_write(path, script.encode(), mode=0o755)
    except (CDIError, OSError) as e:
        raise ShimError(f"cannot write launcher {path}: {e}", path=path) from e
    return path


def install_main(args: list[str]) -> int:
    """``cdi-runtime --install-launcher PATH`` (``args`` without argv[0])."""
    flag, _, inline = args[0].partition("=")
    rest = args[1:]
    target = inline or (rest.pop(0) if rest else "")
    if flag != INSTALL_FLAG or not target or rest:
        sys.stderr.write(f"usage: cdi-runtime {INSTALL_FLAG} PATH\n")
        return 2
    try:
        written = install_launcher(target)
    except ShimError as e:
        sys.stderr.write(f"cdi-runtime: {e}\n")
        return 1
    sys.stdout.write(
        f"wrote {written}\nuse it as the engine's runtime path, e.g. "
        f"`cdi configure docker --runtime-path {written}`\n"
    )
    return 0
