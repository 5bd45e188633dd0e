"""Processes that start in a hostile environment: the one home of how cdikit isolates them.

``cdi-runtime`` and ``cdi-hook`` run as root at every container start. runc
runs a ``createContainer`` hook that has no ``env`` with the *container's*
process environment, and an engine may start the runtime with anything in
its own. A plain console script (pip's wrapper: ``#!python``, then ``import
re``) lets ``PYTHONPATH``, ``PYTHONHOME``, ``PYTHONUSERBASE``,
``PYTHONSTARTUP``... choose the code it imports before cdikit runs; nothing
cdikit does afterwards can undo that. So:

* **Launchers** (:func:`install_launcher`, behind ``cdi-runtime
  --install-launcher PATH`` and ``cdi-hook --install-launcher PATH``) start
  the interpreter with ``-I -S`` (spelled ``-IS``: the kernel passes a
  shebang's arguments as one word): ``-I`` ignores every ``PYTHON*``
  variable, the user site and the working directory; ``-S`` skips ``site``
  (every ``.pth`` file of the environment: tens of milliseconds in a busy
  virtualenv) and the launcher puts the directories ``site`` would have
  added, as found at install time, on ``sys.path`` itself. Faster *and* safe.
  Re-install after moving or upgrading the Python environment. Shebang lines
  longer than the kernel accepts (or with spaces) get a ``/bin/sh``
  trampoline instead.
* **Hook environments**: every hook cdikit writes into a spec or injects
  into a container carries :data:`HOOK_ENV` (``PATH`` and nothing else) and
  :data:`HOOK_TIMEOUT`, so runc never hands it the container's environment
  (``LD_PRELOAD``, ``LD_LIBRARY_PATH`` reach the dynamic loader before any
  interpreter flag can help). ``cdi lint`` flags hooks without ``env``.
* **Belt and braces**: a hook started the unsafe way anyway (console script,
  container environment) re-executes itself isolated with :data:`SAFE_ENV`
  (:func:`reexec_isolated`) before doing any work, and every program cdikit
  runs from a hook gets :data:`SAFE_ENV`.
"""

from __future__ import annotations

import os
import sys

from cdikit.errors import CDIError

TYPE_CHECKING = False  # not typing's: hooks and the shim import this module
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "HOOK_ENV",
    "HOOK_TIMEOUT",
    "SAFE_ENV",
    "SAFE_PATH",
    "hostile_env",
    "install_launcher",
    "install_main",
    "launcher_script",
    "launcher_sys_path",
    "reexec_isolated",
]

SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SAFE_ENV = {"PATH": SAFE_PATH}
HOOK_ENV = ("PATH=" + SAFE_PATH,)
HOOK_TIMEOUT = 30  # seconds; runc kills a hook that runs longer and fails the container
INSTALL_FLAG = "--install-launcher"
# Variables that steer an interpreter or the dynamic loader before any code of ours runs.
_HOSTILE_PREFIXES = ("PYTHON", "LD_", "GCONV_PATH", "MALLOC_", "GLIBC_TUNABLES", "HOSTALIASES", "LOCPATH")
# Linux before 5.1 truncates a shebang line at 127 bytes.
_SHEBANG_MAX = 127

_PRINT_PATH = "import sys; print('\\0'.join(sys.path))"


class LauncherError(CDIError):
    """A launcher could not be computed, checked or written."""


