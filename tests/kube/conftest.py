from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from cdikit.registry import Registry

from ._fake_apiserver import FakeAPIServer
from ._fake_kubelet import FakeKubelet

GPU_SPEC = """\
cdiVersion: "0.6.0"
kind: vendor.com/gpu
devices:
{devices}
containerEdits:
  env: ["VENDOR_GPU=1"]
"""


def gpu_spec(names: list[str]) -> str:
    devices = "".join(
        f'  - name: "{n}"\n    containerEdits:\n      env: ["GPU_{n.upper()}=1"]\n' for n in names
    )
    return GPU_SPEC.format(devices=devices)


NIC_SPEC = """\
cdiVersion: "0.6.0"
kind: other.com/nic
devices:
  - name: eth0
    containerEdits:
      env: ["NIC=eth0"]
"""


def write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@pytest.fixture
def short_tmp() -> Iterator[str]:
    # Unix socket paths are limited to 107 bytes: pytest's tmp_path is too deep for them.
    path = tempfile.mkdtemp(prefix="ck", dir="/tmp")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def spec_dirs(short_tmp: str) -> list[str]:
    etc = os.path.join(short_tmp, "etc-cdi")
    run = os.path.join(short_tmp, "run-cdi")
    os.makedirs(etc)
    os.makedirs(run)
    write_atomic(os.path.join(etc, "vendor-gpu.yaml"), gpu_spec(["0", "1", "all"]))
    write_atomic(os.path.join(etc, "other-nic.yaml"), NIC_SPEC)
    return [etc, run]


@pytest.fixture
def registry(spec_dirs: list[str]) -> Iterator[Registry]:
    reg = Registry(spec_dirs, auto_refresh=True)
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def kubelet(short_tmp: str) -> Iterator[FakeKubelet]:
    fake = FakeKubelet(os.path.join(short_tmp, "dp"))
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def apiserver() -> Iterator[FakeAPIServer]:
    server = FakeAPIServer()
    server.nodes["node-1"] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "uid": "node-uid-1"},
    }
    server.start()
    try:
        yield server
    finally:
        server.stop()
