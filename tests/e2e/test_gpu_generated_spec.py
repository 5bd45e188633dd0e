"""On a host with an NVIDIA driver: the spec cdikit *generates* gives a real runc container a working GPU.

The whole chain runs for real: ``cdi generate nvidia`` code against NVML and the
driver files, the spec written into a spec dir, ``cdi-runtime`` injecting
``nvidia.com/gpu=0`` into a busybox bundle, ``cdi-hook`` hooks run by runc, and
``nvidia-smi -L`` inside the container printing the GPU the host sees. Skipped
(with the reason) where there is no driver, no runc or no root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e._support import Bundle, run_runtime, write_runtime_config


def _driver() -> str | None:
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as err:
        return f"no NVIDIA driver ({err})"
    pynvml.nvmlShutdown()
    return None if shutil.which("nvidia-smi") else "nvidia-smi is not on PATH"


_NO_DRIVER = _driver()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_NO_DRIVER is not None, reason=str(_NO_DRIVER))]


def _copy_host_libraries(binary: str, rootfs: Path) -> None:
    """Copy the host C library pieces ``binary`` needs (not the NVIDIA ones: the spec mounts those)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    for path in re.findall(r"(/\S+)", out):
        if "nvidia" in os.path.basename(path) or not os.path.exists(path):
            continue
        real = os.path.realpath(path)
        for target in {path, real}:
            dest = rootfs / target.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                shutil.copy2(real, dest)


def test_generated_spec_runs_nvidia_smi_in_a_container(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path
) -> None:
    from cdikit.producers.nvidia.generate import GenerateOptions, generate
    from cdikit.spec.encode import write_spec_file

    host_smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True).stdout
    uuid = re.search(r"UUID: (GPU-[0-9a-f-]+)", host_smi)
    assert uuid, host_smi

    result = generate(GenerateOptions(mode="auto", hook_path=str(tools["cdi-hook"])))
    spec_dir = tmp_path / "cdi"
    write_spec_file(result.spec, str(spec_dir / "nvidia.yaml"))

    smi = shutil.which("nvidia-smi")
    assert smi is not None
    _copy_host_libraries(smi, bundle.rootfs)
    mounts = [m.container_path for m in result.spec.edits.mounts or []]
    smi_in_container = next(p for p in mounts if p.endswith("/nvidia-smi"))
    # The container's libc where the host has it, the driver's libraries where the spec mounts them.
    lib_dirs = {"/" + str(p.parent.relative_to(bundle.rootfs)) for p in bundle.rootfs.rglob("libc.so.6")}
    lib_dirs |= {os.path.dirname(p) for p in mounts if ".so" in os.path.basename(p)}
    env = [f"LD_LIBRARY_PATH={':'.join(sorted(lib_dirs))}"]
    cfg = bundle.config
    cfg["process"]["args"] = [smi_in_container, "-L"]
    cfg["process"]["env"] = [*cfg["process"]["env"], *env]
    cfg["annotations"] = {"cdi.k8s.io/test": "nvidia.com/gpu=0"}
    bundle.config = cfg

    done = run_runtime(
        [str(tools["cdi-runtime"])], bundle, config=write_runtime_config(tmp_path / "rt.toml", spec_dir)
    )

    assert done.returncode == 0, f"stdout={done.stdout!r} stderr={done.stderr!r}"
    assert uuid.group(1) in done.stdout, done.stdout
