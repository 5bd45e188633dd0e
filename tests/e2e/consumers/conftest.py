"""Fixtures of the real-consumer tests: one private run.sh work dir per daemon, daemons started once."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.consumers._harness import Consumers, need

RICH_SPEC = """\
cdiVersion: "1.1.0"
kind: vendor1.com/device
devices:
- name: foo
  containerEdits:
    env: [FOO=injected]
    deviceNodes:
    - path: /dev/vendor1-foo
      hostPath: /dev/null
    mounts:
    - hostPath: {mount}
      containerPath: /mnt/vendor1
      options: [ro, bind]
- name: bar
  containerEdits:
    env: [BAR=injected]
containerEdits:
  env: [COMMON=spec-level]
"""
RICH_CMD = 'env | sort | grep -E "^(FOO|BAR|COMMON)="; ls -l /dev/vendor1-foo; cat /mnt/vendor1/marker'
RICH_EXPECT = ("FOO=injected", "COMMON=spec-level", "/dev/vendor1-foo", "hello-from-host")
# /dev/nvidia0 of the fake driver root is 195:0; the DRM nodes carry groups 44 and 105.
GPU_CMD = "ls -l /dev/nvidia0 /dev/dri/card1; id -G; ls /usr/lib/x86_64-linux-gnu | grep -c nvidia"


# Every other mode of `cdi generate nvidia` on the same fake root: (mode, extra options, device, a node).
MODES = [
    ("management", ("--class", "mgmt"), "nvidia.com/mgmt=all", "/dev/nvidia-uvm"),
    ("gds", (), "nvidia.com/gds=all", "/dev/nvidia-fs0"),
    ("mofed", (), "nvidia.com/mofed=all", "/dev/infiniband/uverbs0"),
    ("gdrcopy", (), "nvidia.com/gdrcopy=all", "/dev/gdrdrv"),
    ("imex", (), "nvidia.com/imex-channel=1", "/dev/nvidia-caps-imex-channels/channel1"),
    ("nvswitch", (), "nvidia.com/nvswitch=all", "/dev/nvidia-nvswitch0"),
]


def check_gpu(out: str, *, gids: bool) -> None:
    """``GPU_CMD``'s output: the nodes of GPU 0 are there; the DRM groups only when ``gids``."""
    assert re.search(r"195,\s+0 .*/dev/nvidia0$", out, re.M), out
    assert re.search(r"226,\s+1 .*/dev/dri/card1$", out, re.M), out
    groups = next(line.split() for line in out.splitlines() if re.fullmatch(r"\d+( \d+)*", line))
    assert ("44" in groups and "105" in groups) is gids, out


def rich_spec(tmp: Path) -> Path:
    """A spec file (declaring 1.1.0, needing 0.5.0) whose device foo brings env, a node and a mount."""
    mount = tmp / "hostmnt"
    mount.mkdir(parents=True, exist_ok=True)
    (mount / "marker").write_text("hello-from-host\n")
    source = tmp / "vendor1.yaml"
    source.write_text(RICH_SPEC.format(mount=mount))
    return source


@pytest.fixture(scope="session")
def run_cdi_dir() -> Iterator[None]:
    """run.sh bind-mounts a spec dir over /var/run/cdi for ctr and podman: the mount point must exist."""
    created = not os.path.isdir("/run/cdi")
    if created and os.geteuid() == 0:
        os.makedirs("/run/cdi", exist_ok=True)
    yield
    if created:
        try:
            os.rmdir("/run/cdi")
        except OSError:
            pass


@pytest.fixture(scope="module")
def containerd2(tmp_path_factory: pytest.TempPathFactory, run_cdi_dir: None) -> Iterator[Consumers]:
    need("containerd", "ctr", "containerd-shim-runc-v2")
    c = Consumers(tmp_path_factory.mktemp("ctd2"))
    c.start("containerd")
    try:
        c.import_images()
        yield c
    finally:
        c.stop("containerd")


@pytest.fixture(scope="module")
def buildkitd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consumers]:
    need("buildkitd", "buildctl", debian=("runc",))
    c = Consumers(tmp_path_factory.mktemp("bk"))
    c.start("buildkitd")
    try:
        yield c
    finally:
        c.stop("buildkitd")


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consumers]:
    need("dockerd", "docker-proxy", "containerd", "containerd-shim-runc-v2", "docker", debian=("runc",))
    c = Consumers(tmp_path_factory.mktemp("dk"))
    c.start("dockerd")
    try:
        busybox, _ = c.images()
        loaded = c.docker("load", "-i", str(busybox))
        assert loaded.rc == 0, loaded.err
        yield c
    finally:
        c.stop("dockerd")


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory, run_cdi_dir: None) -> Consumers:
    need(debian=("podman", "runc"))
    c = Consumers(tmp_path_factory.mktemp("pm"))
    busybox, _ = c.images()
    loaded = c.podman("load", "-i", str(busybox))
    assert loaded.rc == 0, loaded.err
    return c
