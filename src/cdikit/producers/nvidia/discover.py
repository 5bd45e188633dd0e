"""What to find on a host with an NVIDIA driver, and where (no spec assembly here).

Every host input is explicit in :class:`HostView` (driver root, dev root, sysfs
and procfs roots, kernel release, PATH, XDG data dirs), so tests point it at a
fake tree instead of patching the host. All paths returned are *root-relative*,
which is also the path the container sees. Files that were looked for and not
found are collected once in :class:`MissingReport` rather than logged one by one.
"""

from __future__ import annotations

import os
import stat

from cdikit._elf import read_soname
from cdikit._record import field, record
from cdikit._rootfs import Root
from cdikit.producers.nvidia._errors import DiscoveryError
from cdikit.producers.nvidia._ldcache import ld_so_cache_dirs
from cdikit.producers.nvidia.nvml import NVML_SONAME, GpuRecord, MigRecord
from cdikit.spec.plain import DeviceNode

__all__ = [
    "DiscoveryError",
    "HostView",
    "LibraryFile",
    "MissingReport",
    "binaries",
    "char_device",
    "config_files",
    "control_nodes",
    "driver_libraries",
    "driver_version_from_files",
    "firmware",
    "gpu_drm",
    "graphics_files",
    "ipc_sockets",
    "is_dotted_version",
    "is_shared_library_name",
    "library_links",
    "mig_cap_nodes",
    "normalize_bus_id",
    "nvml_library",
]


# Library directories searched inside the driver root (the reference's list).
DEFAULT_LIBRARY_DIRS = (
    "/",
    "/usr/lib64",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu/nvidia/current",
    "/usr/lib/aarch64-linux-gnu/nvidia/current",
    "/lib64",
    "/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/lib/x86_64-linux-gnu/nvidia/current",
    "/lib/aarch64-linux-gnu/nvidia/current",
)
DEFAULT_BINARY_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

# Driver libraries cdikit also accepts when the distro installed them under their
# SONAME only (no ``.so.<driver version>`` file): the reference misses these.
DRIVER_LIBRARY_STEMS = (
    "libcuda",
    "libcudadebugger",
    "libnvidia-ml",
    "libnvidia-ptxjitcompiler",
    "libnvidia-nvvm",
    "libnvidia-cfg",
    "libnvidia-opencl",
    "libnvidia-encode",
    "libnvcuvid",
    "libnvidia-opticalflow",
    "libGLX_nvidia",
    "libEGL_nvidia",
    "libGLESv2_nvidia",
    "libGLESv1_CM_nvidia",
    "libnvidia-glcore",
    "libnvidia-eglcore",
    "libnvidia-glsi",
    "libnvidia-tls",
    "libnvidia-glvkspirv",
    "libnvidia-gpucomp",
    "libnvidia-allocator",
    "libnvidia-fbc",
    "libnvidia-rtcore",
    "libnvoptix",
    "libnvidia-ngx",
    "libnvidia-pkcs11",
    "libnvidia-pkcs11-openssl3",
    "libvdpau_nvidia",
)

# Links every container needs although the host may not carry them (reference list):
# stem of the mounted library -> (link name, target is "soname" or "file").
_FIXED_LINKS = {
    "libcuda": ("libcuda.so", "soname"),
    "libGLX_nvidia": ("libGLX_indirect.so.0", "file"),
    "libnvidia-opticalflow": ("libnvidia-opticalflow.so", "soname"),
}
_FIXED_SONAMES = {"libcuda": "libcuda.so.1", "libnvidia-opticalflow": "libnvidia-opticalflow.so.1"}

CONTROL_NODES = ("/dev/nvidia-modeset", "/dev/nvidia-uvm-tools", "/dev/nvidia-uvm", "/dev/nvidiactl")
DRIVER_BINARIES = (
    "nvidia-smi",
    "nvidia-debugdump",
    "nvidia-persistenced",
    "nvidia-cuda-mps-control",
    "nvidia-cuda-mps-server",
    "nvidia-imex",
    "nvidia-imex-ctl",
)

