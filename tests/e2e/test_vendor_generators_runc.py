"""Specs from ``cdi generate amd|intel|devices`` on fake sysfs roots, used by real runc containers.

The fake roots' device nodes are real character devices cloned from a host
device outside runc's default allow list, so a node that opens inside the
container proves the generated spec's node and its cgroup rule arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e._support import EXTRA_DEVICES, Bundle, run_runtime, write_runtime_config
from tests.producers import fakesys

pytestmark = pytest.mark.e2e

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _generate(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "cdikit", "generate", *args, "--format", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


@pytest.fixture
def rdev() -> int:
    if not fakesys.IS_ROOT or not EXTRA_DEVICES:
        pytest.skip("needs root and a host character device outside runc's default allow list")
    return os.stat(EXTRA_DEVICES[0]).st_rdev


SCRIPT = r"""
for d in $NODES; do
  [ -c $d ] && echo "NODE $d"
  [ -c $d ] && (exec 3<>$d) 2>/dev/null && echo "OPEN $d"
done
true
"""


@pytest.mark.parametrize(
    ("generator", "request_name", "nodes"),
    [
        ("amd", "amd.com/gpu=1", ["/dev/dri/card2", "/dev/dri/renderD129", "/dev/kfd"]),
        ("amd", "amd.com/gpu=0xF00D", ["/dev/dri/card2", "/dev/dri/renderD129", "/dev/kfd"]),
        ("intel", "intel.com/gpu=0000-03-00-0-0x56c0", ["/dev/dri/card1", "/dev/dri/renderD129"]),
        ("devices", "example.com/serial=usb7", ["/dev/ttyUSB7"]),
    ],
)
def test_generated_spec_reaches_a_runc_container(
    bundle: Bundle,
    tools: dict[str, Path],
    tmp_path: Path,
    rdev: int,
    generator: str,
    request_name: str,
    nodes: list[str],
) -> None:
    root = tmp_path / "host"
    if generator == "amd":
        for gpu in ((0x300, 1, 128, 0xA1), (0x8300, 2, 129, 0xF00D)):
            loc, card, render, uid = gpu
            fakesys.amd_gpu(root, f"0000:{loc >> 8:02x}:00.0", card=card, render=render, location_id=loc,
                            unique_id=uid, node_index=card)  # fmt: skip
        args = ["amd", "--root", str(root)]
    elif generator == "intel":
        fakesys.intel_gpu(root, "0000:03:00.0", "0x56c0", driver="i915", card=1, render=129, bypath=False)
        args = ["intel", "--root", str(root)]
    else:
        fakesys.node(root, "/dev/ttyUSB7")
        config = tmp_path / "serial.yaml"
        config.write_text(
            "kind: example.com/serial\ndevices:\n  - name: usb{digits}\n    match: /dev/ttyUSB*\n"
        )
        args = ["devices", str(config), "--root", str(root)]
    # Re-create every node of the fake root with the number of a device runc does not allow by default.
    for path in nodes:
        target = root / path.lstrip("/")
        target.unlink()
        fakesys.node(root, path, rdev=rdev, mode=0o666)
    spec = _generate(*args)
    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    (spec_dir / f"{generator}.json").write_text(json.dumps(spec), encoding="utf-8")
    config_file = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    bundle.set_script(SCRIPT, env=["NODES=" + " ".join(nodes)])
    cfg = bundle.config
    cfg["annotations"] = {"cdi.k8s.io/e2e": request_name}
    bundle.config = cfg

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config_file)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    for path in nodes:
        assert f"NODE {path}" in out
        assert f"OPEN {path}" in out
