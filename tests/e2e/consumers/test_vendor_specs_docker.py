"""Specs from ``cdi generate amd|intel|devices`` used by a real consumer: Docker Engine 29 (native CDI).

The fake sysfs roots' device nodes are real character devices (numbers of a
host device outside the default allow list), so a node that opens inside the
container proves Docker read the generated spec, created the node and allowed it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e._support import EXTRA_DEVICES
from tests.e2e.consumers._harness import Consumers, run_cdi
from tests.e2e.consumers.test_docker import _run
from tests.producers import fakesys

pytestmark = pytest.mark.e2e

OPEN = 'for d in {nodes}; do [ -c $d ] && (exec 3<>$d) && echo "OPEN $d"; done; true'


@pytest.fixture(scope="module")
def vendor_specs(dockerd: Consumers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not fakesys.IS_ROOT or not EXTRA_DEVICES:
        pytest.skip("needs root and a host character device outside the default allow list")
    rdev = os.stat(EXTRA_DEVICES[0]).st_rdev
    root = tmp_path_factory.mktemp("vendor-host")
    fakesys.amd_gpu(
        root, "0000:03:00.0", card=1, render=128, location_id=0x300, unique_id=0xBEEF, node_index=1
    )
    fakesys.intel_gpu(root, "0000:00:02.0", "0x4680", driver="xe", card=0, render=200, bypath=False)
    fakesys.node(root, "/dev/ttyUSB3")
    for path in ("/dev/dri/card1", "/dev/dri/renderD128", "/dev/kfd", "/dev/dri/card0", "/dev/dri/renderD200",
                 "/dev/ttyUSB3"):  # fmt: skip
        (root / path.lstrip("/")).unlink()
        fakesys.node(root, path, rdev=rdev, mode=0o666)
    config = root / "serial.yaml"
    config.write_text("kind: example.com/serial\ndevices:\n  - name: usb{digits}\n    match: /dev/ttyUSB*\n")
    spec_dir = dockerd.spec_dir("dockerd")
    for args, name in (
        (["amd"], "amd.json"),
        (["intel"], "intel.json"),
        (["devices", str(config)], "serial.json"),
    ):
        result = run_cdi("generate", *args, "--root", str(root), "--output", str(spec_dir / name))
        assert result.rc == 0, result.err
    return spec_dir


@pytest.mark.parametrize(
    ("device", "nodes"),
    [
        ("amd.com/gpu=0", ["/dev/dri/card1", "/dev/dri/renderD128", "/dev/kfd"]),
        ("amd.com/gpu=0xBEEF", ["/dev/dri/card1", "/dev/dri/renderD128", "/dev/kfd"]),
        ("intel.com/gpu=0000-00-02-0-0x4680", ["/dev/dri/card0", "/dev/dri/renderD200"]),
        ("example.com/serial=usb3", ["/dev/ttyUSB3"]),
    ],
)
def test_docker_runs_generated_vendor_specs(
    dockerd: Consumers, vendor_specs: Path, device: str, nodes: list[str]
) -> None:
    rc, out = _run(dockerd, device, OPEN.format(nodes=" ".join(nodes)))
    assert rc == 0, out
    for node in nodes:
        assert f"OPEN {node}" in out, out
