"""The hooks a generated spec references, and which binary runs them.

Arguments follow ``nvidia-cdi-hook`` exactly (``create-symlinks --link T::L``,
``update-ldcache --folder D``, ``enable-cuda-compat --host-driver-version=V``,
``chmod --mode M --path P``), so a spec works with cdikit's ``cdi-hook`` and with
NVIDIA's binary alike.

With cdikit's own ``cdi-hook``, consecutive hooks of one edits group are
joined into one ``cdi-hook chain STEP -- STEP ...`` hook (:func:`chain_hooks`):
the same steps, in the same order, with the same confinement, but one
process start per container instead of one per step. And a device whose
hooks only link to its own device nodes (the ``/dev/dri/by-path`` links of a
GPU: ``../card1::/dev/dri/by-path/pci-...-card``) gets no hook of its own:
one ``create-symlinks --if-target-exists`` step at the end of the spec's
chain makes those links for every device, each only when its target node is
in the container, which it is exactly when the device was injected
(:func:`hoist_device_links`). A container with N GPUs then runs one hook
process instead of N + 1, the links made after every spec-level step as
before. NVIDIA's binaries know neither ``chain`` nor ``--if-target-exists``,
so their hooks stay one per step, where the reference puts them.

Every hook carries an explicit environment, ``PATH`` plus the reference's
``NVIDIA_CTK_DEBUG=false`` (runc gives a hook without ``env`` the
*container's* environment), and a ``timeout`` (runc kills a hook that runs
longer and fails the container, instead of hanging it): see
:mod:`cdikit._isolation`.
"""

from __future__ import annotations

import os
import posixpath

from cdikit._isolation import HOOK_ENV, HOOK_TIMEOUT
from cdikit.producers.nvidia._errors import GenerateError
from cdikit.spec.plain import ContainerEdits, Device, Hook, Spec, replace

TYPE_CHECKING = False  # not typing's (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "HOOK_NAMES",
    "HookFactory",
    "chain_hooks",
    "chain_spec_hooks",
    "hoist_device_links",
    "resolve_hook_path",
]

HOOK_NAMES = (
    "create-symlinks",
    "enable-cuda-compat",
    "update-ldcache",
    "chmod",
    "disable-device-node-modification",
    "update-application-profile",
)


def resolve_hook_path(hook_path: str | None) -> str:
    """The hook binary recorded in the spec.

    Absolute paths are kept verbatim (the hook runs on the host that uses the spec,
    not necessarily this one). A bare name (default: cdikit's ``cdi-hook``) is
    looked up first beside the running program (``sys.argv[0]``'s directory, then
    the interpreter's ``bin``: the ``cdi-hook`` installed with this cdikit, even
    under a systemd ``PATH`` that lacks it), then in ``PATH``, and falls back to
    ``/usr/bin/NAME``. Callers warn when the result does not exist.
    """
    if hook_path and os.path.isabs(hook_path):
        return hook_path
    name = os.path.basename(hook_path) if hook_path else "cdi-hook"
    for directory in _program_dirs():
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    from cdikit._paths import which

    found = which(name)
    return os.path.abspath(found) if found else f"/usr/bin/{name}"


def _program_dirs() -> list[str]:
    """Where the running program and its interpreter live (symlinks not followed: a venv stays a venv)."""
    import sys

    dirs = []
    if sys.argv and os.sep in (sys.argv[0] or ""):
        dirs.append(os.path.dirname(os.path.abspath(sys.argv[0])))
    if sys.executable:
        dirs.append(os.path.dirname(os.path.abspath(sys.executable)))
    return list(dict.fromkeys(dirs))


class HookFactory:
    """Builds ``createContainer`` hooks for one hook binary, honouring disabled hooks.

    ``chmod`` is off unless enabled (deprecated upstream). ``make`` returns ``None``
    for a disabled hook, ``symlinks`` also for no links.
    """

    def __init__(self, path: str, disabled: Iterable[str], enabled: Iterable[str]) -> None:
        self.path = path
        self.binary = os.path.basename(path)
        enabled_set = set(enabled)
        if "all" in enabled_set:
            raise GenerateError("enabling all hooks is not supported")
        disabled_set = set(disabled)
        if "chmod" not in enabled_set:
            disabled_set.add("chmod")  # deprecated, off by default (as the reference)
        self.disabled = disabled_set
        self.enabled = enabled_set

    def _off(self, name: str) -> bool:
        if name in self.enabled:
            return False
        return name in self.disabled or "all" in self.disabled

    def make(self, name: str, args: Sequence[str] = ()) -> Hook | None:
        if self._off(name):
            return None
        prefix = [self.binary, "hook"] if self.binary == "nvidia-ctk" else [self.binary]
        return Hook(
            hook_name="createContainer",
            path=self.path,
            args=[*prefix, name, *args],
            env=[*HOOK_ENV, "NVIDIA_CTK_DEBUG=false"],
            timeout=HOOK_TIMEOUT,
        )

    def symlinks(self, links: Sequence[tuple[str, str]]) -> Hook | None:
        if not links:
            return None
        args: list[str] = []
        for target, link in dict.fromkeys(links):
            args += ["--link", f"{target}::{link}"]
        return self.make("create-symlinks", args)


