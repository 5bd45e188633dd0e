"""``cdi-hook``: OCI hooks that CDI specs can reference, confined to the container root.

Usage (the runtime passes the OCI state JSON on stdin)::

    cdi-hook [--debug] [--quiet] create-symlinks --link TARGET::LINK [--link ...]
                                 [--if-target-exists]
    cdi-hook update-ldcache --folder DIR [--folder ...] [--ldconfig-path PATH]
    cdi-hook chmod --mode MODE --path PATH [--path ...]
    cdi-hook enable-cuda-compat --host-driver-version V [--host-cuda-version V]
                                [--cuda-compat-container-root DIR]
    cdi-hook disable-device-node-modification
    cdi-hook update-application-profile
    cdi-hook chain STEP [-- STEP ...]      several of the above, in order, in one process

Subcommand and flag names match NVIDIA's ``nvidia-cdi-hook``, so specs made
by either tool work with either binary. Like it, an unknown subcommand only
warns and exits 0 (a spec written for a newer hook never blocks a container),
while a known subcommand with a bad flag is an error. Every subcommand also
takes ``--container-spec FILE`` to read ``root.path`` from that OCI spec
instead of the state on stdin (handy for tests and manual runs).

The argument parser is hand-written: hooks run on every container start and
argparse alone costs more than a hook's work.

``chain`` (cdikit's own; specs that cdikit generates for ``cdi-hook`` use it)
runs several hooks in order in one process, each exactly as it would run
alone (same parsing, same confinement to the container root, the OCI state
read once from stdin): ``cdi-hook chain create-symlinks --link A::B --
update-ldcache --folder /usr/lib64``. Every step is parsed before the first
one runs; the first failing step fails the chain, as the first failing hook
fails the container. ``--`` separates steps wherever a flag could start (a
flag's value is never a separator); an unknown step is skipped with a warning.

``create-symlinks --if-target-exists`` (cdikit's own, too) makes only the
links whose ``TARGET`` exists in the container, as ``test -e`` sees it from
the link's directory: a device's ``/dev/dri/by-path`` links then need no hook
of the device's own, one step of the spec's chain makes them for the device
nodes the container was given.

Install it as a launcher (``cdi-hook --install-launcher /usr/local/bin/cdi-hook``):
an isolated ``python -I -S`` that no ``PYTHON*`` variable of the container
can steer, and faster than pip's console script. Started with such
variables anyway (a spec hook without ``env`` gets the container's
environment from runc), the hook first re-executes itself isolated with a
clean environment (see :mod:`cdikit._isolation`). Every hook also runs under
resource limits (address space, CPU time).
"""

from __future__ import annotations

import os
import sys

from cdikit.errors import CDIError
from cdikit.integrations.hooks._errors import HookError

TYPE_CHECKING = False  # not typing's: hooks run on every container start
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CHAIN", "HookError", "chain_steps", "main", "parse_hook_args"]

# subcommand -> {flag: repeatable?}
_COMMON = {"container-spec": False}
_FLAGS: dict[str, dict[str, bool]] = {
    "create-symlinks": {"link": True, **_COMMON},
    "update-ldcache": {"folder": True, "ldconfig-path": False, **_COMMON},
    "chmod": {"mode": False, "path": True, **_COMMON},
    "enable-cuda-compat": {
        "host-driver-version": False,
        "host-cuda-version": False,
        "cuda-compat-container-root": False,
        **_COMMON,
    },
    # --nvidia-params: the host params file to read (tests; default /proc/driver/nvidia/params)
    "disable-device-node-modification": {"nvidia-params": False, **_COMMON},
    "update-application-profile": dict(_COMMON),
}
# subcommand -> its flags that take no value (``--name``, or ``--name=BOOL`` as Go's flag package)
_SWITCHES: dict[str, frozenset[str]] = {"create-symlinks": frozenset({"if-target-exists"})}
_BOOL_GLOBALS = frozenset({"debug", "d", "quiet", "q"})
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})  # Go's strconv.ParseBool
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


