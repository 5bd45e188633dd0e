"""The modes besides nvml: management, csv (Tegra), wsl, and the add-on modes.

Each returns ``(devices, spec-level edits)`` for :func:`._assemble.assemble`;
``devices`` is a list of ``(name, edits)``.
"""

from __future__ import annotations

import os

from cdikit._gomatch import BadPatternError
from cdikit._gomatch import match as go_match
from cdikit._rootfs import Root
from cdikit.errors import CDIError
from cdikit.producers.nvidia import discover as d
from cdikit.producers.nvidia._assemble import make_edits, node_gids, ro_mount
from cdikit.producers.nvidia._errors import GenerateError
from cdikit.producers.nvidia._hooks import HookFactory
from cdikit.producers.nvidia.nvml import NvmlBackend
from cdikit.spec.plain import ContainerEdits, DeviceNode, Mount

TYPE_CHECKING = False  # not typing's (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["csv_mode", "gated_devices", "imex_devices", "management_devices", "wsl_mode"]

_DEFAULT_CSV_FILES = tuple(
    f"/etc/nvidia-container-runtime/host-files-for-container.d/{n}.csv" for n in ("devices", "drivers", "l4t")
)
_MAX_IMEX_CHANNEL = 2**20 - 1


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


def management_devices(view: d.HostView) -> list[tuple[str, ContainerEdits]]:
    nodes = [
        n
        for n in _nodes_matching(view, _MANAGEMENT_PATTERNS)
        if not os.path.basename(n.path).startswith(("nvidia-fs", "nvidia-nvswitch", "nvidia-nvlink"))
    ]
    if not nodes:
        raise GenerateError(
            f"no NVIDIA device nodes found below {view.dev_root.path}/dev", path=view.dev_root.path
        )
    return [("all", make_edits(nodes=nodes, gids=node_gids(nodes)))]


def gated_devices(view: d.HostView, mode: str) -> list[tuple[str, ContainerEdits]]:
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
                mounts.append(ro_mount(root, rel))
            else:
                view.missing.add(rel)
    return [("all", make_edits(nodes=nodes, mounts=mounts, gids=node_gids(nodes)))]


def imex_devices(view: d.HostView, ids: Sequence[str]) -> list[tuple[str, ContainerEdits]]:
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
            out.append((str(n), make_edits(nodes=[dn])))
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


def csv_mode(
    view: d.HostView,
    hooks: HookFactory,
    backend: NvmlBackend | None,
    *,
    csv_files: Sequence[str],
    device_ids: Sequence[str],
    ldconfig_path: str | None,
    ignore_patterns: Sequence[str] = (),
    compat_container_root: str = "/usr/local/cuda/compat_orin",
) -> tuple[list[tuple[str, ContainerEdits]], ContainerEdits]:
    root = view.driver_root
    entries = [
        (kind, value)
        for kind, value in _csv_entries(view, csv_files)
        if kind != "sym" or not _ignored(value, ignore_patterns)
    ]
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
            mounts.append(ro_mount(root, resolved))
        elif kind == "lib":
            if root.is_file(resolved):
                libs.append(d.LibraryFile(resolved))
                mounts.append(ro_mount(root, resolved))
        else:  # sym: mount the final target and recreate every link of the chain
            chain += _link_chain(root, value)
            mounts.append(ro_mount(root, resolved))
    if root.is_file("/etc/nv_tegra_release"):
        mounts.append(ro_mount(root, "/etc/nv_tegra_release"))
    else:
        view.missing.add("/etc/nv_tegra_release")
    folders = list(dict.fromkeys(lib.dir for lib in libs if d.is_shared_library_name(lib.name)))
    ldcache_args = ["--ldconfig-path", ldconfig_path] if ldconfig_path else []
    for folder in folders:
        ldcache_args += ["--folder", folder]
    compat = None
    cuda = backend.cuda_driver_version() if backend is not None else None
    if cuda:
        compat_args = [f"--host-cuda-version={cuda // 1000}.{(cuda % 1000) // 10}"]
        if backend is not None and _has_orin(backend):
            # Orin's compat libraries live elsewhere (nvidia-ctk's --csv.compat-container-root).
            compat_args.append(f"--cuda-compat-container-root={compat_container_root}")
        compat = hooks.make("enable-cuda-compat", compat_args)
    common = make_edits(
        hooks=[
            hooks.symlinks(d.library_links(view, sorted(libs, key=lambda lib: lib.path))),
            hooks.symlinks(chain),
            compat,
            hooks.make("update-ldcache", ldcache_args) if folders else None,
        ],
        mounts=mounts,
    )
    ids = [i for i in device_ids if i.strip()] or ["all"]
    if any(i not in ("all", "0") for i in ids):
        raise GenerateError(f"csv mode supports only device ids 'all' and '0', not {ids}")
    devices = [("0", make_edits(nodes=nodes, gids=node_gids(nodes)))] if nodes else []
    return devices, common


