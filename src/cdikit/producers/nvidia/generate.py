"""Build an NVIDIA CDI spec: modes, device selection and naming, hooks, assembly.

``generate(GenerateOptions(...))`` returns a :class:`GenerateResult` holding a
:class:`cdikit.spec.types.Spec` plus everything that was looked for and not found.
The placement of edits (spec level versus per device), hook order and arguments,
sorting and the merged ``all`` device follow ``nvidia-ctk cdi generate`` v1.20;
the deliberate differences are listed in ``docs/nvidia.md``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from cdikit.producers.nvidia import discover as d
from cdikit.producers.nvidia._errors import DiscoveryError, DriverNotFoundError, GenerateError
from cdikit.producers.nvidia._rootfs import Root
from cdikit.producers.nvidia.nvml import GpuRecord, MigRecord, NvmlBackend, NvmlError
from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, Mount, Spec

__all__ = [
    "ADDON_MODES",
    "MODES",
    "DiscoveryError",
    "DriverNotFoundError",
    "GenerateError",
    "GenerateOptions",
    "GenerateResult",
    "default_kind",
    "generate",
    "resolve_hook_path",
]

MODES = ("auto", "nvml", "management", "csv", "wsl", "gds", "mofed", "gdrcopy", "imex", "nvswitch")
ADDON_MODES = ("gds", "mofed", "gdrcopy", "imex", "nvswitch")
NAME_STRATEGIES = ("index", "uuid", "type-index")
HOOK_NAMES = (
    "create-symlinks",
    "enable-cuda-compat",
    "update-ldcache",
    "chmod",
    "disable-device-node-modification",
    "update-application-profile",
)
# Hooks only NVIDIA's hook binary implements; emitted only when the spec names it.
_NVIDIA_ONLY_HOOKS = ("disable-device-node-modification", "update-application-profile")
_NVIDIA_HOOK_BINARIES = ("nvidia-cdi-hook", "nvidia-ctk")

# Each add-on mode gets its own class so its `all` never clashes with the GPU spec's.
_DEFAULT_CLASS = {
    "gds": "gds",
    "mofed": "mofed",
    "gdrcopy": "gdrcopy",
    "nvswitch": "nvswitch",
    "imex": "imex-channel",
}
_RO_OPTIONS = ["ro", "nosuid", "nodev", "rbind", "rprivate"]
_IPC_OPTIONS = ["nosuid", "nodev", "rbind", "rprivate", "noexec"]
_DEFAULT_CSV_FILES = tuple(
    f"/etc/nvidia-container-runtime/host-files-for-container.d/{n}.csv" for n in ("devices", "drivers", "l4t")
)
_SKIPPED_GPU_NAMES = ("DGX Display", "NVIDIA DGX Display")
_MAX_IMEX_CHANNEL = 2**20 - 1


T = TypeVar("T")


@dataclass
class GenerateOptions:
    """Everything ``cdi generate nvidia`` takes (see ``docs/nvidia.md``)."""

    mode: str = "auto"
    device_name_strategies: tuple[str, ...] = ("index", "uuid")
    device_ids: tuple[str, ...] = ("all",)
    no_all_device: bool = False
    driver_root: str = "/"
    dev_root: str | None = None
    sys_root: str = "/"
    proc_root: str = "/"
    library_search_paths: tuple[str, ...] = ()
    hook_path: str | None = None
    ldconfig_path: str | None = None
    vendor: str | None = None
    class_: str | None = None
    spec_version: str | None = None
    csv_files: tuple[str, ...] = ()
    disabled_hooks: tuple[str, ...] = ()
    enabled_hooks: tuple[str, ...] = ()
    kernel_release: str | None = None
    binary_dirs: tuple[str, ...] | None = None
    xdg_data_dirs: tuple[str, ...] | None = None
    fake_device_nodes: bool = False

    def host_view(self) -> d.HostView:
        driver_root = Root(self.driver_root)
        view = d.HostView(
            driver_root=driver_root,
            dev_root=Root(self.dev_root) if self.dev_root else driver_root,
            sys_root=Root(self.sys_root),
            proc_root=Root(self.proc_root),
            library_search_paths=tuple(self.library_search_paths),
            fake_device_nodes=self.fake_device_nodes,
        )
        if self.kernel_release:
            view.kernel_release = self.kernel_release
        if self.binary_dirs is not None:
            view.binary_dirs = tuple(self.binary_dirs)
        else:
            path = [p for p in os.environ.get("PATH", "").split(":") if p.startswith("/")]
            view.binary_dirs = tuple(dict.fromkeys([*path, *d.DEFAULT_BINARY_DIRS]))
        if self.xdg_data_dirs is not None:
            view.xdg_data_dirs = tuple(self.xdg_data_dirs)
        else:
            xdg = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
            view.xdg_data_dirs = tuple(p for p in xdg.split(":") if p.startswith("/"))
        return view


@dataclass
class GenerateResult:
    spec: Spec
    mode: str
    driver_version: str | None
    missing: list[str] = field(default_factory=list)


def default_kind(mode: str, vendor: str | None = None, class_: str | None = None) -> str:
    """``vendor/class`` for a mode: ``nvidia.com/gpu``, add-on modes their own class."""
    return f"{vendor or 'nvidia.com'}/{class_ or _DEFAULT_CLASS.get(mode, 'gpu')}"


def resolve_hook_path(hook_path: str | None) -> str:
    """The hook binary recorded in the spec.

    Absolute paths are kept verbatim (the hook runs on the host that uses the spec,
    not necessarily this one); a bare name is looked up in PATH; the default is
    cdikit's ``cdi-hook``, falling back to ``/usr/bin/cdi-hook``.
    """
    if hook_path and os.path.isabs(hook_path):
        return hook_path
    name = os.path.basename(hook_path) if hook_path else "cdi-hook"
    found = shutil.which(name)
    return os.path.abspath(found) if found else f"/usr/bin/{name}"


# --------------------------------------------------------------------------- hooks


class _HookFactory:
    def __init__(self, path: str, disabled: Iterable[str], enabled: Iterable[str]) -> None:
        self.path = path
        self.binary = os.path.basename(path)
        enabled_set = set(enabled)
        if "all" in enabled_set:
            raise GenerateError("enabling all hooks is not supported")
        disabled_set = set(disabled)
        if "chmod" not in enabled_set:
            disabled_set.add("chmod")  # deprecated, off by default (as the reference)
        if self.binary not in _NVIDIA_HOOK_BINARIES:
            disabled_set.update(h for h in _NVIDIA_ONLY_HOOKS if h not in enabled_set)
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
            env=["NVIDIA_CTK_DEBUG=false"],
        )

    def symlinks(self, links: Sequence[tuple[str, str]]) -> Hook | None:
        if not links:
            return None
        args: list[str] = []
        for target, link in dict.fromkeys(links):
            args += ["--link", f"{target}::{link}"]
        return self.make("create-symlinks", args)


# --------------------------------------------------------------------------- edits helpers


def _ro_mount(root: Root, rel: str, container: str | None = None) -> Mount:
    return Mount(host_path=root.host(rel), container_path=container or rel, options=list(_RO_OPTIONS))


def _gids(nodes: Iterable[DeviceNode]) -> list[int]:
    """Groups a container needs for nodes that are not world read-write (reference rule)."""
    out = set()
    for n in nodes:
        if n.gid and n.file_mode is not None and n.file_mode & 0o006 != 0o006:
            out.add(n.gid)
    return sorted(out)


def _edits(
    env: Sequence[str] = (),
    nodes: Sequence[DeviceNode] = (),
    hooks: Sequence[Hook | None] = (),
    mounts: Sequence[Mount] = (),
    gids: Sequence[int] = (),
) -> ContainerEdits:
    real_hooks = [h for h in hooks if h is not None]
    return ContainerEdits(
        env=list(env) or None,
        device_nodes=list(nodes) or None,
        hooks=real_hooks or None,
        mounts=list(mounts) or None,
        additional_gids=list(gids) or None,
    )


def _ident(item: object) -> bytes | str | int:
    """Identity for deduplication: structs compare as their JSON (as the reference does)."""
    if isinstance(item, msgspec.Struct):
        return msgspec.json.encode(item)
    if isinstance(item, str | int):
        return item
    raise TypeError(f"unexpected edit entry {item!r}")


def _dedupe(items: list[T] | None) -> list[T] | None:
    if not items:
        return None
    seen: dict[bytes | str | int, T] = {}
    for item in items:
        seen.setdefault(_ident(item), item)
    return list(seen.values())


def _depth_key(path: str) -> tuple[int, str]:
    return (os.path.normpath(path).count("/"), path)


def _normalise(e: ContainerEdits) -> ContainerEdits:
    """Deduplicate and sort the way the reference does (nodes/mounts by depth then path)."""
    nodes = _dedupe(e.device_nodes)
    mounts = _dedupe(e.mounts)
    return ContainerEdits(
        env=_dedupe(e.env),
        device_nodes=sorted(nodes, key=lambda n: _depth_key(n.path)) if nodes else None,
        hooks=_dedupe(e.hooks),
        mounts=sorted(mounts, key=lambda m: _depth_key(m.container_path)) if mounts else None,
        additional_gids=sorted(set(e.additional_gids)) if e.additional_gids else None,
    )


def _merge(edits: Iterable[ContainerEdits]) -> ContainerEdits:
    env: list[str] = []
    nodes: list[DeviceNode] = []
    hooks: list[Hook] = []
    mounts: list[Mount] = []
    gids: list[int] = []
    for e in edits:
        env += e.env or []
        nodes += e.device_nodes or []
        hooks += e.hooks or []
        mounts += e.mounts or []
        gids += e.additional_gids or []
    return _normalise(_edits(env, nodes, hooks, mounts, gids))


def _without_common(dev: ContainerEdits, common: ContainerEdits) -> ContainerEdits:
    """Drop device entries already present at spec level, unless that empties the device."""

    def keep(items: list[T] | None, spec_items: Sequence[object] | None) -> list[T] | None:
        if not items:
            return None
        have = {_ident(i) for i in spec_items or ()}
        return [i for i in items if _ident(i) not in have] or None

    slim = ContainerEdits(
        env=keep(dev.env, common.env),
        device_nodes=keep(dev.device_nodes, common.device_nodes),
        hooks=keep(dev.hooks, common.hooks),
        mounts=keep(dev.mounts, common.mounts),
        additional_gids=keep(dev.additional_gids, common.additional_gids),
    )
    return dev if slim.is_empty() else slim


def _assemble(
    kind: str, devices: list[tuple[str, ContainerEdits]], common: ContainerEdits, options: GenerateOptions
) -> Spec:
    common = _normalise(
        ContainerEdits(
            env=[*(common.env or []), "NVIDIA_VISIBLE_DEVICES=void"],
            device_nodes=common.device_nodes,
            hooks=common.hooks,
            mounts=common.mounts,
            additional_gids=common.additional_gids,
        )
    )
    entries: dict[str, ContainerEdits] = {}
    for name, edits in devices:
        entries.setdefault(name, _without_common(_normalise(edits), common))
    only_none = list(entries) == ["none"]
    if not options.no_all_device and "all" not in entries and entries and not only_none:
        entries["all"] = _without_common(_merge(entries.values()), common)
    spec_devices = [Device(name=n, container_edits=entries[n]) for n in sorted(entries)]
    spec = Spec(
        cdi_version="",
        kind=kind,
        devices=spec_devices,
        container_edits=None if common.is_empty() else common,
    )
    return _with_version(spec, options.spec_version)


def _with_version(spec: Spec, requested: str | None) -> Spec:
    from cdikit.spec.version import KNOWN_VERSIONS, minimum_version, version_key

    minimum = minimum_version(spec)
    if requested:
        wanted = requested.removeprefix("v")
        if wanted not in KNOWN_VERSIONS:
            raise GenerateError(f"unknown CDI spec version {requested!r}", field="cdiVersion")
        if version_key(wanted) < version_key(minimum):
            raise GenerateError(
                f"the generated spec needs CDI version {minimum} or later, not {wanted}", field="cdiVersion"
            )
        minimum = wanted
    spec.cdi_version = minimum
    return spec


# --------------------------------------------------------------------------- driver (common) edits


@dataclass
class _DriverFiles:
    version: str
    libs: list[d.LibraryFile]
    lib_dirs: list[str]


def _driver_files(view: d.HostView, version: str | None) -> _DriverFiles:
    version = version or d.driver_version_from_files(view)
    if not version:
        raise DriverNotFoundError(
            f"failed to determine driver version: no NVML and no libcuda.so.<version> below {view.driver_root.path}",
            path=view.driver_root.path,
        )
    libs, lib_dirs = d.driver_libraries(view, version)
    return _DriverFiles(version, libs, lib_dirs)


def _driver_common_edits(
    view: d.HostView, files: _DriverFiles, hooks: _HookFactory, options: GenerateOptions, *, graphics: bool
) -> ContainerEdits:
    root = view.driver_root
    mounts = [_ro_mount(root, lib.path) for lib in files.libs]
    graphics_links: list[tuple[str, str]] = []
    if graphics:
        g_mounts, graphics_links, configs = d.graphics_files(view, files.version, files.lib_dirs)
        lib_paths = {lib.path for lib in files.libs}
        mounts += [_ro_mount(root, p) for p in g_mounts if p not in lib_paths]
        mounts += [_ro_mount(root, host, container) for host, container in configs]
        mounts += [_ro_mount(root, p) for p in d.binaries(view, ("nvidia-xconfig",))]
    mounts += [
        Mount(host_path=root.host(p), container_path=p, options=list(_IPC_OPTIONS))
        for p in d.ipc_sockets(view)
    ]
    mounts += [_ro_mount(root, p) for p in d.firmware(view, files.version)]
    mounts += [_ro_mount(root, p) for p in d.binaries(view)]

    folders = list(
        dict.fromkeys(lib.dir for lib in files.libs if re.fullmatch(r"lib.+\.so(\.[^/]*)?", lib.name))
    )
    ldcache_args = ["--ldconfig-path", options.ldconfig_path] if options.ldconfig_path else []
    for folder in folders:
        ldcache_args += ["--folder", folder]
    hook_list = [
        hooks.symlinks(graphics_links),
        hooks.symlinks(d.library_links(view, files.libs)),
        hooks.make("enable-cuda-compat", [f"--host-driver-version={files.version}"]),
        hooks.make("update-ldcache", ldcache_args) if folders else None,
    ]
    if graphics:
        hook_list += [
            hooks.make("disable-device-node-modification"),
            hooks.make("update-application-profile"),
        ]
    env = ["NVIDIA_CTK_LIBCUDA_DIR=" + ":".join(files.lib_dirs)] if files.lib_dirs else []
    return _edits(env=env, hooks=hook_list, mounts=mounts)


# --------------------------------------------------------------------------- nvml mode


@dataclass
class _Selected:
    gpu: GpuRecord
    mig: MigRecord | None = None


def _names(sel: _Selected, strategies: Sequence[str]) -> list[str]:
    out = []
    for s in strategies:
        if s == "index":
            out.append(str(sel.gpu.index) if sel.mig is None else f"{sel.gpu.index}:{sel.mig.index}")
        elif s == "type-index":
            out.append(f"gpu{sel.gpu.index}" if sel.mig is None else f"mig{sel.gpu.index}:{sel.mig.index}")
        elif s == "uuid":
            uuid = sel.gpu.uuid if sel.mig is None else sel.mig.uuid
            if uuid:
                out.append(uuid)
    return list(dict.fromkeys(out))


def _select(gpus: list[GpuRecord], ids: Sequence[str]) -> list[_Selected] | None:
    """Devices chosen by ``--device-id``; ``None`` means the ``none`` device."""
    ids = [i.strip() for i in ids if i.strip()] or ["all"]
    if "none" in ids:
        if len(ids) > 1:
            raise GenerateError("--device-id none cannot be combined with other device ids")
        return None
    everything = [_Selected(g) for g in gpus if not g.mig_enabled] + [
        _Selected(g, m) for g in gpus if g.mig_enabled for m in g.mig_devices
    ]
    if "all" in ids:
        return everything
    out: list[_Selected] = []
    for ident in ids:
        hit = next((s for s in everything if ident in _names(s, ("index", "uuid", "type-index"))), None)
        if hit is None:
            hit = _match_mig_path(everything, ident)
        if hit is None:
            raise GenerateError(f"unknown device id {ident!r}: no such GPU or MIG device", device=ident)
        if hit not in out:
            out.append(hit)
    return out


def _match_mig_path(candidates: list[_Selected], ident: str) -> _Selected | None:
    """``MIG-GPU-<uuid>/<gi>/<ci>``, the older MIG spelling."""
    m = re.fullmatch(r"MIG-(GPU-[0-9a-fA-F-]+)/(\d+)/(\d+)", ident)
    if not m:
        return None
    for s in candidates:
        if (
            s.mig
            and s.gpu.uuid == m.group(1)
            and (s.mig.gpu_instance_id, s.mig.compute_instance_id) == (int(m.group(2)), int(m.group(3)))
        ):
            return s
    return None


def _gpu_device_edits(
    view: d.HostView, sel: _Selected, hooks: _HookFactory, minors: dict[str, int] | None
) -> ContainerEdits:
    gpu = sel.gpu
    nodes: list[DeviceNode] = []
    parent = d.char_device(view, f"/dev/nvidia{gpu.minor}")
    if parent is None:
        raise GenerateError(f"GPU {gpu.uuid}: device node /dev/nvidia{gpu.minor} not found", device=gpu.uuid)
    nodes.append(parent)
    links: list[tuple[str, str]] = []
    if sel.mig is not None:
        nodes += d.mig_cap_nodes(view, gpu, sel.mig, minors)
    if sel.mig is None or sel.mig.has_graphics:
        drm, links = d.gpu_drm(view, gpu.pci_bus_id)
        nodes += drm
    chmod_dirs = [
        p for p in ("/dev/dri", "/dev/nvidia-caps") if any(n.path.startswith(p + "/") for n in nodes)
    ]
    chmod_args = ["--mode", "755"]
    for p in chmod_dirs:
        chmod_args += ["--path", p]
    return _edits(
        nodes=nodes,
        hooks=[hooks.symlinks(links), hooks.make("chmod", chmod_args) if chmod_dirs else None],
        gids=_gids(nodes),
    )


def _nvml_devices(
    view: d.HostView, backend: NvmlBackend, options: GenerateOptions, hooks: _HookFactory
) -> list[tuple[str, ContainerEdits]]:
    gpus = [g for g in backend.gpus() if g.name not in _SKIPPED_GPU_NAMES]
    selected = _select(gpus, options.device_ids)
    if selected is None:
        return [("none", _edits(env=["NVCT_EMPTY_DEVICE="]))]
    minors = d.load_mig_minors(view) if any(s.mig for s in selected) else None
    out = []
    for sel in selected:
        edits = _gpu_device_edits(view, sel, hooks, minors)
        out += [(name, edits) for name in _names(sel, options.device_name_strategies)]
    return out


# --------------------------------------------------------------------------- other modes


_MANAGEMENT_PATTERNS = (
    "/dev/nvidia*",
    "/dev/nvidia-caps/nvidia-cap*",
    "/dev/nvidia-modeset",
    "/dev/nvidia-uvm-tools",
    "/dev/nvidia-uvm",
    "/dev/nvidiactl",
    "/dev/nvidia-caps-imex-channels/channel*",
)
_GATED_PATTERNS = {
    "gds": ("/dev/nvidia-fs*",),
    "mofed": ("/dev/infiniband/uverbs*", "/dev/infiniband/rdma_cm"),
    "gdrcopy": ("/dev/gdrdrv",),
    "nvswitch": ("/dev/nvidia-nvswitchctl", "/dev/nvidia-nvswitch*"),
}


def _nodes_matching(view: d.HostView, patterns: Sequence[str]) -> list[DeviceNode]:
    out: dict[str, DeviceNode] = {}
    for pattern in patterns:
        for node in d.char_devices(view, pattern):
            out.setdefault(node.path, node)
    return list(out.values())


def _management_devices(view: d.HostView) -> list[tuple[str, ContainerEdits]]:
    nodes = [
        n
        for n in _nodes_matching(view, _MANAGEMENT_PATTERNS)
        if not os.path.basename(n.path).startswith(("nvidia-fs", "nvidia-nvswitch", "nvidia-nvlink"))
    ]
    if not nodes:
        raise GenerateError(
            f"no NVIDIA device nodes found below {view.dev_root.path}/dev", path=view.dev_root.path
        )
    return [("all", _edits(nodes=nodes, gids=_gids(nodes)))]


def _gated_devices(view: d.HostView, mode: str) -> list[tuple[str, ContainerEdits]]:
    nodes = _nodes_matching(view, _GATED_PATTERNS[mode])
    if not nodes:
        for p in _GATED_PATTERNS[mode]:
            view.missing.add(p)
        return []
    mounts: list[Mount] = []
    if mode == "gds":
        root = view.driver_root
        for rel in ("/etc/cufile.json", "/run/udev"):
            if root.lstat(rel) is not None:
                mounts.append(_ro_mount(root, rel))
            else:
                view.missing.add(rel)
    return [("all", _edits(nodes=nodes, mounts=mounts, gids=_gids(nodes)))]


def _imex_devices(view: d.HostView, ids: Sequence[str]) -> list[tuple[str, ContainerEdits]]:
    def node(number: int) -> DeviceNode | None:
        rel = f"/dev/nvidia-caps-imex-channels/channel{number}"
        host = view.dev_root.host(rel)
        if view.dev_root.lstat(rel) is None:
            return None
        # Written without stat'ed numbers, as the reference does for IMEX channels.
        return DeviceNode(path=rel, host_path="" if host == rel else host)

    ids = [i.strip() for i in ids if i.strip()] or ["all"]
    numbers: list[int] = []
    if "all" in ids:
        for rel in view.dev_root.glob("/dev/nvidia-caps-imex-channels/channel*"):
            tail = rel.rsplit("channel", 1)[1]
            if tail.isdigit() and d.char_device(view, rel) is not None:
                numbers.append(int(tail))
    else:
        for ident in ids:
            tail = ident.removeprefix("channel")
            if not tail.isdigit() or int(tail) > _MAX_IMEX_CHANNEL:
                raise GenerateError(f"invalid IMEX channel id {ident!r}", device=ident)
            if node(int(tail)) is None:
                raise GenerateError(f"IMEX channel {ident!r} does not exist", device=ident)
            numbers.append(int(tail))
    out = []
    for n in sorted(set(numbers)):
        dn = node(n)
        if dn is not None:
            out.append((str(n), _edits(nodes=[dn])))
    return out


def _csv_entries(view: d.HostView, files: Sequence[str]) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    paths = list(files) or [view.driver_root.host(f) for f in _DEFAULT_CSV_FILES]
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            view.missing.add(path)
            continue
        for line in lines:
            kind, sep, value = line.partition(",")
            kind, value = kind.strip(), value.strip()
            if sep and kind in ("dev", "lib", "sym", "dir") and value.startswith("/"):
                entries.append((kind, value))
    return entries


def _csv_mode(
    view: d.HostView, options: GenerateOptions, hooks: _HookFactory, backend: NvmlBackend | None
) -> tuple[list[tuple[str, ContainerEdits]], ContainerEdits]:
    root = view.driver_root
    entries = _csv_entries(view, options.csv_files)
    nodes: list[DeviceNode] = []
    for kind, value in entries:
        if kind != "dev":
            continue
        found = d.char_devices(view, value)
        if not found:
            view.missing.add(value)
        nodes += found
    mounts: list[Mount] = []
    libs: list[d.LibraryFile] = []
    chain: list[tuple[str, str]] = []
    for kind, value in entries:
        if kind == "dev":
            continue
        resolved = root.resolve(value)
        if resolved is None:
            view.missing.add(value)
            continue
        if kind == "dir":
            mounts.append(_ro_mount(root, resolved))
        elif kind == "lib":
            if root.is_file(resolved):
                libs.append(d.LibraryFile(resolved))
                mounts.append(_ro_mount(root, resolved))
        else:  # sym: mount the final target and recreate every link of the chain
            chain += _link_chain(root, value)
            mounts.append(_ro_mount(root, resolved))
    if root.is_file("/etc/nv_tegra_release"):
        mounts.append(_ro_mount(root, "/etc/nv_tegra_release"))
    else:
        view.missing.add("/etc/nv_tegra_release")
    folders = list(dict.fromkeys(lib.dir for lib in libs if re.fullmatch(r"lib.+\.so(\.[^/]*)?", lib.name)))
    ldcache_args = ["--ldconfig-path", options.ldconfig_path] if options.ldconfig_path else []
    for folder in folders:
        ldcache_args += ["--folder", folder]
    compat = None
    cuda = backend.cuda_driver_version() if backend is not None else None
    if cuda:
        compat = hooks.make(
            "enable-cuda-compat", [f"--host-cuda-version={cuda // 1000}.{(cuda % 1000) // 10}"]
        )
    common = _edits(
        hooks=[
            hooks.symlinks(d.library_links(view, sorted(libs, key=lambda lib: lib.path))),
            hooks.symlinks(chain),
            compat,
            hooks.make("update-ldcache", ldcache_args) if folders else None,
        ],
        mounts=mounts,
    )
    ids = [i for i in options.device_ids if i.strip()] or ["all"]
    if any(i not in ("all", "0") for i in ids):
        raise GenerateError(f"csv mode supports only device ids 'all' and '0', not {ids}")
    devices = [("0", _edits(nodes=nodes, gids=_gids(nodes)))] if nodes else []
    return devices, common


def _link_chain(root: Root, rel: str) -> list[tuple[str, str]]:
    """``(target, link)`` for every symlink hop starting at ``rel``, link paths in-container."""
    out: list[tuple[str, str]] = []
    current = rel
    for _ in range(40):
        target = root.readlink(current)
        if target is None:
            break
        out.append((target, current))
        nxt = (
            target
            if target.startswith("/")
            else os.path.normpath(os.path.join(os.path.dirname(current), target))
        )
        # Continue from the parent-resolved location so relative hops stay inside the root.
        parent = root.resolve(os.path.dirname(nxt)) or os.path.dirname(nxt)
        current = os.path.join(parent, os.path.basename(nxt))
    return out


_WSL_REQUIRED = (
    "libcuda.so.1.1",
    "libcuda_loader.so",
    "libnvidia-ptxjitcompiler.so.1",
    "libnvidia-ml.so.1",
    "libnvidia-ml_loader.so",
    "libnvdxgdmal.so.1",
    "nvcubins.bin",
    "nvidia-smi",
)


def _wsl_mode(
    view: d.HostView, hooks: _HookFactory
) -> tuple[list[tuple[str, ContainerEdits]], ContainerEdits]:
    root = view.driver_root
    dxg = d.char_device(view, "/dev/dxg")
    if dxg is None:
        raise GenerateError(f"WSL device node /dev/dxg not found below {view.dev_root.path}")
    stores = sorted({os.path.dirname(p) for p in root.glob("/usr/lib/wsl/drivers/*/libcuda.so.1.1")})
    if not stores:
        raise GenerateError("no WSL driver store holding libcuda.so.1.1 below /usr/lib/wsl/drivers")
    store = stores[0]
    mounts: list[Mount] = []
    if root.is_file("/usr/lib/wsl/lib/libdxcore.so"):
        mounts.append(_ro_mount(root, "/usr/lib/wsl/lib/libdxcore.so"))
    else:
        view.missing.add("/usr/lib/wsl/lib/libdxcore.so")
    files = [os.path.join(store, n) for n in _WSL_REQUIRED]
    for pattern in ("*.so*", "*.bin", "*.dll"):
        files += root.glob(os.path.join(store, pattern))
    for rel in dict.fromkeys(files):
        if root.is_file(rel):
            mounts.append(_ro_mount(root, rel))
        else:
            view.missing.add(rel)
    common = _edits(
        hooks=[
            hooks.symlinks([(os.path.join(store, "nvidia-smi"), "/usr/bin/nvidia-smi")]),
            hooks.make("update-ldcache", ["--folder", store, "--folder", "/usr/lib/wsl/lib"]),
        ],
        mounts=mounts,
    )
    return [("all", _edits(nodes=[dxg]))], common


# --------------------------------------------------------------------------- entry point


def resolve_mode(view: d.HostView, backend_ok: bool) -> str:
    """``auto``: WSL, else CSV on Tegra without NVML, else NVML (the reference's probe order)."""
    root = view.driver_root
    if root.is_file("/usr/lib/wsl/lib/libdxcore.so"):
        return "wsl"
    tegra = root.is_file("/etc/nv_tegra_release")
    try:
        with open(root.host("/sys/devices/soc0/family"), encoding="utf-8") as f:
            tegra = tegra or f.read().lower().startswith("tegra")
    except OSError:
        pass
    if tegra and not backend_ok:
        return "csv"
    return "nvml"


def _validate(options: GenerateOptions) -> str:
    mode = options.mode.lower()
    if mode not in MODES:
        raise GenerateError(f"invalid discovery mode: {options.mode}")
    for s in options.device_name_strategies:
        if s not in NAME_STRATEGIES:
            raise GenerateError(f"invalid device name strategy: {s}")
    for h in (*options.disabled_hooks, *options.enabled_hooks):
        if h not in (*HOOK_NAMES, "all"):
            raise GenerateError(f"unknown hook name: {h}")
    from cdikit.names import validate_class_name, validate_vendor_name

    kind = default_kind(mode, options.vendor, options.class_)
    vendor, _, cls = kind.partition("/")
    validate_vendor_name(vendor)
    validate_class_name(cls)
    return mode


def generate(options: GenerateOptions, *, backend: NvmlBackend | None = None) -> GenerateResult:
    """Generate the spec for ``options``.

    ``backend`` overrides NVML (tests pass a :class:`~.nvml.FakeBackend`); otherwise
    ``nvml.open_backend()`` is tried in the modes that use NVML.
    """
    mode = _validate(options)
    view = options.host_view()
    hooks = _HookFactory(resolve_hook_path(options.hook_path), options.disabled_hooks, options.enabled_hooks)
    owned = False
    nvml_error: NvmlError | None = None
    if backend is None and mode in ("auto", "nvml", "management", "csv"):
        from cdikit.producers.nvidia.nvml import open_backend

        try:
            backend, owned = open_backend(), True
        except NvmlError as exc:
            nvml_error = exc
    try:
        if mode == "auto":
            mode = resolve_mode(view, backend is not None)
        kind = default_kind(mode, options.vendor, options.class_)
        version = backend.driver_version() if backend is not None else None
        devices: list[tuple[str, ContainerEdits]]
        if mode == "nvml":
            if backend is None:
                raise DriverNotFoundError(
                    str(nvml_error) if nvml_error else "failed to initialize NVML"
                ) from nvml_error
            files = _driver_files(view, version)
            version = files.version
            devices = _nvml_devices(view, backend, options, hooks)
            common = _driver_common_edits(view, files, hooks, options, graphics=True)
            common = ContainerEdits(
                env=common.env, device_nodes=d.control_nodes(view), hooks=common.hooks, mounts=common.mounts
            )
        elif mode == "management":
            files = _driver_files(view, version)
            version = files.version
            devices = _management_devices(view)
            common = _driver_common_edits(view, files, hooks, options, graphics=False)
        elif mode == "csv":
            devices, common = _csv_mode(view, options, hooks, backend)
        elif mode == "wsl":
            devices, common = _wsl_mode(view, hooks)
        elif mode == "imex":
            devices, common = _imex_devices(view, options.device_ids), ContainerEdits()
        else:
            devices, common = _gated_devices(view, mode), ContainerEdits()
        if not devices:
            raise GenerateError(f"{mode} mode: no devices found below {view.dev_root.path}")
        spec = _assemble(kind, devices, common, options)
    finally:
        if owned and backend is not None:
            backend.close()
    return GenerateResult(spec=spec, mode=mode, driver_version=version, missing=list(view.missing.items))