# (path searched for below each config search dir, fixed container location)
_GRAPHICS_CONFIGS = (
    ("glvnd/egl_vendor.d/10_nvidia.json", "/usr/share/glvnd/egl_vendor.d/10_nvidia.json"),
    (
        "egl/egl_external_platform.d/15_nvidia_gbm.json",
        "/usr/share/egl/egl_external_platform.d/15_nvidia_gbm.json",
    ),
    (
        "egl/egl_external_platform.d/10_nvidia_wayland.json",
        "/usr/share/egl/egl_external_platform.d/10_nvidia_wayland.json",
    ),
    (
        "egl/egl_external_platform.d/09_nvidia_wayland2.json",
        "/usr/share/egl/egl_external_platform.d/09_nvidia_wayland2.json",
    ),
    (
        "egl/egl_external_platform.d/20_nvidia_xcb.json",
        "/usr/share/egl/egl_external_platform.d/20_nvidia_xcb.json",
    ),
    (
        "egl/egl_external_platform.d/20_nvidia_xlib.json",
        "/usr/share/egl/egl_external_platform.d/20_nvidia_xlib.json",
    ),
    ("nvidia/nvoptix.bin", "/usr/share/nvidia/nvoptix.bin"),
    ("X11/xorg.conf.d/10-nvidia.conf", "/usr/share/X11/xorg.conf.d/10-nvidia.conf"),
    ("X11/xorg.conf.d/nvidia-drm-outputclass.conf", "/usr/share/X11/xorg.conf.d/nvidia-drm-outputclass.conf"),
    ("OpenCL/vendors/nvidia.icd", "/etc/OpenCL/vendors/nvidia.icd"),
)
_VULKAN_CONFIGS = (
    "vulkan/icd.d/nvidia_icd.json",
    "vulkan/icd.d/nvidia_layers.json",
    "vulkan/implicit_layer.d/nvidia_layers.json",
)
_EGL_LIBRARY_PATTERNS = tuple(
    f"libnvidia-egl-{n}.so.*.*" for n in ("gbm", "wayland", "wayland2", "xcb", "xlib")
)


@record()
class MissingReport:
    """Everything looked for and not found, each named once, in discovery order."""

    items: list[str] = field(default_factory=list)

    def add(self, what: str) -> None:
        if what not in self.items:
            self.items.append(what)

    def summary(self) -> str:
        if not self.items:
            return ""
        return f"{len(self.items)} optional file(s) not found: " + ", ".join(self.items)


@record()
class HostView:
    """The host as the generator sees it; every field can point at a fake tree."""

    driver_root: Root = field(default_factory=lambda: Root("/"))
    dev_root: Root = field(default_factory=lambda: Root("/"))
    sys_root: Root = field(default_factory=lambda: Root("/"))
    proc_root: Root = field(default_factory=lambda: Root("/"))
    kernel_release: str = field(default_factory=lambda: os.uname().release)
    binary_dirs: tuple[str, ...] = DEFAULT_BINARY_DIRS
    xdg_data_dirs: tuple[str, ...] = ("/usr/local/share", "/usr/share")
    library_search_paths: tuple[str, ...] = ()
    # --config-search-path: host dirs replacing /etc + XDG_DATA_DIRS for config files
    config_search_paths: tuple[str, ...] = ()
    fake_device_nodes: bool = False
    missing: MissingReport = field(default_factory=MissingReport)
    search_dirs_cache: tuple[str, ...] | None = None

    def library_dirs(self) -> tuple[str, ...]:
        """Root-relative library dirs: ``--library-search-path`` or the defaults."""
        if not self.library_search_paths:
            return DEFAULT_LIBRARY_DIRS
        # Accept host paths that already include the driver root (the reference's spelling).
        return tuple(self.driver_root.relative(p) for p in self.library_search_paths)


@record(frozen=True)
class LibraryFile:
    """A library found in the driver root: ``path`` is root-relative and resolved."""

    path: str

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def dir(self) -> str:
        return os.path.dirname(self.path)

    @property
    def stem(self) -> str:
        return self.name.split(".so", 1)[0]


# --------------------------------------------------------------------------- device nodes


def char_device(view: HostView, rel: str) -> DeviceNode | None:
    """The device node at ``rel`` below the dev root with its stat'ed identity, or ``None``.

    Like the reference only a real character device counts (a symlink does not); with
    ``fake_device_nodes`` a regular file stands in, its JSON content (``{"major":..,
    "minor":.., "mode":.., "gid":..}``) giving the identity.
    """
    host = view.dev_root.host(rel)
    try:
        st = os.lstat(host)
    except OSError:
        return None
    host_path = "" if host == rel else host
    if stat.S_ISCHR(st.st_mode):
        return DeviceNode(
            path=rel,
            host_path=host_path,
            major=os.major(st.st_rdev),
            minor=os.minor(st.st_rdev),
            file_mode=(st.st_mode & 0o777) or None,
            permissions="rwm",
            gid=st.st_gid or None,
        )
    if view.fake_device_nodes and stat.S_ISREG(st.st_mode):
        return _fake_node(rel, host, host_path)
    return None


