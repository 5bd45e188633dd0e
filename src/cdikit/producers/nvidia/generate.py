"""Build an NVIDIA CDI spec: modes, device selection and naming, hooks, assembly.

``generate(GenerateOptions(...))`` returns a :class:`GenerateResult` holding a
:class:`cdikit.spec.types.Spec` plus everything that was looked for and not found.
The placement of edits (spec level versus per device), hook order and arguments,
sorting and the merged ``all`` device follow ``nvidia-ctk cdi generate`` v1.20;
the deliberate differences are listed in ``docs/nvidia.md``.
"""

from __future__ import annotations

import os

from cdikit._record import field, record
from cdikit._rootfs import Root
from cdikit.producers.nvidia import discover as d
from cdikit.producers.nvidia._assemble import (
    IPC_OPTIONS,
    RO_OPTIONS,
    assemble,
    make_edits,
    node_gids,
    ro_mount,
)
from cdikit.producers.nvidia._errors import DiscoveryError, DriverNotFoundError, GenerateError
from cdikit.producers.nvidia._hooks import HOOK_NAMES, HookFactory, chain_spec_hooks, resolve_hook_path
from cdikit.producers.nvidia._modes import csv_mode, gated_devices, imex_devices, management_devices, wsl_mode
from cdikit.producers.nvidia.nvml import GpuRecord, MigRecord, NvmlBackend, NvmlError
from cdikit.spec.plain import ContainerEdits, DeviceNode, Mount, Spec, to_struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from cdikit.producers.nvidia.sandboxutils import SandboxUtils

__all__ = [
    "ADDON_MODES",
    "FEATURE_FLAGS",
    "MODES",
    "DiscoveryError",
    "DriverNotFoundError",
    "GenerateError",
    "GenerateOptions",
    "GenerateResult",
    "default_kind",
    "generate",
    "generate_plain",
    "resolve_hook_path",
]

MODES = ("auto", "nvml", "management", "csv", "wsl", "gds", "mofed", "gdrcopy", "imex", "nvswitch")
ADDON_MODES = ("gds", "mofed", "gdrcopy", "imex", "nvswitch")
NAME_STRATEGIES = ("index", "uuid", "type-index")
# Each add-on mode gets its own class so its `all` never clashes with the GPU spec's.
_DEFAULT_CLASS = {
    "gds": "gds",
    "mofed": "mofed",
    "gdrcopy": "gdrcopy",
    "nvswitch": "nvswitch",
    "imex": "imex-channel",
}
_SKIPPED_GPU_NAMES = ("DGX Display", "NVIDIA DGX Display")

# nvidia-ctk 1.20's --feature-flag names (pkg/nvcdi/api.go); all off by default.
FEATURE_FLAGS = (
    "enable-explicit-driver-libraries",
    "disable-nvsandboxutils",
    "enable-coherent-annotations",
    "disable-multiple-csv-devices",
    "no-additional-gids-for-device-nodes",
    "disable-ipc-discoverer",
)
_FEATURE_ALIASES = {"disable-nvsandbox-utils": "disable-nvsandboxutils"}  # accepted upstream too
COHERENT_ANNOTATION = "gpu.nvidia.com/coherent"
# Libraries the enable-explicit-driver-libraries flag adds (nvidia-ctk's list).
_EXPLICIT_LIBRARIES = (
    "libEGL.so",
    "libGL.so",
    "libGLESv1_CM.so",
    "libGLESv2.so",
    "libGLX.so",
    "libGLdispatch.so",
    "libOpenCL.so",
    "libOpenGL.so",
    "libnvidia-api.so",
    "libnvidia-egl-xcb.so",
    "libnvidia-egl-xlib.so",
)
_ORIN_COMPAT_ROOT = "/usr/local/cuda/compat_orin"