class HookArgs:
    """A parsed ``cdi-hook`` command line."""

    __slots__ = ("command", "debug", "info", "options", "quiet")

    def __init__(self) -> None:
        self.command: str | None = None
        self.info: str | None = None  # "help" or "version": print it instead of running a hook
        self.options: dict[str, list[str]] = {}
        self.debug = os.environ.get("NVIDIA_CTK_DEBUG", "").lower() in ("1", "true")
        self.quiet = os.environ.get("NVIDIA_CTK_QUIET", "").lower() in ("1", "true")

    def one(self, name: str) -> str | None:
        values = self.options.get(name)
        return values[-1] if values else None

    def switch(self, name: str) -> bool:
        return self.one(name) == "true"


def parse_hook_args(args: list[str]) -> HookArgs:
    """Parse the command line (without argv[0]); raises HookError for a bad flag of a known hook."""
    parsed = HookArgs()
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name = args[i].lstrip("-").split("=", 1)[0]
        if name in ("debug", "d"):
            parsed.debug = True
        elif name in ("quiet", "q"):
            parsed.quiet = True
        elif name in ("help", "h"):
            parsed.info = "help"
        elif name == "version":
            parsed.info = "version"
        i += 1
    if args[:1] == ["hook"] or args[i : i + 1] == ["hook"]:  # `nvidia-ctk hook <name>` spelling
        i += 1
    if i >= len(args):
        return parsed
    parsed.command = args[i]
    flags = _FLAGS.get(parsed.command)
    if flags is None:
        return parsed
    i += 1
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-") or arg in ("-", "--"):
            raise HookError(f"{parsed.command}: unexpected argument {arg!r}")
        name, sep, value = arg.lstrip("-").partition("=")
        if name in ("help", "h"):
            parsed.info = "help"
            i += 1
            continue
        if name in _BOOL_GLOBALS:
            parsed.debug = parsed.debug or name in ("debug", "d")
            parsed.quiet = parsed.quiet or name in ("quiet", "q")
            i += 1
            continue
        if name in _SWITCHES.get(parsed.command, ()):
            if sep and value not in _TRUE and value not in _FALSE:
                raise HookError(f"{parsed.command}: flag --{name} takes true or false, not {value!r}")
            parsed.options[name] = ["true" if not sep or value in _TRUE else "false"]
            i += 1
            continue
        if name not in flags:
            raise HookError(f"{parsed.command}: unknown flag --{name}")
        if not sep:
            if i + 1 >= len(args):
                raise HookError(f"{parsed.command}: flag --{name} needs a value")
            i += 1
            value = args[i]
        values = parsed.options.setdefault(name, [])
        if values and not flags[name]:
            values[:] = [value]  # last one wins, as with Go's flag package
        else:
            values.append(value)
        i += 1
    return parsed


_STATE: list[bytes] = []  # the OCI state, read from stdin once (a chain's steps share it)
# The container root of each source ("" for the state on stdin, else a --container-spec file),
# found once per run: with a bundle, that is reading and decoding its config.json (tens of KB).
_ROOTS: dict[str, str] = {}


def _info_text(parsed: HookArgs) -> str:
    """``--version``, or the usage: of every hook, or of the one named (``cdi-hook chmod --help``)."""
    from cdikit._version import __version__

    if parsed.info == "version":
        return f"cdi-hook (cdikit) {__version__}\n"
    if parsed.command in _FLAGS:
        flags = " ".join(
            [f"--{f} VALUE" + (" [...]" if many else "") for f, many in _FLAGS[parsed.command].items()]
            + [f"[--{f}]" for f in sorted(_SWITCHES.get(parsed.command, ()))]
        )
        return f"usage: cdi-hook [--debug] [--quiet] {parsed.command} {flags}\n"
    doc = __doc__ or ""
    usage = doc[doc.index("Usage") :].split("\n\n", 2)[1] if "Usage" in doc else ""
    return (
        "usage: cdi-hook [--debug] [--quiet] HOOK [FLAGS]   (the OCI state JSON on stdin)\n\n"
        f"hooks (names and flags as NVIDIA's nvidia-cdi-hook):\n{usage}\n\n"
        "An unknown hook only warns and exits 0; a known hook with a bad flag exits 1.\n"
        f"cdi-hook --version: cdikit {__version__}\n"
    )