def hostile_env(environ: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    """The names in ``environ`` (default: this process's) that could steer an interpreter or loader."""
    env = os.environ if environ is None else environ
    return sorted(k for k in env if k.startswith(_HOSTILE_PREFIXES))


def reexec_isolated(module: str) -> None:
    """Re-execute this process as ``python -I -S`` running ``module``'s ``main`` with :data:`SAFE_ENV`.

    Returns (does nothing) when already isolated with a clean environment.
    Standard input and the arguments are kept. This cannot undo what a
    hostile ``PYTHONPATH`` did before it ran; it keeps everything after it
    (the hook's work, the programs it runs) clean.
    """
    if sys.flags.isolated and sys.flags.no_site and not hostile_env():
        return
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the dir holding cdikit/
    code = f"import sys; sys.path.append({here!r}); from {module} import main; sys.exit(main())"
    os.execve(sys.executable, [sys.executable, "-I", "-S", "-c", code, *sys.argv[1:]], SAFE_ENV)


def _interpreter_path(python: str, *flags: str) -> list[str]:
    import subprocess

    try:
        done = subprocess.run(
            [python, *flags, "-c", _PRINT_PATH],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=SAFE_ENV,
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise LauncherError(f"cannot ask {python} for its import path: {e}") from e
    return [p for p in done.stdout.rstrip("\n").split("\0") if p]


def launcher_sys_path(python: str | None = None) -> list[str]:
    """What a launcher must append to the ``-I -S`` import path of ``python``.

    The directories ``site`` adds in isolated mode (site-packages, ``.pth``
    entries such as an editable install), in ``site``'s order, plus the one
    holding this cdikit if it is elsewhere (``PYTHONPATH``, user site).
    """
    python = python or sys.executable
    bare = set(_interpreter_path(python, "-I", "-S"))
    extra = [p for p in _interpreter_path(python, "-I") if p not in bare]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # <dir>/cdikit/_isolation.py
    if here not in extra and here not in bare:
        extra.append(here)
    return list(dict.fromkeys(extra))


def launcher_script(python: str, path_entries: list[str], module: str, name: str) -> str:
    """The text of a launcher running ``module``'s ``main()`` on ``python`` with ``path_entries``."""
    body = (
        f"# {name} launcher, written by `{name} {INSTALL_FLAG}` (cdikit).\n"
        "# -I -S: no site processing, no PYTHON* variables, no user site: the path is fixed here.\n"
        "import sys\n"
        f"sys.path.extend({path_entries!r})\n"
        f"from {module} import main\n"
        "sys.exit(main())\n"
    )
    shebang = f"#!{python} -IS"
    if len(shebang) <= _SHEBANG_MAX and not any(c.isspace() for c in python):
        return f"{shebang}\n{body}"
    import shlex

    # sh runs the exec line; Python sees a string expression and skips it (pip's trick).
    # sh itself is started by the kernel: it is the spec's env (HOOK_ENV) that keeps LD_* out.
    return f"#!/bin/sh\n'''exec' {shlex.quote(python)} -IS \"$0\" \"$@\"\n' '''\n{body}"


def install_launcher(
    path: str,
    module: str,
    name: str,
    *,
    python: str | None = None,
    also_imports: tuple[str, ...] = (),
    script_for: Callable[[str, list[str]], str] | None = None,
) -> str:
    """Write a launcher of ``module`` to ``path`` (atomically, mode 0755), check that it imports.

    ``also_imports``: modules the program loads later that must import too.
    ``script_for(python, path_entries)``: the launcher's text, when not :func:`launcher_script`'s.
    """
    python = os.path.abspath(python or sys.executable)
    entries = launcher_sys_path(python)
    script = script_for(python, entries) if script_for else launcher_script(python, entries, module, name)
    check = f"import sys; sys.path.extend({entries!r}); import {', '.join((module, *also_imports))}"
    import subprocess

    try:
        subprocess.run(
            [python, "-I", "-S", "-c", check], capture_output=True, check=True, timeout=60, env=SAFE_ENV
        )
    except subprocess.CalledProcessError as e:
        reason = e.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise LauncherError(f"{python} -IS cannot import cdikit with the computed path: {reason[0]}") from e
    except (OSError, subprocess.SubprocessError) as e:
        raise LauncherError(f"cannot run {python}: {e}") from e
    from cdikit._atomic import atomic_write

    path = os.path.abspath(path)
    try:
        atomic_write(path, script.encode(), mode=0o755)
    except (CDIError, OSError) as e:
        raise LauncherError(f"cannot write launcher {path}: {e}", path=path) from e
    return path


def install_main(
    args: list[str], module: str, name: str, *, install: Callable[[str], str] | None = None
) -> int:
    """``NAME --install-launcher PATH`` (``args`` without argv[0]); ``install(PATH)`` writes it, if given."""
    flag, _, inline = args[0].partition("=")
    rest = args[1:]
    target = inline or (rest.pop(0) if rest else "")
    if flag != INSTALL_FLAG or not target or rest:
        sys.stderr.write(f"usage: {name} {INSTALL_FLAG} PATH\n")
        return 2
    try:
        written = install(target) if install else install_launcher(target, module, name)
    except LauncherError as e:
        sys.stderr.write(f"{name}: {e}\n")
        return 1
    sys.stdout.write(f"wrote {written}\n")
    return 0