@record()
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
    csv_ignore_patterns: tuple[str, ...] = ()
    csv_compat_container_root: str | None = None
    config_search_paths: tuple[str, ...] = ()
    feature_flags: tuple[str, ...] = ()
    disabled_hooks: tuple[str, ...] = ()
    enabled_hooks: tuple[str, ...] = ()
    kernel_release: str | None = None
    binary_dirs: tuple[str, ...] | None = None
    xdg_data_dirs: tuple[str, ...] | None = None
    fake_device_nodes: bool = False
    # Join each edits group's hooks into one `cdi-hook chain` (cdikit's hook binary only).
    chain_hooks: bool = True

    def host_view(self) -> d.HostView:
        driver_root = Root(self.driver_root)
        view = d.HostView(
            driver_root=driver_root,
            dev_root=Root(self.dev_root) if self.dev_root else driver_root,
            sys_root=Root(self.sys_root),
            proc_root=Root(self.proc_root),
            library_search_paths=tuple(self.library_search_paths),
            config_search_paths=tuple(self.config_search_paths),
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

    def features(self) -> frozenset[str]:
        """The feature flags given, aliases mapped to their names."""
        return frozenset(_FEATURE_ALIASES.get(f, f) for f in self.feature_flags)


@record()
class GenerateResult:
    spec: Spec
    mode: str
    driver_version: str | None
    missing: list[str] = field(default_factory=list)
    # (file-name infix, spec): the coherent split of enable-coherent-annotations,
    # written next to the main spec as nvidia.coherent.yaml / nvidia.noncoherent.yaml.
    extra_specs: list[tuple[str, Spec]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def default_kind(mode: str, vendor: str | None = None, class_: str | None = None) -> str:
    """``vendor/class`` for a mode: ``nvidia.com/gpu``, add-on modes their own class."""
    return f"{vendor or 'nvidia.com'}/{class_ or _DEFAULT_CLASS.get(mode, 'gpu')}"


# --------------------------------------------------------------------------- driver (common) edits


@record()
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
    view: d.HostView, files: _DriverFiles, hooks: HookFactory, options: GenerateOptions, *, graphics: bool
) -> ContainerEdits:
    root = view.driver_root
    features = options.features()
    libs = list(files.libs)
    if "enable-explicit-driver-libraries" in features:
        libs += _explicit_libraries(view, files)
    mounts = [ro_mount(root, lib.path) for lib in libs]
    graphics_links: list[tuple[str, str]] = []
    if graphics:
        g_mounts, graphics_links, configs = d.graphics_files(view, files.version, files.lib_dirs)
        lib_paths = {lib.path for lib in libs}
        mounts += [ro_mount(root, p) for p in g_mounts if p not in lib_paths]
        mounts += [Mount(host_path=h, container_path=c, options=list(RO_OPTIONS)) for h, c in configs]
        mounts += [ro_mount(root, host, at) for host, at in d.binaries(view, ("nvidia-xconfig",))]
    if "disable-ipc-discoverer" not in features:
        mounts += [
            Mount(host_path=root.host(p), container_path=p, options=list(IPC_OPTIONS))
            for p in d.ipc_sockets(view)
        ]
    mounts += [ro_mount(root, p) for p in d.firmware(view, files.version)]
    mounts += [ro_mount(root, host, at) for host, at in d.binaries(view)]

    folders = list(dict.fromkeys(lib.dir for lib in libs if d.is_shared_library_name(lib.name)))
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
    return make_edits(env=env, hooks=hook_list, mounts=mounts)


def _explicit_libraries(view: d.HostView, files: _DriverFiles) -> list[d.LibraryFile]:
    """enable-explicit-driver-libraries: the unversioned GL/EGL/OpenCL loaders in the driver dirs."""
    have = {lib.path for lib in files.libs}
    out: list[d.LibraryFile] = []
    for name in _EXPLICIT_LIBRARIES:
        found = d.locate_libraries(view, name, tuple(files.lib_dirs))
        if not found:
            view.missing.add(name)
        for lib in found[:1]:
            if lib.path not in have:
                have.add(lib.path)
                out.append(lib)
    return out


# --------------------------------------------------------------------------- nvml mode


@record()
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
    migs = [_Selected(g, m) for g in gpus if g.mig_enabled for m in g.mig_devices]
    if "all" in ids:
        return [_Selected(g) for g in gpus if not g.mig_enabled] + migs
    # Named explicitly (index or GPU- UUID), a MIG-enabled GPU is a full-GPU device,
    # as nvidia-ctk does: only `all` leaves MIG-enabled parents out.
    everything = [_Selected(g) for g in gpus] + migs
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
    import re  # only for this spelling: re costs every other generate a tenth of its time

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
    view: d.HostView,
    sel: _Selected,
    hooks: HookFactory,
    minors: dict[str, int] | None,
    sandbox: SandboxUtils | None = None,
) -> ContainerEdits:
    found = _sandbox_nodes(view, sel, sandbox) if sandbox is not None else None
    nodes, links = found if found is not None else _nvml_nodes(view, sel, minors)
    chmod_dirs = [
        p for p in ("/dev/dri", "/dev/nvidia-caps") if any(n.path.startswith(p + "/") for n in nodes)
    ]
    chmod_args = ["--mode", "755"]
    for p in chmod_dirs:
        chmod_args += ["--path", p]
    return make_edits(
        nodes=nodes,
        hooks=[hooks.symlinks(links), hooks.make("chmod", chmod_args) if chmod_dirs else None],
        gids=node_gids(nodes),
    )


