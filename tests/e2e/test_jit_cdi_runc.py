"""JIT-CDI through ``cdi-runtime`` in front of a real runc (issue 16).

No spec file exists: ``NVIDIA_VISIBLE_DEVICES=0`` with ``default-kind =
"runtime.nvidia.com/gpu"`` makes the shim generate the spec for GPU 0 from the
fake containerised driver root (named by the NVIDIA toolkit's config.toml) and
the fake NVML, inject it, and runc starts the container with exactly that GPU's
nodes, the driver files and cdikit's hooks having run inside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e._support import ENV_REQUESTS, Bundle, run_runtime, write_runtime_config
from tests.producers import fakeroot

pytestmark = pytest.mark.e2e

SCRIPT = r"""
for d in /dev/nvidia0 /dev/nvidia1 /dev/nvidiactl /dev/nvidia-uvm /dev/dri/card1; do
  [ -c $d ] && echo "NODE $d"
done
[ -f /usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06 ] && echo "LIB libcuda"
[ -L /usr/lib/x86_64-linux-gnu/libcuda.so ] && echo "LINK $(readlink /usr/lib/x86_64-linux-gnu/libcuda.so)"
[ -f /usr/bin/nvidia-smi ] && echo "BIN nvidia-smi"
echo "ENV $NVIDIA_VISIBLE_DEVICES"
cat /etc/nvidia/nvidia-application-profiles-rc.d/10-container.conf 2>/dev/null && echo
true
"""


@pytest.fixture
def jit_setup(tmp_path: Path, tools: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    # busybox has no ldconfig: the ldcache hook would have nothing to run
    root, env = fakeroot.jit_host(
        tmp_path, hook_path=str(tools["cdi-hook"]), jit_table='nvcdi-disable-hooks = ["update-ldcache"]\n'
    )
    if not root.real_nodes:
        pytest.skip("needs real device nodes in the fake root (mknod)")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "runtime.toml"
    return write_runtime_config(
        config, tmp_path / "no-specs", **{"default-kind": "runtime.nvidia.com/gpu"}, **ENV_REQUESTS
    )


@pytest.mark.parametrize(
    ("visible", "nodes"),
    [
        ("0", {"/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/dri/card1"}),
        ("none", {"/dev/nvidiactl", "/dev/nvidia-uvm"}),
    ],
)
def test_jit_cdi_in_a_real_container(
    bundle: Bundle, tools: dict[str, Path], jit_setup: Path, tmp_path: Path, visible: str, nodes: set[str]
) -> None:
    bundle.set_script(SCRIPT, env=[f"NVIDIA_VISIBLE_DEVICES={visible}"])
    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=jit_setup)
    assert done.returncode == 0, done.stderr + (
        jit_setup.with_suffix(".log").read_text() if jit_setup.with_suffix(".log").exists() else ""
    )
    out = done.stdout.splitlines()
    assert {line[5:] for line in out if line.startswith("NODE ")} == nodes
    assert "LIB libcuda" in out and "BIN nvidia-smi" in out
    assert "LINK libcuda.so.1" in out  # cdikit's create-symlinks hook ran in the container
    assert "ENV void" in out
    # cdi-hook update-application-profile ran in the container: EGL sees GPU 0 only.
    assert any('"EGLVisibleDGPUDevices",0x1]' in line for line in out) == (visible == "0")
    assert not (tmp_path / "no-specs").exists()  # nothing was written on the host


def test_jit_cdi_unknown_gpu_fails_the_create(
    bundle: Bundle, tools: dict[str, Path], jit_setup: Path
) -> None:
    bundle.set_script(SCRIPT, env=["NVIDIA_VISIBLE_DEVICES=7"])
    before = bundle.config_path.read_bytes()
    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=jit_setup)
    assert done.returncode == 1 and "runtime.nvidia.com/gpu=7" in done.stderr
    assert bundle.config_path.read_bytes() == before
