"""On a host with an NVIDIA GPU: ``NVIDIA_VISIBLE_DEVICES`` through ``cdi-runtime`` gives a
real runc container the real GPU device nodes (and the device cgroup lets it open them).

The spec is written by the test from the host's own nodes, so this checks the
shim and the injection, not a generator. Skipped on hosts without ``/dev/nvidia0``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e._support import ENV_REQUESTS, Bundle, run_runtime, write_runtime_config, write_spec

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.path.exists("/dev/nvidia0"), reason="no NVIDIA GPU (/dev/nvidia0) on this host"
    ),
]


def _gpu_uuid() -> str | None:
    for info in glob.glob("/proc/driver/nvidia/gpus/*/information"):
        match = re.search(r"GPU UUID:\s*(\S+)", Path(info).read_text(encoding="utf-8", errors="replace"))
        if match:
            return match.group(1)
    smi = shutil.which("nvidia-smi")
    if smi:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"UUID: (GPU-[0-9a-f-]+)", out)
        if match:
            return match.group(1)
    return None


def _node(path: str) -> dict[str, Any]:
    return {"path": path}


@pytest.mark.parametrize("request_kind", ["index", "uuid", "all"])
def test_real_gpu_nodes_reach_the_container(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path, request_kind: str
) -> None:
    uuid = _gpu_uuid()
    if request_kind == "uuid" and uuid is None:
        pytest.skip("cannot read the GPU UUID")
    control = [p for p in ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools") if os.path.exists(p)]
    gpu = {"deviceNodes": [_node("/dev/nvidia0")], "env": ["GPU_GIVEN=0"]}
    devices = [{"name": "0", "containerEdits": gpu}, {"name": "all", "containerEdits": gpu}]
    if uuid:
        devices.append({"name": uuid, "containerEdits": gpu})
    spec_dir = tmp_path / "cdi"
    write_spec(spec_dir, "nvidia.json", {
        "cdiVersion": "0.5.0", "kind": "nvidia.com/gpu",
        "containerEdits": {"deviceNodes": [_node(p) for p in control], "env": ["NVIDIA_VISIBLE_DEVICES=void"]},
        "devices": devices,
    })  # fmt: skip
    config = write_runtime_config(tmp_path / "runtime.toml", spec_dir, **ENV_REQUESTS)
    value = {"index": "0", "uuid": uuid or "", "all": "all"}[request_kind]
    checks = " ".join(f"{p}" for p in ["/dev/nvidia0", *control])
    bundle.set_script(
        f"echo GPU_GIVEN=$GPU_GIVEN; for d in {checks}; do "
        '[ -c $d ] && (exec 3<>$d) && echo "OPEN $d"; done; true',
        env=[f"NVIDIA_VISIBLE_DEVICES={value}"],
    )

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "GPU_GIVEN=0" in out
    for path in ["/dev/nvidia0", *control]:
        assert f"OPEN {path}" in out, done.stdout


def test_gpu_is_not_there_without_a_request(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    config = write_runtime_config(tmp_path / "runtime.toml", tmp_path / "cdi")
    bundle.set_script("[ -c /dev/nvidia0 ] && echo HAS_GPU; true")
    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)
    assert done.returncode == 0, done.stderr
    assert "HAS_GPU" not in done.stdout