def _ignored(path: str, patterns: Sequence[str]) -> bool:
    """``--csv.ignore-pattern``: a glob on the path; ``**/glob`` on the file name (nvidia-ctk's rule)."""
    for pattern in patterns:
        target = path
        if pattern.startswith("**/"):
            target, pattern = os.path.basename(path), pattern[3:]
        try:
            if go_match(pattern, target):
                return True
        except BadPatternError:
            continue  # nvidia-ctk ignores Match's error: a malformed pattern matches nothing
    return False


def _has_orin(backend: NvmlBackend) -> bool:
    try:
        return any("Orin (nvgpu)" in g.name for g in backend.gpus())
    except CDIError:
        return False  # nvidia-ctk: "assuming non-orin devices"


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


def _driver_stores(view: d.HostView, warnings: list[str]) -> list[str]:
    """Root-relative driver stores holding ``libcuda.so.1.1``: from dxcore, else a directory search.

    nvidia-ctk asks only dxcore (and fails without it); cdikit falls back to
    ``/usr/lib/wsl/drivers/*/`` with a warning, so a spec can also be made for a WSL
    root from outside WSL.
    """
    from cdikit.producers.nvidia.dxcore import DxcoreError, driver_store_paths

    root = view.driver_root
    library = root.host("/usr/lib/wsl/lib/libdxcore.so")
    try:
        reported = driver_store_paths(library)
    except DxcoreError as exc:
        warnings.append(f"dxcore unavailable ({exc}); searching /usr/lib/wsl/drivers instead")
    else:
        stores = [root.relative(p) for p in reported]
        if len(stores) > 1:
            warnings.append(f"found multiple driver store paths: {', '.join(stores)}")
        found = [s for s in stores if root.is_file(os.path.join(s, "libcuda.so.1.1"))]
        if found:
            return found
        warnings.append(
            f"no driver store reported by dxcore holds libcuda.so.1.1 ({', '.join(stores) or 'none'})"
        )
    return sorted({os.path.dirname(p) for p in root.glob("/usr/lib/wsl/drivers/*/libcuda.so.1.1")})


def wsl_mode(
    view: d.HostView, hooks: HookFactory, warnings: list[str] | None = None
) -> tuple[list[tuple[str, ContainerEdits]], ContainerEdits]:
    root = view.driver_root
    dxg = d.char_device(view, "/dev/dxg")
    if dxg is None:
        raise GenerateError(f"WSL device node /dev/dxg not found below {view.dev_root.path}")
    stores = _driver_stores(view, warnings if warnings is not None else [])
    if not stores:
        raise GenerateError("no WSL driver store holding libcuda.so.1.1 below /usr/lib/wsl/drivers")
    store = stores[0]
    mounts: list[Mount] = []
    if root.is_file("/usr/lib/wsl/lib/libdxcore.so"):
        mounts.append(ro_mount(root, "/usr/lib/wsl/lib/libdxcore.so"))
    else:
        view.missing.add("/usr/lib/wsl/lib/libdxcore.so")
    files = [os.path.join(store, n) for n in _WSL_REQUIRED]
    for pattern in ("*.so*", "*.bin", "*.dll"):
        files += root.glob(os.path.join(store, pattern))
    for rel in dict.fromkeys(files):
        if root.is_file(rel):
            mounts.append(ro_mount(root, rel))
        else:
            view.missing.add(rel)
    common = make_edits(
        hooks=[
            hooks.symlinks([(os.path.join(store, "nvidia-smi"), "/usr/bin/nvidia-smi")]),
            hooks.make("update-ldcache", ["--folder", store, "--folder", "/usr/lib/wsl/lib"]),
        ],
        mounts=mounts,
    )
    return [("all", make_edits(nodes=[dxg]))], common