def _fake_node(rel: str, host: str, host_path: str) -> DeviceNode:
    import json

    try:
        with open(host, "rb") as f:
            meta = json.loads(f.read() or b"{}")
    except (OSError, ValueError):
        meta = {}
    if not isinstance(meta, dict) or not meta:
        return DeviceNode(path=rel, host_path=host_path)
    return DeviceNode(
        path=rel,
        host_path=host_path,
        major=int(meta.get("major", 0)),
        minor=int(meta.get("minor", 0)),
        file_mode=int(meta.get("mode", 0)) or None,
        permissions="rwm",
        gid=int(meta.get("gid", 0)) or None,
    )


def char_devices(view: HostView, pattern: str) -> list[DeviceNode]:
    """All device nodes matching a root-relative glob below the dev root."""
    out = []
    for rel in view.dev_root.glob(pattern):
        node = char_device(view, rel)
        if node is not None:
            out.append(node)
    return out


def control_nodes(view: HostView) -> list[DeviceNode]:
    out = []
    for rel in CONTROL_NODES:
        node = char_device(view, rel)
        if node is None:
            view.missing.add(rel)
        else:
            out.append(node)
    return out


def normalize_bus_id(bus_id: str) -> str:
    """NVML's ``00000000:41:00.0`` as sysfs spells it: ``0000:41:00.0`` (lower case)."""
    bus_id = bus_id.strip().lower()
    domain, sep, rest = bus_id.partition(":")
    if sep and len(domain) == 8:
        domain = domain[4:]
    return domain + sep + rest


def gpu_drm(view: HostView, bus_id: str) -> tuple[list[DeviceNode], list[tuple[str, str]]]:
    """DRM nodes of the GPU at ``bus_id`` and the ``/dev/dri/by-path`` links to recreate.

    Node names come from ``/sys/bus/pci/devices/<bus>/drm/`` (stale entries such as
    ``controlD*`` drop out because no node exists). Links are ``(target, link)`` with
    the *container* path as link (the reference writes the dev-root host path there).
    """
    bus = normalize_bus_id(bus_id)
    if not bus:
        return [], []
    drm_dir = view.sys_root.host(f"/sys/bus/pci/devices/{bus}/drm")
    try:
        names = sorted(os.listdir(drm_dir))
    except OSError:
        return [], []
    nodes = [n for n in (char_device(view, f"/dev/dri/{name}") for name in names) if n is not None]
    selected = {os.path.basename(n.path) for n in nodes}
    links = []
    for kind in ("card", "render"):
        link = f"/dev/dri/by-path/pci-{bus}-{kind}"
        target = view.dev_root.readlink(link)
        if target is not None and os.path.basename(target) in selected:
            links.append((target, link))
    return nodes, links


def _mig_minors(view: HostView) -> dict[str, int]:
    rel = "/proc/driver/nvidia-caps/mig-minors"
    path = view.proc_root.host(rel)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise DiscoveryError(f"failed to read MIG caps minors {path}: {exc.strerror}", path=path) from exc
    minors = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            minors[parts[0]] = int(parts[1])
    return minors


def mig_cap_nodes(
    view: HostView, gpu: GpuRecord, mig: MigRecord, cache: dict[str, int] | None = None
) -> list[DeviceNode]:
    """The GPU-instance and compute-instance capability nodes of one MIG device."""
    minors = cache if cache is not None else _mig_minors(view)
    gi, ci = mig.gpu_instance_id, mig.compute_instance_id
    out = []
    for key in (f"gpu{gpu.minor}/gi{gi}/access", f"gpu{gpu.minor}/gi{gi}/ci{ci}/access"):
        minor = minors.get(key)
        if minor is None:
            raise DiscoveryError(
                f"MIG device {mig.uuid}: no capability minor for {key!r} in mig-minors",
                device=mig.uuid,
            )
        rel = f"/dev/nvidia-caps/nvidia-cap{minor}"
        node = char_device(view, rel)
        if node is None:
            raise DiscoveryError(f"MIG device {mig.uuid}: device node {rel} not found", device=mig.uuid)
        out.append(node)
    return out


