"""On a host with an NVIDIA driver: JIT-CDI and the NVIDIA hooks with the real GPU (issue 16).

No spec file: ``cdi-runtime`` with ``default-kind = "runtime.nvidia.com/gpu"`` generates
GPU 0's edits from the real NVML at container start; runc runs cdikit's hooks
(``update-application-profile``, ``disable-device-node-modification`` among them)
and ``nvidia-smi -L`` in the busybox container prints the GPU. Skipped without a
driver, runc or root (see ``scripts/gpu-check.sh``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e._support import Bundle, run_runtime, write_runtime_config
from tests.e2e.test_gpu_generated_spec import _NO_DRIVER, _copy_host_libraries

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_NO_DRIVER is not None, reason=str(_NO_DRIVER))]


def test_jit_cdi_runs_nvidia_smi_with_the_real_gpu(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdikit.producers.nvidia.generate import GenerateOptions, generate

    host_smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True).stdout
    uuid = re.search(r"UUID: (GPU-[0-9a-f-]+)", host_smi)
    assert uuid, host_smi
    toolkit = tmp_path / "config.toml"
    toolkit.write_text(f'[nvidia-ctk]\npath = "{tools["cdi-hook"]}"\n')
    monkeypatch.setenv("NVIDIA_CTK_CONFIG_FILE_PATH", str(toolkit))
    monkeypatch.delenv("CDIKIT_FAKE_NVML", raising=False)

    # What the JIT spec will mount, to point the busybox container's loader at it.
    planned = generate(GenerateOptions(mode="auto", device_ids=("0",), hook_path=str(tools["cdi-hook"])))
    mounts = [m.container_path for m in planned.spec.edits.mounts or []]
    smi = shutil.which("nvidia-smi")
    assert smi is not None
    _copy_host_libraries(smi, bundle.rootfs)
    smi_in_container = next(p for p in mounts if p.endswith("/nvidia-smi"))
    lib_dirs = {"/" + str(p.parent.relative_to(bundle.rootfs)) for p in bundle.rootfs.rglob("libc.so.6")}
    lib_dirs |= {os.path.dirname(p) for p in mounts if ".so" in os.path.basename(p)}
    bundle.set_script(
        f"{smi_in_container} -L; grep ModifyDeviceFiles /proc/driver/nvidia/params; "
        "cat /etc/nvidia/nvidia-application-profiles-rc.d/10-container.conf; echo; true",
        env=["NVIDIA_VISIBLE_DEVICES=0", f"LD_LIBRARY_PATH={':'.join(sorted(lib_dirs))}"],
    )
    config = write_runtime_config(
        tmp_path / "rt.toml", tmp_path / "no-specs", **{"default-kind": "runtime.nvidia.com/gpu"}
    )

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, f"stdout={done.stdout!r} stderr={done.stderr!r}"
    assert uuid.group(1) in done.stdout, done.stdout
    assert '"EGLVisibleDGPUDevices",0x' in done.stdout  # update-application-profile ran
    params = Path("/proc/driver/nvidia/params")
    if params.exists() and "ModifyDeviceFiles: 1" in params.read_text():
        assert "ModifyDeviceFiles: 0" in done.stdout  # disable-device-node-modification ran
    assert not (tmp_path / "no-specs").exists()
