"""containerd (1.6 has no CDI of its own) + ``cdi-runtime`` as its runc binary.

The test starts its own containerd on a private socket, root and state dir,
then runs containers through ``ctr run --runc-binary <cdi-runtime>``: the
requested CDI devices reach the container, and an unresolvable request makes
``ctr`` fail with the shim's reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e._support import EXTRA_DEVICES, require_runc, write_runtime_config, write_spec

pytestmark = pytest.mark.e2e

CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")


class Containerd:
    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base = base
        self.address = str(base / "containerd.sock")
        self.namespace = f"cdikit-e2e-{uuid.uuid4().hex[:8]}"
        config = base / "config.toml"
        # No CRI plugin: it is not needed and would want CNI and a real /etc setup.
        config.write_text('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n', encoding="utf-8")
        self.log = (base / "containerd.log").open("w")
        assert CONTAINERD is not None
        self.proc = subprocess.Popen(
            [CONTAINERD, "--config", str(config), "--root", str(base / "root"), "--state", str(base / "state"),
             "--address", self.address],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not os.path.exists(self.address):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("containerd did not start:\n" + (base / "containerd.log").read_text())
            time.sleep(0.05)

    def ctr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert CTR is not None
        return subprocess.run([CTR, "--address", self.address, "-n", self.namespace, *args], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)  # fmt: skip

    def stop(self) -> None:
        # Only the process this test started, by its pid.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def containerd(tmp_path: Path, tools: dict[str, Path]) -> Iterator[tuple[Containerd, Path]]:
    require_runc()
    if CONTAINERD is None or CTR is None:
        pytest.skip("containerd/ctr are not installed (Debian package: containerd)")
    spec_dir = tmp_path / "cdi"
    write_spec(spec_dir, "example.json", {
        "cdiVersion": "0.5.0", "kind": "example.com/test",
        "devices": [{"name": "dev0", "containerEdits": {
            "env": ["VEND=dev0"],
            "deviceNodes": [{"path": "/dev/cdi-fuse", "hostPath": EXTRA_DEVICES[0]}],
        }}],
    })  # fmt: skip
    config = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    base = tmp_path / "ctrd"
    base.mkdir()
    # containerd-shim-runc-v2 inherits this environment and passes it to the runc binary.
    env = {**os.environ, "CDIKIT_RUNTIME_CONFIG": str(config)}
    daemon = Containerd(base, env)
    try:
        yield daemon, tmp_path
    finally:
        daemon.stop()


def _rootfs(tmp_path: Path, rootfs_template: Path) -> Path:
    dest = tmp_path / "ctr-rootfs"
    shutil.copytree(rootfs_template, dest, symlinks=True)
    return dest


SCRIPT = "echo VEND=$VEND; [ -c /dev/cdi-fuse ] && (exec 3<>/dev/cdi-fuse) && echo OPEN_OK; true"


@pytest.mark.parametrize(
    "request_args",
    [
        ["--annotation", "cdi.k8s.io/e2e=example.com/test=dev0"],
        ["--privileged", "--env", "CDI_DEVICES=example.com/test=dev0"],  # env requests: privileged only
    ],
    ids=["annotation", "cdi-env"],
)
def test_ctr_run_gets_cdi_devices(
    containerd: tuple[Containerd, Path],
    tools: dict[str, Path],
    rootfs_template: Path,
    request_args: list[str],
) -> None:
    daemon, tmp_path = containerd
    rootfs = _rootfs(tmp_path, rootfs_template)
    cid = f"c-{uuid.uuid4().hex[:8]}"

    done = daemon.ctr("run", "--rm", "--runc-binary", str(tools["cdi-runtime"]), *request_args,
                      "--rootfs", str(rootfs), cid, "/bin/sh", "-c", SCRIPT)  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "VEND=dev0" in done.stdout
    assert "OPEN_OK" in done.stdout  # node present and allowed by the injected cgroup rule


def test_ctr_run_without_shim_has_no_devices(
    containerd: tuple[Containerd, Path], rootfs_template: Path
) -> None:
    """Control: plain containerd 1.6 ignores the CDI annotation."""
    daemon, tmp_path = containerd
    rootfs = _rootfs(tmp_path, rootfs_template)

    done = daemon.ctr("run", "--rm", "--annotation", "cdi.k8s.io/e2e=example.com/test=dev0",
                      "--rootfs", str(rootfs), f"c-{uuid.uuid4().hex[:8]}", "/bin/sh", "-c", SCRIPT)  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "VEND="
    assert "OPEN_OK" not in done.stdout


def test_ctr_run_unresolvable_device_fails(
    containerd: tuple[Containerd, Path], tools: dict[str, Path], rootfs_template: Path
) -> None:
    daemon, tmp_path = containerd
    rootfs = _rootfs(tmp_path, rootfs_template)

    done = daemon.ctr("run", "--rm", "--runc-binary", str(tools["cdi-runtime"]),
                      "--privileged", "--env", "CDI_DEVICES=example.com/test=missing",
                      "--rootfs", str(rootfs), f"c-{uuid.uuid4().hex[:8]}", "/bin/sh", "-c", "echo RAN")  # fmt: skip

    assert done.returncode != 0
    assert "RAN" not in done.stdout
    # containerd surfaces the runtime's last error from its --log file.
    assert "unresolvable CDI devices example.com/test=missing" in done.stderr, done.stderr
