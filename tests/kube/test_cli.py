"""``cdi kube device-plugin`` / ``cdi kube dra-plugin`` as real processes: serve, then stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest

from cdikit.integrations.kube.protos import dra_v1_pb2 as dra_pb
from cdikit.integrations.kube.protos import dra_v1_pb2_grpc as dra_grpc
from tests._polling import wait_until

from ._fake_apiserver import SLICES, FakeAPIServer
from ._fake_kubelet import TIMEOUT, FakeKubelet, plugin_watcher_register

_KLOG = re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6} +\d+ [\w.]+:\d+\] ", re.M)


def _cdi(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from cdikit.cli import main; sys.exit(main())", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _terminate(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"no clean exit on SIGTERM; stderr:\n{err}") from None
    return proc.returncode, err


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)


def test_device_plugin_command(
    kubelet: FakeKubelet, spec_dirs: list[str], procs: list[subprocess.Popen[str]]
) -> None:
    proc = _cdi(
        "-d", spec_dirs[0], "-d", spec_dirs[1], "kube", "device-plugin",
        "--plugin-dir", kubelet.plugin_dir, "--resource", "vendor.com/gpu=example.com/gpu", "--poll-interval", "0.05",
    )  # fmt: skip
    procs.append(proc)
    conn = kubelet.next_connection(timeout=30)
    assert conn.request.resource_name == "example.com/gpu"
    assert conn.next_devices() == ["0", "1"]
    socket = os.path.join(kubelet.plugin_dir, conn.request.endpoint)
    code, err = _terminate(proc)
    assert code == 0, err
    assert not os.path.exists(socket)
    assert _KLOG.search(err), err
    assert "registered example.com/gpu with the kubelet" in err


def test_dra_plugin_command(
    apiserver: FakeAPIServer, spec_dirs: list[str], short_tmp: str, procs: list[subprocess.Popen[str]]
) -> None:
    plugins, registry_dir = os.path.join(short_tmp, "plugins"), os.path.join(short_tmp, "reg")
    proc = _cdi(
        "-d", spec_dirs[0], "-d", spec_dirs[1], "kube", "dra-plugin", "--driver", "gpu.example.com",
        "--node-name", "node-1", "--kind", "vendor.com/gpu", "--plugins-dir", plugins,
        "--registry-dir", registry_dir, "--server", apiserver.url, "--poll-interval", "0.05",
    )  # fmt: skip
    procs.append(proc)
    info = plugin_watcher_register(os.path.join(registry_dir, "gpu.example.com-reg.sock"))
    assert (info.type, info.name, list(info.supported_versions)) == (
        "DRAPlugin",
        "gpu.example.com",
        ["v1.DRAPlugin"],
    )

    wait_until(lambda: apiserver.calls("POST", SLICES), timeout=30)
    (post,) = apiserver.calls("POST", SLICES)
    assert [d["name"] for d in post.body["spec"]["devices"]] == ["gpu-0", "gpu-1"]

    uid = "0b7e1a52-9d7e-4c9e-8a55-3c1f3b0c6e11"
    apiserver.claims[("ns", "c")] = {
        "metadata": {"name": "c", "namespace": "ns", "uid": uid},
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {"request": "r", "driver": "gpu.example.com", "pool": "node-1", "device": "gpu-0"}
                    ]
                }
            }
        },
    }
    with grpc.insecure_channel(f"unix://{info.endpoint}") as channel:
        stub = dra_grpc.DRAPluginStub(channel)
        claim = dra_pb.Claim(namespace="ns", name="c", uid=uid)
        prepared = stub.NodePrepareResources(
            dra_pb.NodePrepareResourcesRequest(claims=[claim]), timeout=TIMEOUT
        )
        assert list(prepared.claims[uid].devices[0].cdi_device_ids) == [
            "vendor.com/gpu=0",
            f"vendor.com/gpu={uid}-0",
        ]
        assert os.path.exists(os.path.join(spec_dirs[1], f"vendor.com-gpu_{uid}.yaml"))
        stub.NodeUnprepareResources(dra_pb.NodeUnprepareResourcesRequest(claims=[claim]), timeout=TIMEOUT)
        assert not os.path.exists(os.path.join(spec_dirs[1], f"vendor.com-gpu_{uid}.yaml"))

    code, err = _terminate(proc)
    assert code == 0, err
    assert not os.path.exists(info.endpoint)
    assert _KLOG.search(err), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kube", "device-plugin", "--resource", "nokind"], "--resource"),
        (["kube", "dra-plugin", "--node-name", "n"], "--driver"),
        (["kube", "dra-plugin", "--driver", "d.io"], "--node-name"),
    ],
)
def test_usage_errors(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NODE_NAME", raising=False)
    monkeypatch.delenv("DRA_DRIVER_NAME", raising=False)
    proc = _cdi(*args)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert message in err
