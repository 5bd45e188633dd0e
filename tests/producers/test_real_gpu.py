"""Against a real NVIDIA driver: runs only where ``pynvml.nvmlInit()`` succeeds.

Generates the spec for this host (driver root /) and checks it against
``nvidia-smi -L``: one device per GPU (index and UUID names), ``gpu:mig`` and
``MIG-`` names for MIG devices, ``all``, and host files that exist.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def _driver_present() -> bool:
    try:
        import pynvml
    except ImportError:
        return False
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return False
    pynvml.nvmlShutdown()
    return True


pytestmark = pytest.mark.skipif(not _driver_present(), reason="no NVIDIA driver (pynvml.nvmlInit fails)")


def _smi_devices() -> list[tuple[str, str]]:
    """``[(name, uuid)]`` from ``nvidia-smi -L``: ``("0", GPU-..)`` or ``("0:1", MIG-..)``."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        pytest.skip("nvidia-smi not on PATH")
    out = subprocess.run([smi, "-L"], capture_output=True, text=True, check=True).stdout
    devices: list[tuple[str, str]] = []
    gpu = None
    mig_gpus: set[str] = set()
    for line in out.splitlines():
        m = re.match(r"GPU (\d+): .*\(UUID: (GPU-[^)]+)\)", line.strip())
        if m:
            gpu = m.group(1)
            devices.append((gpu, m.group(2)))
            continue
        m = re.match(r"MIG .*Device\s+(\d+): \(UUID: (MIG-[^)]+)\)", line.strip())
        if m and gpu is not None:
            mig_gpus.add(gpu)
            devices.append((f"{gpu}:{m.group(1)}", m.group(2)))
    # A GPU in MIG mode has no full-GPU device entry.
    return [(n, u) for n, u in devices if ":" in n or n not in mig_gpus]


def test_generated_devices_match_nvidia_smi(tmp_path: Path) -> None:
    from cdikit.producers.nvidia.generate import GenerateOptions, generate
    from cdikit.producers.output import encode
    from cdikit.specfile import read_spec

    result = generate(GenerateOptions(mode="auto"))
    assert result.mode == "nvml"
    names = [d.name for d in result.spec.devices or []]
    expected = _smi_devices()
    assert expected, "nvidia-smi lists no GPU"
    for name, uuid in expected:
        assert name in names, f"{name} missing from {names}"
        assert uuid in names, f"{uuid} missing from {names}"
    assert "all" in names
    assert len(names) == 2 * len(expected) + 1

    edits = [result.spec.edits, *(d.edits for d in result.spec.devices or [])]
    for e in edits:
        for n in e.device_nodes or []:
            assert os.path.exists(n.host_path or n.path), n
        for m in e.mounts or []:
            assert os.path.exists(m.host_path), m
    assert any(
        m.container_path.rsplit("/", 1)[-1].startswith("libcuda.so.") for m in result.spec.edits.mounts or []
    )

    path = tmp_path / "nvidia.yaml"
    path.write_bytes(encode(result.spec, "yaml"))
    assert sorted(read_spec(str(path)).devices) == sorted(names)
    print(path.read_text()[:4000])