def _nvml_nodes(
    view: d.HostView, sel: _Selected, minors: dict[str, int] | None
) -> tuple[list[DeviceNode], list[tuple[str, str]]]:
    """A device's nodes and by-path links from NVML's minor, the MIG caps and sysfs."""
    gpu = sel.gpu
    nodes: list[DeviceNode] = []
    parent = d.char_device(view, f"/dev/nvidia{gpu.minor}")
    if parent is None:
        raise GenerateError(f"GPU {gpu.uuid}: device node /dev/nvidia{gpu.minor} not found", device=gpu.uuid)
    nodes.append(parent)
    links: list[tuple[str, str]] = []
    if sel.mig is not None:
        nodes += d.mig_cap_nodes(
            view, gpu, sel.mig, minors if minors is not None else d.load_mig_minors(view)
        )
    if sel.mig is None or sel.mig.has_graphics:
        drm, links = d.gpu_drm(view, gpu.pci_bus_id)
        nodes += drm
    return nodes, links


def _sandbox_nodes(
    view: d.HostView, sel: _Selected, sandbox: SandboxUtils
) -> tuple[list[DeviceNode], list[tuple[str, str]]] | None:
    """The same from nvsandboxutils; ``None`` (use NVML) when it fails, as nvidia-ctk's FirstValid."""
    from cdikit.producers.nvidia import sandboxutils as su

    uuid = sel.gpu.uuid if sel.mig is None else sel.mig.uuid
    dri = sel.mig is None or sel.mig.has_graphics
    nodes: list[DeviceNode] = []
    links: list[tuple[str, str]] = []
    try:
        for f in sandbox.gpu_files(uuid):
            rel = view.dev_root.relative(f.path)
            if f.subtype in (su.NV_DEV_DRI_CARD, su.NV_DEV_DRI_RENDERD) and not dri:
                continue
            if f.subtype in (
                su.NV_DEV_NVIDIA,
                su.NV_DEV_NVIDIA_CAPS_NVIDIA_CAP,
                su.NV_DEV_DRI_CARD,
                su.NV_DEV_DRI_RENDERD,
            ):
                node = d.char_device(view, rel)
                if node is None:
                    return None  # the library's view and the dev root disagree: trust NVML
                nodes.append(node)
            elif (
                f.subtype in (su.NV_DEV_DRI_CARD_SYMLINK, su.NV_DEV_DRI_RENDERD_SYMLINK)
                and dri
                and f.flags == su.NV_FILE_FLAG_CONTENT
            ):
                # Link at the container path (nvidia-ctk writes the host path here, difference 1).
                links.append((sandbox.file_content(f.path), rel))
    except su.SandboxUtilsError:
        return None
    return (nodes, links) if nodes else None


