"""Build fake NVIDIA driver roots for the generator tests (the layout of make-fake-root.sh).

Libraries are minimal ELF64 shared objects carrying a real DT_SONAME; device
nodes are real character devices (``os.mknod``) when we may create them, else
regular files holding ``{"major", "minor", "mode", "gid"}`` (the generator reads
those when ``fake_device_nodes`` is on). Also writes the fake sysfs/procfs bits
the reference harness bind-mounted, and a fake NVML JSON description.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

VERSION = "580.65.06"
LIBDIR = "usr/lib/x86_64-linux-gnu"
GPU0_UUID = "GPU-11111111-2222-3333-4444-555555555555"
GPU1_UUID = "GPU-99999999-8888-7777-6666-555555555555"
MIG_A = "MIG-bbbbbbbb-cccc-dddd-eeee-ffffffffffff"  # gpu1, gi 1 -> caps 21/22
MIG_B = "MIG-12121212-3434-5656-7878-909090909090"  # gpu1, gi 2 -> caps 30/31


def elf_with_soname(soname: str | None) -> bytes:
    """A tiny but well-formed ELF64 x86_64 shared object (one PT_LOAD, one PT_DYNAMIC)."""
    strtab = b"\0" + (soname or "").encode() + b"\0"
    phoff, phentsize, phnum = 64, 56, 2
    dyn_off = phoff + phentsize * phnum
    dyn = b""
    if soname:
        dyn += struct.pack("<qQ", 14, 1)  # DT_SONAME -> offset 1 in strtab
    strtab_off = dyn_off + 16 * (3 if soname else 2)
    dyn += struct.pack("<qQ", 5, strtab_off) + struct.pack("<qQ", 0, 0)  # DT_STRTAB, DT_NULL
    total = strtab_off + len(strtab)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = struct.pack("<16sHHIQQQIHHHHHH", ident, 3, 62, 1, 0, phoff, 0, 0, 64, phentsize, phnum, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, 0, 0, total, total, 0x1000)
    dynamic = struct.pack("<IIQQQQQQ", 2, 6, dyn_off, dyn_off, dyn_off, len(dyn), len(dyn), 8)
    return header + load + dynamic + dyn + strtab


@dataclass
class FakeRoot:
    path: Path
    real_nodes: bool

    def __str__(self) -> str:
        return str(self.path)


def _write(p: Path, data: bytes | str = b"", mode: int | None = None) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        p.chmod(mode)


def _symlink(target: str, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def make_node(root: Path, rel: str, major: int, minor: int, mode: int, gid: int = 0) -> bool:
    """A character device at ``root/rel``; a JSON stand-in file if mknod is not allowed."""
    p = root / rel.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mknod(p, 0o020000 | mode, os.makedev(major, minor))
        os.chmod(p, mode)  # mknod applies the umask
        if gid:
            os.chown(p, -1, gid)
        return True
    except PermissionError:
        _write(p, json.dumps({"major": major, "minor": minor, "mode": mode, "gid": gid}))
        return False


def make_lib(dirpath: Path, name: str, soname: str | None) -> None:
    _write(dirpath / name, elf_with_soname(soname), 0o755)


def build_nvidia_root(path: Path) -> FakeRoot:
    """The x86_64 driver root of make-fake-root.sh (driver 580.65.06, 2 GPUs, MIG caps)."""
    r = path
    lib = r / LIBDIR
    v = VERSION
    sonames = {
        "libGLX_nvidia": "libGLX_nvidia.so.0",
        "libEGL_nvidia": "libEGL_nvidia.so.0",
        "libnvidia-nvvm": "libnvidia-nvvm.so.4",
    }
    same = {"libnvidia-glcore", "libnvidia-glsi", "libnvidia-eglcore", "libnvidia-tls", "libnvidia-gpucomp"}
    for base in [
        "libcuda",
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
        "libnvidia-glcore",
        "libnvidia-allocator",
        "libnvidia-gpucomp",
        "libnvidia-glsi",
        "libnvidia-eglcore",
        "libnvidia-tls",
    ]:
        so = f"{base}.so.{v}" if base in same else sonames.get(base, f"{base}.so.1")
        make_lib(lib, f"{base}.so.{v}", so)
        if so != f"{base}.so.{v}":
            _symlink(f"{base}.so.{v}", lib / so)
    _symlink("libcuda.so.1", lib / "libcuda.so")
    _symlink("libnvidia-ml.so.1", lib / "libnvidia-ml.so")
    make_lib(lib / "vdpau", f"libvdpau_nvidia.so.{v}", "libvdpau_nvidia.so.1")
    _symlink(f"libvdpau_nvidia.so.{v}", lib / "vdpau" / "libvdpau_nvidia.so.1")
    make_lib(lib, "libnvidia-nvvm70.so.4", "libnvidia-nvvm70.so.4")
    make_lib(lib, "libnvidia-egl-gbm.so.1.1.2", "libnvidia-egl-gbm.so.1")
    _symlink("libnvidia-egl-gbm.so.1.1.2", lib / "libnvidia-egl-gbm.so.1")
    make_lib(lib, "libnvidia-egl-wayland.so.1.1.19", "libnvidia-egl-wayland.so.1")
    _symlink("libnvidia-egl-wayland.so.1.1.19", lib / "libnvidia-egl-wayland.so.1")
    _symlink("../libnvidia-allocator.so.1", lib / "gbm" / "nvidia-drm_gbm.so")
    make_lib(lib / "nvidia" / "xorg", f"libglxserver_nvidia.so.{v}", "libglxserver_nvidia.so.1")
    make_lib(lib / "nvidia" / "xorg", "nvidia_drv.so", "nvidia_drv.so")
    for b in (
        "nvidia-smi",
        "nvidia-debugdump",
        "nvidia-persistenced",
        "nvidia-cuda-mps-control",
        "nvidia-cuda-mps-server",
    ):
        _write(r / "usr/bin" / b, "#!/bin/sh\n", 0o755)
    _write(r / f"lib/firmware/nvidia/{v}/gsp_ga10x.bin")
    _write(r / f"lib/firmware/nvidia/{v}/gsp_tu10x.bin")
    _write(r / "run/nvidia-persistenced/socket")
    (r / "tmp/nvidia-mps").mkdir(parents=True)
    _write(r / "etc/vulkan/icd.d/nvidia_icd.json", "{}\n")
    _write(r / "usr/share/glvnd/egl_vendor.d/10_nvidia.json", "{}\n")
    _write(r / "usr/share/egl/egl_external_platform.d/15_nvidia_gbm.json", "{}\n")
    _write(r / "usr/share/egl/egl_external_platform.d/10_nvidia_wayland.json", "{}\n")
    _write(r / "etc/OpenCL/vendors/nvidia.icd", "libnvidia-opencl.so.1\n")
    _write(r / "usr/share/X11/xorg.conf.d/10-nvidia.conf", "# fake\n")
    _write(r / "usr/share/nvidia/nvoptix.bin")
    _write(r / "etc/cufile.json", "{}\n")
    (r / "run/udev").mkdir(parents=True)
    nodes = [
        ("/dev/nvidiactl", 195, 255, 0o666, 0),
        ("/dev/nvidia0", 195, 0, 0o666, 0),
        ("/dev/nvidia1", 195, 1, 0o666, 0),
        ("/dev/nvidia-modeset", 195, 254, 0o666, 0),
        ("/dev/nvidia-uvm", 508, 0, 0o666, 0),
        ("/dev/nvidia-uvm-tools", 508, 1, 0o666, 0),
        ("/dev/nvidia-caps/nvidia-cap1", 511, 1, 0o400, 0),
        ("/dev/nvidia-caps/nvidia-cap2", 511, 2, 0o444, 0),
        *((f"/dev/nvidia-caps/nvidia-cap{n}", 511, n, 0o444, 0) for n in (21, 22, 30, 31)),
        ("/dev/nvidia-caps-imex-channels/channel0", 234, 0, 0o666, 0),
        ("/dev/nvidia-caps-imex-channels/channel1", 234, 1, 0o666, 0),
        ("/dev/nvidia-fs0", 237, 0, 0o666, 0),
        ("/dev/gdrdrv", 238, 0, 0o666, 0),
        ("/dev/infiniband/uverbs0", 231, 192, 0o666, 0),
        ("/dev/infiniband/rdma_cm", 10, 122, 0o666, 0),
        ("/dev/nvidia-nvswitchctl", 239, 255, 0o666, 0),
        ("/dev/nvidia-nvswitch0", 239, 0, 0o666, 0),
        ("/dev/dri/card1", 226, 1, 0o660, 44),
        ("/dev/dri/renderD128", 226, 128, 0o660, 105),
    ]
    real = all([make_node(r, *n) for n in nodes])
    _symlink("../card1", r / "dev/dri/by-path/pci-0000:41:00.0-card")
    _symlink("../renderD128", r / "dev/dri/by-path/pci-0000:41:00.0-render")
    _write(r / "etc/ld.so.conf.d/nvidia.conf", f"/{LIBDIR}\n")
    _write(r / "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    # What the harness bind-mounted over the host's /sys and /proc.
    for name in ("card1", "renderD128"):
        (r / "sys/bus/pci/devices/0000:41:00.0/drm" / name).mkdir(parents=True)
    _write(
        r / "proc/driver/nvidia-caps/mig-minors",
        "gpu1/gi1/access 21\ngpu1/gi1/ci0/access 22\ngpu1/gi2/access 30\ngpu1/gi2/ci0/access 31\n",
    )
    return FakeRoot(r, real)


def harness_nvml() -> dict[str, object]:
    """The fake NVML of the reference harness: GPU0 plain, GPU1 in MIG mode with two 1g devices."""
    return {
        "driver_version": VERSION,
        "cuda_version": 13000,
        "gpus": [
            {
                "index": 0,
                "uuid": GPU0_UUID,
                "minor": 0,
                "pci_bus_id": "00000000:41:00.0",
                "name": "NVIDIA A100",
            },
            {
                "index": 1,
                "uuid": GPU1_UUID,
                "minor": 1,
                "pci_bus_id": "00000000:42:00.0",
                "name": "NVIDIA A100",
                "mig_mode": True,
                "mig_devices": [
                    {"index": 0, "uuid": MIG_A, "gi": 1, "ci": 0, "profile": "1g.5gb"},
                    {"index": 1, "uuid": MIG_B, "gi": 2, "ci": 0, "profile": "1g.5gb"},
                ],
            },
        ],
    }


def write_nvml(path: Path, description: dict[str, object]) -> Path:
    path.write_text(json.dumps(description, indent=2))
    return path


def build_tegra_root(path: Path) -> FakeRoot:
    """The Orin-like root of make-fake-tegra-root.sh with its CSV files."""
    r = path
    lib = r / "usr/lib/aarch64-linux-gnu"
    c = r / "etc/nvidia-container-runtime/host-files-for-container.d"
    make_lib(lib / "nvidia", "libcuda.so.1.1", "libcuda.so.1")
    _symlink("libcuda.so.1.1", lib / "nvidia/libcuda.so.1")
    _symlink("libcuda.so.1", lib / "nvidia/libcuda.so")
    _symlink("nvidia/libcuda.so", lib / "libcuda.so")
    make_lib(lib / "nvidia", "libnvrm_gpu.so", "libnvrm_gpu.so")
    make_lib(lib / "tegra-egl", "libEGL_nvidia.so.0", "libEGL_nvidia.so.0")
    make_lib(lib / "nvidia", "libnvidia-ptxjitcompiler.so.540.4.0", "libnvidia-ptxjitcompiler.so.1")
    _symlink("libnvidia-ptxjitcompiler.so.540.4.0", lib / "nvidia/libnvidia-ptxjitcompiler.so.1")
    _write(lib / "nvidia/nvidia_icd.json", "{}\n")
    _symlink("/usr/lib/aarch64-linux-gnu/nvidia/nvidia_icd.json", r / "etc/vulkan/icd.d/nvidia_icd.json")
    _write(r / "usr/sbin/nvidia-smi", "#!/bin/sh\n", 0o755)
    (r / "dev/dri/by-path").mkdir(parents=True)
    real = all(
        [
            make_node(r, "/dev/nvidia0", 195, 0, 0o666),
            make_node(r, "/dev/nvidiactl", 195, 255, 0o666),
            make_node(r, "/dev/nvmap", 10, 125, 0o666),
            make_node(r, "/dev/nvgpu/igpu0/ctrl", 498, 0, 0o666),
            make_node(r, "/dev/nvhost-gpu", 499, 0, 0o666),
        ]
    )
    _write(
        c / "devices.csv",
        "dev, /dev/nvidia0\ndev, /dev/nvidiactl\ndev, /dev/nvmap\ndev, /dev/nvgpu/igpu0/ctrl\n"
        "dev, /dev/nvhost-gpu\ndev, /dev/nvhost-missing\ndir, /dev/dri/by-path\n",
    )
    _write(
        c / "drivers.csv",
        "lib, /usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1\n"
        "lib, /usr/lib/aarch64-linux-gnu/nvidia/libnvrm_gpu.so\n"
        "lib, /usr/lib/aarch64-linux-gnu/nvidia/libnvidia-ptxjitcompiler.so.540.4.0\n"
        "lib, /usr/lib/aarch64-linux-gnu/tegra-egl/libEGL_nvidia.so.0\n"
        "lib, /usr/lib/aarch64-linux-gnu/nvidia/nvidia_icd.json\n"
        "lib, /usr/sbin/nvidia-smi\n"
        "sym, /usr/lib/aarch64-linux-gnu/libcuda.so\n"
        "sym, /usr/lib/aarch64-linux-gnu/nvidia/libnvidia-ptxjitcompiler.so.1\n"
        "sym, /etc/vulkan/icd.d/nvidia_icd.json\n"
        "this line is ignored\n",
    )
    return FakeRoot(r, real)


def containerised_driver_root(base: Path) -> FakeRoot:
    """A GPU Operator style driver container root at ``base/run/nvidia/driver``.

    It has its own ``libnvidia-ml.so.1`` (the host has none: pair it with a fake NVML
    description saying ``"host_library": false``); ``base`` plays the host's ``/``.
    """
    return build_nvidia_root(base / "run/nvidia/driver")


def coherent_nvml() -> dict[str, object]:
    """Two full GPUs: GPU0 in ATS addressing mode (cache-coherent), GPU1 not."""
    desc = harness_nvml()
    gpus = [dict(g) for g in desc["gpus"]]  # type: ignore[attr-defined]
    gpus[0]["addressing_mode"] = "ats"
    gpus[1] = {k: v for k, v in gpus[1].items() if k not in ("mig_mode", "mig_devices")}
    gpus[1]["addressing_mode"] = "hmm"
    return {**desc, "gpus": gpus}


def jit_host(base: Path, *, hook_path: str, jit_table: str = "") -> tuple[FakeRoot, dict[str, str]]:
    """A JIT-CDI host: containerised driver root, fake NVML, the toolkit's config.toml naming both.

    Returns the root and the environment the shim needs (set it with monkeypatch);
    ``jit_table`` is the body of ``[nvidia-container-runtime.modes.jit-cdi]``.
    """
    root = containerised_driver_root(base / "host")
    nvml = write_nvml(base / "nvml.json", {**harness_nvml(), "host_library": False})
    config = base / "config.toml"
    config.write_text(
        f'[nvidia-container-cli]\nroot = "{root.path}"\n[nvidia-ctk]\npath = "{hook_path}"\n'
        f"[nvidia-container-runtime.modes.jit-cdi]\n{jit_table}"
    )
    return root, {
        "CDIKIT_FAKE_NVML": str(nvml),
        "NVIDIA_CTK_CONFIG_FILE_PATH": str(config),
        # the fake /sys (DRM names) and /proc (MIG caps minors) are in the root
        "CDIKIT_NVIDIA_SYSFS_ROOT": str(root.path),
        "CDIKIT_NVIDIA_PROCFS_ROOT": str(root.path),
    }


def compile_shared(source: str, dest: Path, *flags: str) -> Path | None:
    """Compile C ``source`` into the shared object ``dest`` (fake driver libraries); ``None`` without cc."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = dest.with_suffix(".c")
    src.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [cc, "-shared", "-fPIC", "-O1", *flags, "-o", str(dest), str(src)], capture_output=True, check=False
    )
    src.unlink()
    return dest if done.returncode == 0 else None