def load_mig_minors(view: HostView) -> dict[str, int]:
    """Parse ``/proc/driver/nvidia-caps/mig-minors`` once (raises if it is absent)."""
    return _mig_minors(view)


# --------------------------------------------------------------------------- libraries


def locate_libraries(view: HostView, pattern: str, dirs: tuple[str, ...] | None = None) -> list[LibraryFile]:
    """Regular files matching ``pattern`` in the library dirs, symlinks resolved in the root."""
    root = view.driver_root
    seen: dict[str, LibraryFile] = {}
    for d in dirs if dirs is not None else _search_dirs(view):
        for rel in root.glob(os.path.join(d, pattern)):
            resolved = root.resolve(rel)
            if resolved is not None and resolved not in seen and root.is_file(resolved):
                seen[resolved] = LibraryFile(resolved)
    return list(seen.values())


def _search_dirs(view: HostView) -> tuple[str, ...]:
    """The library dirs, then (for libraries elsewhere) the dirs of ld.so.cache and ld.so.conf."""
    if view.search_dirs_cache is not None:
        return view.search_dirs_cache
    dirs = list(view.library_dirs())
    if not view.library_search_paths:
        root = view.driver_root
        extra = [*ld_so_cache_dirs(root.host("/etc/ld.so.cache")), *_ld_so_conf_dirs(root)]
        dirs += [d for d in dict.fromkeys(extra) if d not in dirs]
    view.search_dirs_cache = tuple(dirs)
    return view.search_dirs_cache


def _ld_so_conf_dirs(root: Root) -> list[str]:
    out: list[str] = []
    files = ["/etc/ld.so.conf", *root.glob("/etc/ld.so.conf.d/*.conf")]
    for rel in files:
        try:
            with open(root.host(rel), encoding="utf-8", errors="replace") as f:
                for line in f:
                    line = line.split("#", 1)[0].strip()
                    if line.startswith("/") and line not in out:
                        out.append(os.path.normpath(line))
        except OSError:
            continue
    return out


def nvml_library(view: HostView) -> str | None:
    """The host path of ``libnvidia-ml.so.1`` found inside the driver root, else ``None``.

    nvidia-ctk loads NVML from the driver root the same way (its library locator,
    ld.so.cache of the root included), so a containerised driver
    (``/run/nvidia/driver``) works on a host that has no NVML of its own.
    """
    libs = locate_libraries(view, NVML_SONAME)
    return view.driver_root.host(libs[0].path) if libs else None


def is_dotted_version(text: str) -> bool:
    """Two or more runs of decimal digits joined by dots (``580.65.06``), as ``\\d+(\\.\\d+)+``."""
    parts = text.split(".")
    return len(parts) >= 2 and all(part.isdecimal() for part in parts)


def is_shared_library_name(name: str) -> bool:
    """``lib<x>.so`` or ``lib<x>.so.<anything>``, as ``lib.+\\.so(\\.[^/]*)?`` (the libraries whose
    folders update-ldcache gets). Plain string tests: ``re`` costs ``cdi generate`` a tenth."""
    if not name.startswith("lib"):
        return False
    at = name.find(".so", 4)
    while at >= 0:
        if "\n" in name[3:at]:
            return False
        tail = name[at + 3 :]
        if not tail or (tail[0] == "." and "/" not in tail):
            return True
        at = name.find(".so", at + 1)
    return False


def driver_version_from_files(view: HostView) -> str | None:
    """The version suffix of ``libcuda.so.X.Y`` (else ``libnvidia-ml.so.X.Y``)."""
    for stem in ("libcuda", "libnvidia-ml"):
        for lib in locate_libraries(view, f"{stem}.so.*.*"):
            version = lib.name[len(stem) + 4 :]
            if is_dotted_version(version) and version != "1.1":
                return version
    return None


