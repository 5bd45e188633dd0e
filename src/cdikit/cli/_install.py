"""``cdi install systemd``: write the NVIDIA refresh units with this installation's real paths.

The unit templates ship in the wheel (``cdikit/producers/nvidia/units``) with
``@bindir@`` where the program lives; this command fills it in with the
directory of the ``cdikit-refresh`` that belongs to this cdikit (the one beside
the running program or interpreter: a venv's ``bin`` as well as ``/usr/bin``),
so ``systemd-analyze verify`` finds every ``ExecStart=`` binary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from cdikit.cli._common import EXIT_OK, UsageError
from cdikit.cli._output import emit

__all__ = ["cmd_install_systemd", "render_units"]

_UNITS = ("cdikit-refresh.service", "cdikit-refresh.path", "cdikit-refresh-watch.service")
_UDEV_RULE = "99-cdikit-nvidia-refresh.rules"
_ENV_EXAMPLE = "nvidia-refresh.env"


def _template(name: str) -> str:
    from importlib.resources import files

    return files("cdikit.producers.nvidia").joinpath("units", name).read_text(encoding="utf-8")


def _default_bindir() -> str:
    """Where this cdikit's ``cdikit-refresh`` is: beside the program, then the interpreter, then PATH."""
    candidates = []
    if sys.argv and os.sep in (sys.argv[0] or ""):
        candidates.append(os.path.dirname(os.path.abspath(sys.argv[0])))
    candidates.append(os.path.dirname(os.path.abspath(sys.executable)))
    for directory in candidates:
        if os.access(os.path.join(directory, "cdikit-refresh"), os.X_OK):
            return directory
    found = shutil.which("cdikit-refresh")
    if found:
        return os.path.dirname(os.path.abspath(found))
    raise UsageError("cannot find the cdikit-refresh program of this installation: give --prefix or --bindir")


def render_units(bindir: str, systemctl: str = "/usr/bin/systemctl") -> dict[str, str]:
    """``{relative destination: content}`` of every file to install (units, udev rule, env example)."""
    files = {f"systemd/system/{name}": _template(name) for name in _UNITS}
    files[f"udev/rules.d/{_UDEV_RULE}"] = _template(_UDEV_RULE)
    files[f"cdikit/{_ENV_EXAMPLE}"] = _template(_ENV_EXAMPLE)
    return {
        path: text.replace("@bindir@", bindir.rstrip("/") or "/").replace("@systemctl@", systemctl)
        for path, text in files.items()
    }


def cmd_install_systemd(args: argparse.Namespace) -> int:
    if args.bindir:
        bindir = os.path.abspath(args.bindir)
    elif args.prefix:
        bindir = os.path.join(os.path.abspath(args.prefix), "bin")
    else:
        bindir = _default_bindir()
    for program in ("cdikit-refresh", "cdi-hook"):
        if not os.access(os.path.join(bindir, program), os.X_OK):
            sys.stderr.write(
                f"cdi: warning: {bindir}/{program} does not exist (yet): the units will fail until it does\n"
            )
    systemctl = shutil.which("systemctl") or "/usr/bin/systemctl"
    root = os.path.abspath(args.root) if args.root else "/"
    written = []
    for rel, text in render_units(bindir, systemctl).items():
        # /etc/systemd/system, /etc/udev/rules.d, /etc/cdikit: the administrator's directories.
        target = os.path.join(root, "etc", rel)
        if rel.startswith("cdikit/") and os.path.exists(target):
            continue  # the env file holds the administrator's settings: never overwritten
        written.append(target)
        if args.dry_run:
            continue
        from cdikit._atomic import atomic_write

        atomic_write(target, text.encode(), mode=0o644)
    data = {"bindir": bindir, "written": written, "dryRun": bool(args.dry_run)}
    verb = "would write" if args.dry_run else "wrote"
    text = "".join(f"{verb} {path}\n" for path in written)
    if not args.dry_run and root == "/":
        text += (
            "next: systemctl daemon-reload && udevadm control --reload\n"
            "      systemctl enable --now cdikit-refresh.path cdikit-refresh.service   (driver changes)\n"
            "   or systemctl enable --now cdikit-refresh-watch.service                 (MIG changes too)\n"
        )
    emit(data, args.output or "table", text)
    return EXIT_OK
