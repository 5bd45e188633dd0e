"""``cdi-runtime``: an OCI runtime wrapper that injects CDI devices, then execs runc/crun.

The engine calls ``cdi-runtime`` exactly as it would call runc. On ``create``
and ``run`` the shim reads the bundle's ``config.json``, collects the CDI
requests (annotations, ``CDI_DEVICES``, ``NVIDIA_VISIBLE_DEVICES``), injects
them through :class:`cdikit.registry.Registry` and writes ``config.json``
back; then, as for every other subcommand, it replaces itself with the real
runtime, passing the command line through unchanged.

Every other subcommand (``state``, ``start``, ``kill``, ``delete``, ...) is
on the hot path of the engine: it imports only this module, the argv reader
and the tiny config reader, then execs.

``cdi-runtime --install-launcher PATH`` writes a launcher that starts the
shim without Python's ``site`` processing; engines should run that one
(:mod:`cdikit.integrations.runtime._launcher`).
"""

from __future__ import annotations

import os
import sys

from cdikit.integrations.runtime._argv import parse_command_line
from cdikit.integrations.runtime._config import find_runtime, read_runtime_setting
from cdikit.integrations.runtime._errors import ShimError

__all__ = ["main"]


# runc's own help and version spellings (global, before any subcommand).
_INFO_ARGS = frozenset({"--help", "-h", "help", "h", "--version", "-v"})


def _print_info(flag: str) -> None:
    """cdikit's line first, then the real runtime prints its own (help or version)."""
    from cdikit._version import __version__

    if flag in ("--version", "-v"):
        sys.stdout.write(f"cdi-runtime (cdikit) {__version__}\n")
    else:
        sys.stdout.write(
            f"cdi-runtime (cdikit {__version__}): an OCI runtime that injects the CDI devices a container\n"
            "requests (cdi.k8s.io/ annotations, CDI_DEVICES, NVIDIA_VISIBLE_DEVICES) on create/run, then\n"
            "runs the real runtime with the same command line. Config: /etc/cdikit/runtime.toml\n"
            "($CDIKIT_RUNTIME_CONFIG; see docs/runtime-config.md). The real runtime's help follows.\n\n"
        )
    sys.stdout.flush()


def _fail(message: str) -> int:
    sys.stderr.write(f"cdi-runtime: {message}\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run the shim; returns an exit status only when it could not exec the runtime."""
    argv = list(sys.argv if argv is None else argv)
    args = argv[1:]
    self_path = argv[0] if argv and os.path.sep in argv[0] else None
    if args and args[0].startswith("--install-launcher"):
        # Not a runc flag: cdikit's own, to write the fast launcher (see _launcher.py).
        from cdikit.integrations.runtime._launcher import install_main

        return install_main(args)
    try:
        cmd = parse_command_line(args)
    except ShimError as e:
        return _fail(str(e))
    if cmd.injects:
        # Slow path: only create/run pay for the registry and TOML imports.
        from cdikit.integrations.runtime._config import load_config
        from cdikit.integrations.runtime._log import ShimLog
        from cdikit.integrations.runtime._shim import prepare_bundle

        log = ShimLog(runtime_log=cmd.log_path, runtime_log_format=cmd.log_format, runtime_debug=cmd.debug)
        try:
            cfg = load_config()
            log = ShimLog(
                log_file=cfg.log_file,
                level="debug" if cmd.debug else cfg.log_level,
                runtime_log=cmd.log_path,
                runtime_log_format=cmd.log_format,
                runtime_debug=cmd.debug,
            )
            prepare_bundle(cmd, cfg, log)
            runtime = find_runtime(cfg.runtimes, self_path=self_path)
        except ShimError as e:
            log.error(str(e))
            return _fail(str(e))
        except Exception as e:  # an unexpected bug must still fail the create, loudly
            log.error(f"internal error: {type(e).__name__}: {e}")
            return _fail(f"internal error: {type(e).__name__}: {e}")
        log.debug(f"exec {runtime} {' '.join(args)}")
    else:
        try:
            runtime = find_runtime(read_runtime_setting(), self_path=self_path)
        except ShimError as e:
            return _fail(str(e))
    if args[:1] and args[0] in _INFO_ARGS:
        _print_info(args[0])
    try:
        os.execv(runtime, [runtime, *args])
    except OSError as e:
        return _fail(f"cannot exec {runtime}: {e.strerror}")
    return 1  # pragma: no cover - execv does not return