def driver_libraries(view: HostView, version: str) -> tuple[list[LibraryFile], list[str]]:
    """Driver libraries to mount and the driver library dirs (``NVIDIA_CTK_LIBCUDA_DIR``).

    The reference selects ``*.so.<version>`` in the dirs holding ``lib*.so.<version>``
    (and their ``vdpau/``), plus ``libnvidia-nvvm70.so.*``. cdikit also takes known
    driver libraries installed under their SONAME only.
    """
    versioned = locate_libraries(view, f"lib*.so.{version}")
    lib_dirs: list[str] = []
    for lib in versioned:
        if lib.dir not in lib_dirs:
            lib_dirs.append(lib.dir)
    if not lib_dirs:
        # No versioned file at all: fall back to wherever libcuda's SONAME lives.
        for lib in locate_libraries(view, "libcuda.so*"):
            if read_soname(view.driver_root.host(lib.path)) and lib.dir not in lib_dirs:
                lib_dirs.append(lib.dir)
    scan = tuple(d for base in lib_dirs for d in (base, os.path.join(base, "vdpau")))
    found: dict[str, LibraryFile] = {}
    for lib in locate_libraries(view, f"*.so.{version}", scan):
        found[lib.path] = lib
    for lib in locate_libraries(view, "libnvidia-nvvm70.so.*", tuple(lib_dirs)):
        found.setdefault(lib.path, lib)
    have = {lib.stem for lib in found.values()}
    for stem in DRIVER_LIBRARY_STEMS:
        if stem in have:
            continue
        for lib in locate_libraries(view, f"{stem}.so*", scan):
            soname = read_soname(view.driver_root.host(lib.path))
            if soname and soname.startswith(stem + ".so"):
                found.setdefault(lib.path, lib)
                have.add(stem)
                break
    return sorted(found.values(), key=lambda lib: _depth_key(lib.path)), lib_dirs


def _depth_key(path: str) -> tuple[int, str]:
    return (os.path.normpath(path).count("/"), path)


def library_links(view: HostView, libs: list[LibraryFile]) -> list[tuple[str, str]]:
    """``(target, link)`` pairs for the driver create-symlinks hook, reference order."""
    root = view.driver_root
    out: list[tuple[str, str]] = []
    for lib in libs:
        soname = read_soname(root.host(lib.path))
        fixed = _FIXED_LINKS.get(lib.stem)
        if fixed is not None:
            link_name, kind = fixed
            target = _FIXED_SONAMES.get(lib.stem, soname or lib.name) if kind == "soname" else lib.name
            out.append((target, os.path.join(lib.dir, link_name)))
        if soname and soname != lib.name and root.is_symlink(os.path.join(lib.dir, soname)):
            out.append((lib.name, os.path.join(lib.dir, soname)))
        if soname:
            dev = lib.name.split(".so", 1)[0] + ".so"
            if dev != soname and dev != lib.name and root.is_symlink(os.path.join(lib.dir, dev)):
                out.append((soname, os.path.join(lib.dir, dev)))
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------- other driver files


def graphics_files(
    view: HostView, version: str, lib_dirs: list[str]
) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """Graphics libraries and X.Org modules (mounted at their own path), graphics
    links, and config files as ``(host path, container path)``."""
    root = view.driver_root
    mounts: list[str] = []
    links: list[tuple[str, str]] = []
    for pattern in _EGL_LIBRARY_PATTERNS:
        libs = locate_libraries(view, pattern)
        if not libs:
            view.missing.add(pattern)
        mounts.extend(lib.path for lib in libs)
    allocator = locate_libraries(view, f"libnvidia-allocator.so.{version}")
    for lib in allocator[:1]:
        links.append(("../libnvidia-allocator.so.1", os.path.join(lib.dir, "gbm", "nvidia-drm_gbm.so")))
    producer = locate_libraries(view, f"libnvidia-vulkan-producer.so.{version}")
    if not producer:
        view.missing.add(f"libnvidia-vulkan-producer.so.{version}")
    for lib in producer[:1]:
        mounts.append(lib.path)
        links.append((lib.name, os.path.join(lib.dir, "libnvidia-vulkan-producer.so")))
    xorg_dirs = [
        *(os.path.join(d, "nvidia/xorg") for d in lib_dirs),
        *(
            os.path.join(base, sub)
            for base in (
                *(os.path.join(d, "xorg/modules") for d in lib_dirs),
                "/usr/lib/xorg/modules",
                "/usr/lib64/xorg/modules",
                "/usr/X11R6/lib/modules",
                "/usr/X11R6/lib64/modules",
            )
            for sub in ("drivers", "extensions", "updates/drivers", "updates/extensions")
        ),
    ]
    for name in ("nvidia_drv.so", f"libglxserver_nvidia.so.{version}"):
        hit = next((os.path.join(d, name) for d in xorg_dirs if root.is_file(os.path.join(d, name))), None)
        if hit is None:
            view.missing.add(name)
            continue
        resolved = root.resolve(hit) or hit
        mounts.append(resolved)
        if name.startswith("libglxserver_nvidia"):
            links.append((name, os.path.join(os.path.dirname(hit), "libglxserver_nvidia.so")))
    configs = config_files(view)
    return mounts, links, configs