def _nvml_devices(
    view: d.HostView,
    backend: NvmlBackend,
    options: GenerateOptions,
    hooks: HookFactory,
    coherence: dict[str, bool] | None = None,
    sandbox: SandboxUtils | None = None,
) -> list[tuple[str, ContainerEdits]]:
    """The GPU and MIG devices; ``coherence`` (when given) gets each full GPU's names."""
    gpus = [g for g in backend.gpus() if g.name not in _SKIPPED_GPU_NAMES]
    selected = _select(gpus, options.device_ids)
    if selected is None:
        return [("none", make_edits(env=["NVCT_EMPTY_DEVICE="]))]
    minors = d.load_mig_minors(view) if any(s.mig for s in selected) and sandbox is None else None
    out = []
    for sel in selected:
        edits = _gpu_device_edits(view, sel, hooks, minors, sandbox)
        names = _names(sel, options.device_name_strategies)
        out += [(name, edits) for name in names]
        if coherence is not None and sel.mig is None:
            coherence.update((name, sel.gpu.coherent) for name in names)
    return out


def _without_gids(devices: list[tuple[str, ContainerEdits]]) -> list[tuple[str, ContainerEdits]]:
    """no-additional-gids-for-device-nodes: no 0.7.0 just for groups (index names need 0.5.0)."""
    return [(name, _edits_without_gids(e)) for name, e in devices]


def _edits_without_gids(e: ContainerEdits) -> ContainerEdits:
    if not e.additional_gids:
        return e
    return ContainerEdits(env=e.env, device_nodes=e.device_nodes, hooks=e.hooks, mounts=e.mounts)


def _coherent_split(
    kind: str,
    devices: list[tuple[str, ContainerEdits]],
    common: ContainerEdits,
    coherence: dict[str, bool],
    options: GenerateOptions,
) -> list[tuple[str, Spec]]:
    """nvidia-ctk's split specs: class ``<class>.coherent`` / ``.noncoherent`` per GPU coherence."""
    out = []
    for infix, wanted in ((".coherent", True), (".noncoherent", False)):
        subset = [(n, e) for n, e in devices if coherence.get(n) is wanted]
        if subset:
            spec = assemble(
                kind + infix,
                subset,
                common,
                no_all_device=options.no_all_device,
                spec_version=options.spec_version,
            )
            out.append((infix, spec))
    return out


# --------------------------------------------------------------------------- entry point


def _open_sandbox(view: d.HostView, warnings: list[str]) -> SandboxUtils | None:
    """``libnvidia-sandboxutils.so.1`` of the driver root, initialised; ``None`` without it."""
    from cdikit.producers.nvidia.sandboxutils import SONAME, SandboxUtils, SandboxUtilsError

    libs = d.locate_libraries(view, SONAME)
    if not libs:
        return None
    path = view.driver_root.host(libs[0].path)
    try:
        return SandboxUtils(path, view.driver_root.path)
    except SandboxUtilsError as exc:
        warnings.append(f"failed to init nvsandboxutils: {exc}; ignoring")
        return None


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
    for pattern in options.csv_ignore_patterns:
        if not pattern:
            raise GenerateError("empty --csv.ignore-pattern")
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
    result = generate_plain(options, backend=backend)
    result.spec = to_struct(result.spec)
    result.extra_specs = [(infix, to_struct(spec)) for infix, spec in result.extra_specs]
    return result