_CHAIN = "chain"  # cdikit.integrations.hooks.CHAIN (producers do not import integrations)
# NVIDIA's hook binaries: they do not know `chain`.
_NVIDIA_HOOK_BINARIES = ("nvidia-cdi-hook", "nvidia-ctk")


def _chainable(hook: Hook) -> bool:
    binary = os.path.basename(hook.path)
    args = hook.args or []
    return (
        binary not in _NVIDIA_HOOK_BINARIES
        and hook.hook_name == "createContainer"
        and len(args) >= 2
        and args[0] == binary
        and args[1] != _CHAIN
        and not args[1].startswith("-")
    )


def _group(hook: Hook) -> tuple[object, ...]:
    """Hooks that may share one chain: same binary, same env, all with or all without a timeout."""
    return (hook.path, hook.env, hook.timeout is None)


def _steps(hook: Hook) -> list[str]:
    return list((hook.args or [])[1:])


def chain_hooks(hooks: Sequence[Hook]) -> list[Hook]:
    """``hooks`` with each run of consecutive chainable hooks (same binary, env, timeout) as one chain."""
    out: list[Hook] = []
    run: list[Hook] = []

    def flush() -> None:
        if len(run) == 1:
            out.append(run[0])
        elif run:
            first = run[0]
            args = [first.args[0], _CHAIN] if first.args else [_CHAIN]
            for i, hook in enumerate(run):
                args += ([] if i == 0 else ["--"]) + _steps(hook)
            # The chain gets the time its steps had together.
            timeout = None if first.timeout is None else sum(h.timeout or 0 for h in run)
            out.append(
                Hook(hook_name=first.hook_name, path=first.path, args=args, env=first.env, timeout=timeout)
            )
        run.clear()

    for hook in hooks:
        if run and not (_chainable(hook) and _group(hook) == _group(run[0])):
            flush()
        if _chainable(hook):
            run.append(hook)
        else:
            out.append(hook)
    flush()
    return out


def _chain_edits(edits: ContainerEdits | None) -> ContainerEdits | None:
    if edits is None or not edits.hooks or len(edits.hooks) < 2:
        return edits
    return replace(edits, hooks=chain_hooks(edits.hooks))


_IF_TARGET_EXISTS = "--if-target-exists"  # cdi-hook create-symlinks: only links whose target exists


def _own_node_links(device: Device) -> tuple[tuple[object, ...], list[str]] | None:
    """The hook group and ``--link`` values of a device whose hooks only link to its own nodes.

    ``None`` when the device has any other hook, a hook of NVIDIA's binary, or
    a link whose target (taken from the link's directory) is not one of the
    device's ``deviceNodes``.
    """
    edits = device.container_edits
    if edits is None or not edits.hooks:
        return None
    nodes = {node.path for node in edits.device_nodes or []}
    group = _group(edits.hooks[0])
    links: list[str] = []
    for hook in edits.hooks:
        steps = _steps(hook)
        if not _chainable(hook) or _group(hook) != group or steps[0] != "create-symlinks":
            return None
        flags = steps[1:]
        if len(flags) % 2:
            return None
        for flag, value in zip(flags[::2], flags[1::2], strict=True):
            target, sep, link = value.partition("::")
            if flag != "--link" or not sep or not target or not link or "::" in link:
                return None
            if posixpath.normpath(posixpath.join(posixpath.dirname(link), target)) not in nodes:
                return None
            links.append(value)
    return group, links


def hoist_device_links(spec: Spec) -> Spec:
    """``spec`` with its devices' links to their own nodes made by one conditional spec-level step.

    Each device whose hooks only create symlinks to the device's own nodes
    loses them; the spec's edits get one ``create-symlinks --if-target-exists``
    hook with all of those links, last (device hooks run after the spec's).
    Devices of another hook binary or environment than the first such device
    keep their hooks.
    """
    group: tuple[object, ...] | None = None
    template: Hook | None = None
    links: dict[str, None] = {}
    devices = list(spec.devices or [])
    for i, device in enumerate(devices):
        own = _own_node_links(device)
        if own is None or (group is not None and own[0] != group):
            continue
        assert device.container_edits is not None and device.container_edits.hooks
        if template is None:
            group, template = own[0], device.container_edits.hooks[0]
        links.update(dict.fromkeys(own[1]))
        devices[i] = replace(device, container_edits=replace(device.container_edits, hooks=None))
    if template is None:
        return spec
    args = [(template.args or [])[0], "create-symlinks", _IF_TARGET_EXISTS]
    for value in links:
        args += ["--link", value]
    step = Hook(
        hook_name=template.hook_name,
        path=template.path,
        args=args,
        env=template.env,
        timeout=template.timeout,
    )
    common = spec.container_edits or ContainerEdits()
    common = replace(common, hooks=[*(common.hooks or []), step])
    return replace(spec, devices=devices, container_edits=common)


def chain_spec_hooks(spec: Spec) -> Spec:
    """``spec`` with its devices' own-node links hoisted and the hooks of each edits group chained."""
    spec = hoist_device_links(spec)
    devices = [replace(dev, container_edits=_chain_edits(dev.container_edits)) for dev in spec.devices or []]
    return replace(
        spec,
        devices=devices if spec.devices is not None else None,
        container_edits=_chain_edits(spec.container_edits),
    )