def _root_path(parsed: HookArgs) -> str:
    from cdikit.integrations.hooks._state import container_root_from_spec, container_root_from_state

    spec = parsed.one("container-spec") or ""
    root = _ROOTS.get(spec)
    if root is None:
        if spec:
            root = container_root_from_spec(spec)
        else:
            if not _STATE:
                _STATE.append(sys.stdin.buffer.read())
            root = container_root_from_state(_STATE[0])
        _ROOTS[spec] = root
    return root


def _run(parsed: HookArgs, warn: Callable[[str], None]) -> None:
    from cdikit._rootfs import ContainerRoot

    command = parsed.command
    if parsed.info is not None or command == "help":
        sys.stdout.write(_info_text(parsed))
        return
    if command == "create-symlinks":
        from cdikit.integrations.hooks._symlinks import create_symlinks, parse_link_spec

        links = parsed.options.get("link", [])
        for link in links:
            parse_link_spec(link)  # refuse bad specs before touching anything
        with ContainerRoot(_root_path(parsed)) as root:
            create_symlinks(root, links, if_target_exists=parsed.switch("if-target-exists"))
    elif command == "update-ldcache":
        from cdikit.integrations.hooks._ldcache import update_ldcache

        with ContainerRoot(_root_path(parsed)) as root:
            update_ldcache(
                root,
                parsed.options.get("folder", []),
                ldconfig=parsed.one("ldconfig-path") or "/sbin/ldconfig",
            )
    elif command == "chmod":
        from cdikit.integrations.hooks._chmod import chmod_paths, parse_mode

        mode_text = parsed.one("mode")
        paths = [p for p in parsed.options.get("path", []) if p]
        if mode_text is None:
            raise HookError("chmod: --mode is required", field="--mode")
        if not paths:
            raise HookError("chmod: at least one --path is required", field="--path")
        mode = parse_mode(mode_text)
        with ContainerRoot(_root_path(parsed)) as root:
            chmod_paths(root, mode, paths)
    elif command == "enable-cuda-compat":
        from cdikit.integrations.hooks._cudacompat import enable_cuda_compat

        driver = parsed.one("host-driver-version")
        cuda = parsed.one("host-cuda-version")
        if not driver and not cuda:
            return  # nothing to decide from: a no-op, as in the reference
        with ContainerRoot(_root_path(parsed)) as root:
            enable_cuda_compat(
                root,
                host_driver_version=driver,
                host_cuda_version=cuda,
                compat_root=parsed.one("cuda-compat-container-root") or "/usr/local/cuda/compat",
            )
    elif command == "disable-device-node-modification":
        from cdikit.integrations.hooks._devicefiles import HOST_PARAMS, disable_device_node_modification

        with ContainerRoot(_root_path(parsed)) as root:
            disable_device_node_modification(root, parsed.one("nvidia-params") or HOST_PARAMS)
    elif command == "update-application-profile":
        from cdikit.integrations.hooks._appprofile import update_application_profile

        with ContainerRoot(_root_path(parsed)) as root:
            update_application_profile(root, warn)
    elif command == "noop":
        return
    elif command is None:
        warn("no hook specified (cdi-hook --help lists them)")
    else:
        warn(f"unsupported hook {command!r}: ignored")


CHAIN = "chain"


def chain_steps(args: list[str]) -> list[list[str]] | None:
    """The steps of a ``chain`` command line, each a complete hook command line; None if not a chain.

    Global flags before ``chain`` (``--debug``, ``--quiet``) apply to every step.
    """
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 1
    if args[i : i + 1] == ["hook"]:
        i += 1
    if args[i : i + 1] != [CHAIN]:
        return None
    common, rest = args[:i], args[i + 1 :]
    steps: list[list[str]] = []
    step: list[str] = []
    j = 0
    while j < len(rest):
        arg = rest[j]
        j += 1
        if arg == "--":
            steps.append(step)
            step = []
            continue
        step.append(arg)
        flags = _FLAGS.get(step[0], {})
        name, sep, _ = arg.lstrip("-").partition("=")
        if len(step) > 1 and arg.startswith("-") and name in flags and not sep and j < len(rest):
            step.append(rest[j])  # the flag's value, whatever it looks like
            j += 1
    steps.append(step)
    return [[*common, *s] for s in steps]


