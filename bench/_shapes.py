"""Spec shapes shared by the benchmarks: an NVIDIA-like spec with N per-GPU devices."""

from __future__ import annotations

from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, Mount, Spec

_LIBS = [
    "libEGL_nvidia.so",
    "libGLESv1_CM_nvidia.so",
    "libGLESv2_nvidia.so",
    "libGLX_nvidia.so",
    "libcuda.so",
    "libcudadebugger.so",
    "libnvcuvid.so",
    "libnvidia-allocator.so",
    "libnvidia-cfg.so",
    "libnvidia-eglcore.so",
    "libnvidia-encode.so",
    "libnvidia-fbc.so",
    "libnvidia-glcore.so",
    "libnvidia-glsi.so",
    "libnvidia-glvkspirv.so",
    "libnvidia-gpucomp.so",
    "libnvidia-ml.so",
    "libnvidia-ngx.so",
    "libnvidia-nvvm.so",
    "libnvidia-opencl.so",
    "libnvidia-opticalflow.so",
    "libnvidia-pkcs11.so",
    "libnvidia-ptxjitcompiler.so",
    "libnvidia-rtcore.so",
    "libnvidia-tls.so",
    "libnvoptix.so",
    "libvdpau_nvidia.so",
]
_BINS = [
    "nvidia-cuda-mps-control",
    "nvidia-cuda-mps-server",
    "nvidia-debugdump",
    "nvidia-persistenced",
    "nvidia-smi",
]
_RW = ["ro", "nosuid", "nodev", "rbind", "rprivate"]


def nvidia_like_spec(index: int, devices: int = 8, version: str = "0.5.0", node_type: str = "") -> Spec:
    """A spec shaped like ``nvidia-ctk cdi generate`` output (per-GPU nodes, spec-level libs/hooks).

    ``node_type="c"`` makes the spec injectable on a host without NVIDIA devices: a device node with a
    type and a major number is not looked up on the host.
    """
    drv = f"580.{index % 100:02d}.06"
    devs = []
    for gpu in range(devices):
        devs.append(
            Device(
                name=str(gpu) if gpu % 2 else f"gpu{gpu}",
                container_edits=ContainerEdits(
                    device_nodes=[
                        DeviceNode(
                            path=f"/dev/nvidia{gpu}",
                            host_path=f"/dev/nvidia{gpu}",
                            major=195,
                            minor=gpu,
                            file_mode=438,
                            permissions="rwm",
                            type=node_type,
                        ),
                        DeviceNode(
                            path=f"/dev/dri/card{gpu + 1}",
                            host_path=f"/dev/dri/card{gpu + 1}",
                            major=226,
                            minor=gpu + 1,
                            file_mode=432,
                            permissions="rwm",
                            type=node_type,
                        ),
                        DeviceNode(
                            path=f"/dev/dri/renderD{128 + gpu}",
                            host_path=f"/dev/dri/renderD{128 + gpu}",
                            major=226,
                            minor=128 + gpu,
                            file_mode=438,
                            permissions="rwm",
                            type=node_type,
                        ),
                    ],
                    hooks=[
                        Hook(
                            hook_name="createContainer",
                            path="/usr/bin/nvidia-cdi-hook",
                            args=[
                                "nvidia-cdi-hook",
                                "create-symlinks",
                                "--link",
                                f"../card{gpu + 1}::/dev/dri/by-path/pci-0000:{gpu:02x}:00.0-card",
                                "--link",
                                f"../renderD{128 + gpu}::/dev/dri/by-path/pci-0000:{gpu:02x}:00.0-render",
                            ],
                            env=["NVIDIA_CTK_DEBUG=false"],
                        ),
                    ],
                ),
            )
        )
    link_args = ["nvidia-cdi-hook", "create-symlinks"]
    for lib in _LIBS[:16]:
        link_args += ["--link", f"{lib}.{drv}::/usr/lib/x86_64-linux-gnu/{lib}.1"]
    edits = ContainerEdits(
        env=["NVIDIA_CTK_LIBCUDA_DIR=/usr/lib/x86_64-linux-gnu", "NVIDIA_VISIBLE_DEVICES=void"],
        device_nodes=[
            DeviceNode(
                path="/dev/nvidia-modeset",
                host_path="/dev/nvidia-modeset",
                major=195,
                minor=254,
                file_mode=438,
                permissions="rwm",
                type=node_type,
            ),
            DeviceNode(
                path="/dev/nvidia-uvm",
                host_path="/dev/nvidia-uvm",
                major=508,
                file_mode=438,
                permissions="rwm",
                type=node_type,
            ),
            DeviceNode(
                path="/dev/nvidiactl",
                host_path="/dev/nvidiactl",
                major=195,
                minor=255,
                file_mode=438,
                permissions="rwm",
                type=node_type,
            ),
        ],
        hooks=[
            Hook(
                hook_name="createContainer",
                path="/usr/bin/nvidia-cdi-hook",
                args=link_args,
                env=["NVIDIA_CTK_DEBUG=false"],
            ),
            Hook(
                hook_name="createContainer",
                path="/usr/bin/nvidia-cdi-hook",
                args=["nvidia-cdi-hook", "update-ldcache", "--folder", "/usr/lib/x86_64-linux-gnu"],
                env=["NVIDIA_CTK_DEBUG=false"],
            ),
        ],
        mounts=[
            Mount(
                host_path=f"/usr/lib/x86_64-linux-gnu/{lib}.{drv}",
                container_path=f"/usr/lib/x86_64-linux-gnu/{lib}.{drv}",
                options=list(_RW),
            )
            for lib in _LIBS
        ]
        + [
            Mount(host_path=f"/usr/bin/{b}", container_path=f"/usr/bin/{b}", options=list(_RW)) for b in _BINS
        ],
    )
    return Spec(cdi_version=version, kind=f"nvidia{index}.com/gpu", devices=devs, container_edits=edits)


def realistic_bytes(spec: Spec, fmt: str) -> bytes:
    """``spec`` written the way hand-written specs and other producers write them.

    JSON spells out zero values (``"minor": 0``, ``"major": 0``) and is indented;
    YAML carries a header comment and a comment per device. cdikit's own encoder
    omits zero values and writes no comments, which hid slow paths for such files.
    """
    import json

    import msgspec

    from cdikit.spec.encode import encode_spec

    if fmt == "json":
        doc = msgspec.to_builtins(spec)
        for edits in [doc.get("containerEdits") or {}] + [
            d.get("containerEdits") or {} for d in doc["devices"]
        ]:
            for node in edits.get("deviceNodes") or []:
                node.setdefault("major", 0)
                node.setdefault("minor", 0)
        return json.dumps(doc, indent=2).encode()
    lines = ["# Generated by nvidia-ctk: do not edit", "---"]
    for line in encode_spec(spec, "yaml").decode().splitlines():
        if line == "---":
            continue
        if line.lstrip().startswith("- name:"):
            lines.append(line[: len(line) - len(line.lstrip())] + "# one GPU")
        lines.append(line)
    return ("\n".join(lines) + "\n").encode()