def generate_plain(options: GenerateOptions, *, backend: NvmlBackend | None = None) -> GenerateResult:
    """:func:`generate` with the specs as plain records (:mod:`cdikit.spec.plain`), not typed ones.

    What ``cdi generate nvidia`` encodes: the same bytes, without importing msgspec.
    """
    mode = _validate(options)
    view = options.host_view()
    hooks = HookFactory(resolve_hook_path(options.hook_path), options.disabled_hooks, options.enabled_hooks)
    owned = False
    nvml_error: NvmlError | None = None
    nvml_version: str | None = None
    if backend is None and mode == "management":
        # Only the driver version is asked: without pynvml (see nvml.driver_version).
        from cdikit.producers.nvidia.nvml import driver_version

        nvml_version = driver_version(library=d.nvml_library(view))
    elif backend is None and mode in ("auto", "nvml", "csv"):
        from cdikit.producers.nvidia.nvml import open_backend

        try:
            backend, owned = open_backend(library=d.nvml_library(view)), True
        except NvmlError as exc:
            nvml_error = exc
    features = options.features()
    warnings = [
        f"unknown feature flag {f!r} ignored (as nvidia-ctk does)"
        for f in dict.fromkeys(options.feature_flags)
        if _FEATURE_ALIASES.get(f, f) not in FEATURE_FLAGS
    ]
    coherence: dict[str, bool] | None = {} if "enable-coherent-annotations" in features else None
    sandbox: SandboxUtils | None = None
    try:
        if mode in ("auto", "nvml") and "disable-nvsandboxutils" not in features:
            sandbox = _open_sandbox(view, warnings)
        if mode == "auto":
            mode = resolve_mode(view, backend is not None)
        kind = default_kind(mode, options.vendor, options.class_)
        version = sandbox.driver_version() if sandbox is not None else nvml_version
        if version is None and backend is not None:
            version = backend.driver_version()
        devices: list[tuple[str, ContainerEdits]]
        if mode == "nvml":
            if backend is None:
                reason = str(nvml_error) if nvml_error else "failed to initialize NVML"
                raise DriverNotFoundError(
                    f"{reason} (is the NVIDIA driver loaded? --mode management needs no NVML)"
                ) from nvml_error
            files = _driver_files(view, version)
            version = files.version
            devices = _nvml_devices(
                view, backend, options, hooks, coherence, sandbox if mode == "nvml" else None
            )
            common = _driver_common_edits(view, files, hooks, options, graphics=True)
            common = ContainerEdits(
                env=common.env, device_nodes=d.control_nodes(view), hooks=common.hooks, mounts=common.mounts
            )
        elif mode == "management":
            files = _driver_files(view, version)
            version = files.version
            devices = management_devices(view)
            common = _driver_common_edits(view, files, hooks, options, graphics=False)
        elif mode == "csv":
            devices, common = csv_mode(
                view,
                hooks,
                backend,
                csv_files=options.csv_files,
                device_ids=options.device_ids,
                ldconfig_path=options.ldconfig_path,
                ignore_patterns=options.csv_ignore_patterns,
                compat_container_root=options.csv_compat_container_root or _ORIN_COMPAT_ROOT,
            )
        elif mode == "wsl":
            devices, common = wsl_mode(view, hooks, warnings)
        elif mode == "imex":
            devices, common = imex_devices(view, options.device_ids), ContainerEdits()
        else:
            devices, common = gated_devices(view, mode), ContainerEdits()
        if not devices:
            raise GenerateError(f"{mode} mode: no devices found below {view.dev_root.path}")
        if "no-additional-gids-for-device-nodes" in features:
            devices, common = _without_gids(devices), _edits_without_gids(common)
        spec = assemble(
            kind,
            devices,
            common,
            no_all_device=options.no_all_device,
            spec_version=options.spec_version,
            warnings=warnings,
        )
        extra = _coherent_split(kind, devices, common, coherence, options) if coherence else []
        if options.chain_hooks:
            spec = chain_spec_hooks(spec)
            extra = [(infix, chain_spec_hooks(e)) for infix, e in extra]
    finally:
        if sandbox is not None:
            sandbox.close()
        if owned and backend is not None:
            backend.close()
    return GenerateResult(
        spec=spec,
        mode=mode,
        driver_version=version,
        missing=list(view.missing.items),
        extra_specs=extra,
        warnings=warnings,
    )