def _parse_chain(steps: list[list[str]]) -> list[HookArgs]:
    parsed = [parse_hook_args(step) for step in steps]
    for p in parsed:
        if p.command is None:
            raise HookError("chain: empty step")
        if p.command == CHAIN:
            raise HookError("chain: a chain cannot hold a chain")
    return parsed


# The hook's own limits: far above what any hook needs, far below what hurts the node.
_LIMITS = (("RLIMIT_AS", 2 << 30), ("RLIMIT_CPU", 120))


def _limit_resources() -> None:
    import resource

    for name, value in _LIMITS:
        which = getattr(resource, name)
        hard = resource.getrlimit(which)[1]
        if hard == resource.RLIM_INFINITY or hard > value:
            hard = value
        try:
            resource.setrlimit(which, (hard, hard))
        except (ValueError, OSError):
            pass


# The variables of the env cdikit's specs give their hooks (cdikit._isolation.HOOK_ENV and the
# reference's NVIDIA_CTK_*): none can steer the interpreter, so with only these the hook does
# not even load the check (tests/integrations/test_hooks_isolation.py holds them to it).
_SPEC_ENV = frozenset({"PATH", "NVIDIA_CTK_DEBUG", "NVIDIA_CTK_QUIET"})


def _quiet_requested(args: list[str]) -> bool:
    if os.environ.get("NVIDIA_CTK_QUIET", "").lower() in ("1", "true"):
        return True
    return any(a.partition("=")[0] in ("--quiet", "-quiet", "-q", "--q") for a in args)


def main(argv: list[str] | None = None) -> int:
    """Run one hook (or a chain of them); 0 on success (or an unknown hook), 1 on failure.

    Without ``argv`` (the hook process itself: the launcher, the console script)
    it never returns: it flushes its output and ends the process with the exit
    status, skipping the interpreter's teardown (a few milliseconds of a hook's
    budget, spent freeing what the exit frees anyway).
    """
    if argv is not None:
        return _main(list(argv), own_process=False)
    code = _main(sys.argv[1:], own_process=True)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or 120  # output lost (a closed pipe): as the interpreter's own exit says it
    os._exit(code)


def _main(args: list[str], *, own_process: bool) -> int:
    _ROOTS.clear()  # one run, one container (in-process callers run many)
    if args[:1] and args[0].partition("=")[0] == "--install-launcher":
        from cdikit._isolation import install_main

        return install_main(args, __name__, "cdi-hook")
    if own_process and not _SPEC_ENV.issuperset(os.environ):
        from cdikit._isolation import hostile_env, reexec_isolated

        hostile = hostile_env()
        if hostile:
            if not _quiet_requested(args):
                sys.stderr.write(
                    f"cdi-hook: warning: started with {', '.join(hostile)} in its environment (a hook "
                    "without env gets the container's): restarting isolated; install the launcher "
                    "(cdi-hook --install-launcher PATH) and give the hook an env\n"
                )
            reexec_isolated(__name__)
    if own_process:
        # Only as its own process: a caller that runs hooks in-process (tests, a chain in a
        # long-lived program) keeps its own limits (2 GiB of address space starves its threads).
        _limit_resources()
    quiet = False

    def warn(message: str) -> None:
        if not quiet:
            sys.stderr.write(f"cdi-hook: warning: {message}\n")

    try:
        steps = chain_steps(args)
        if steps is not None:
            chain = _parse_chain(steps)
            quiet = any(p.quiet for p in chain)
            for step in chain:
                _run(step, warn)
            return 0
        parsed = parse_hook_args(args)
        quiet = parsed.quiet
        _run(parsed, warn)
    except CDIError as e:  # HookError, and RootfsError from cdikit._rootfs
        sys.stderr.write(f"cdi-hook: error: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"cdi-hook: error: {e}\n")
        return 1
    return 0