def config_files(view: HostView) -> list[tuple[str, str]]:
    """Graphics configuration files: ``(host path, fixed container path)``.

    Searched in ``/etc`` and the XDG data dirs inside the driver root, or only in
    the ``--config-search-path`` dirs, which are host paths (as in nvidia-ctk).
    """
    root = view.driver_root
    search = ["/etc", *view.xdg_data_dirs]
    if view.config_search_paths:
        root = Root("/")
        search = list(view.config_search_paths)
    out: list[tuple[str, str]] = []
    for name, container in _GRAPHICS_CONFIGS:
        hit = _first_file(root, [os.path.join(d, name) for d in search])
        if hit is None:
            view.missing.add(name)
        else:
            out.append((root.host(hit), container))
    arch = "aarch64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
    for name in (*_VULKAN_CONFIGS, f"vulkan/icd.d/nvidia_icd.{arch}.json"):
        # Also directly below the driver root: GKE installs the ICD files there.
        gke = [] if view.config_search_paths else ["/" + name]
        hit = _first_file(root, [*(os.path.join(d, name) for d in search), *gke])
        if hit is None:
            view.missing.add(name)
        else:
            out.append((root.host(hit), "/etc/" + name))
    return out


def _first_file(root: Root, candidates: list[str]) -> str | None:
    for rel in candidates:
        resolved = root.resolve(rel)
        if resolved is not None and root.is_file(resolved):
            return resolved
    return None


def ipc_sockets(view: HostView) -> list[str]:
    """Persistenced / fabric-manager sockets and the MPS pipe directory (root-relative).

    The reference looks for ``/tmp/nvidia-mps`` as a *file*, so the usual MPS
    directory is never mounted; cdikit mounts the directory.
    """
    root = view.driver_root
    out = []
    for name in ("nvidia-persistenced/socket", "nvidia-fabricmanager/socket"):
        hit = next((r for r in (f"/run/{name}", f"/var/run/{name}") if _is_socket_or_file(root, r)), None)
        if hit is None:
            view.missing.add(f"/run/{name}")
        else:
            out.append(hit)
    mps = root.lstat("/tmp/nvidia-mps")
    if mps is not None and stat.S_ISDIR(mps.st_mode):
        out.append("/tmp/nvidia-mps")
    else:
        view.missing.add("/tmp/nvidia-mps")
    return out


def _is_socket_or_file(root: Root, rel: str) -> bool:
    st = root.lstat(rel)
    return st is not None and (stat.S_ISSOCK(st.st_mode) or stat.S_ISREG(st.st_mode))


def firmware(view: HostView, version: str) -> list[str]:
    """GSP firmware files ``nvidia/<version>/gsp*.bin`` in the kernel's firmware dirs."""
    root = view.driver_root
    dirs = []
    try:
        with open(view.sys_root.host("/sys/module/firmware_class/parameters/path"), encoding="utf-8") as f:
            custom = f.read().strip()
        if custom:
            dirs.append(custom)
    except OSError:
        pass
    kr = view.kernel_release
    dirs += [f"/lib/firmware/updates/{kr}", "/lib/firmware/updates", f"/lib/firmware/{kr}", "/lib/firmware"]
    out: list[str] = []
    for d in dirs:
        for rel in root.glob(os.path.join(d, "nvidia", version, "gsp*.bin")):
            if rel not in out and root.is_file(rel):
                out.append(rel)
    if not out:
        view.missing.add(f"/lib/firmware/nvidia/{version}/gsp*.bin")
    return out


def binaries(view: HostView, names: tuple[str, ...] = DRIVER_BINARIES) -> list[tuple[str, str]]:
    """The first executable of each name in the binary dirs: ``(resolved file, path found at)``.

    The binary is mounted at the path it was found at (``/usr/bin/nvidia-smi``) even
    when that is a symlink (Debian's alternatives), from the file the link resolves to
    inside the driver root.
    """
    root = view.driver_root
    out = []
    for name in names:
        hit = None
        for d in view.binary_dirs:
            rel = os.path.join(d, name)
            resolved = root.resolve(rel)
            if resolved is None:
                continue
            st = root.lstat(resolved)
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
                hit = (resolved, rel)
                break
        if hit is None:
            view.missing.add(name)
        else:
            out.append(hit)
    return out
