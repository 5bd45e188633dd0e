"""Docker Engine 29.7.2 (+ docker CLI 29.7.2, buildx v0.36.1): native CDI.

``docker run --device`` with specs from ``cdi spec install`` and ``cdi generate nvidia``;
the documented BuildKit flow through ``docker buildx build``; ``cdi configure docker --apply``
(native only: Docker 29 needs no cdi-runtime), restart, device; ``cdi doctor`` before and after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.consumers._harness import BIN, Consumers, generate_nvidia, need, run_cdi
from tests.e2e.consumers.conftest import GPU_CMD, RICH_CMD, RICH_EXPECT, check_gpu, rich_spec
from tests.e2e.consumers.test_buildkit import _context

pytestmark = pytest.mark.e2e
IMAGE = "cdi-busybox:local"
# These VMs: no bridge networking, and Debian's runc 1.1.5 rejects Docker 29's time namespace.
VM_DAEMON_JSON = {"iptables": False, "ip6tables": False, "bridge": "none", "userland-proxy": False,
                  "features": {"time-namespaces": False}}  # fmt: skip


@pytest.fixture(scope="module")
def installed(dockerd: Consumers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("dk-src")
    spec_dir = dockerd.spec_dir("dockerd")
    assert run_cdi("-d", str(spec_dir), "spec", "install", str(rich_spec(tmp))).rc == 0
    assert generate_nvidia(tmp / "nv", spec_dir / "nvidia.yaml").rc == 0
    return spec_dir


def _run(d: Consumers, device: str, command: str) -> tuple[int, str]:
    result = d.docker("run", "--rm", "--network", "none", "--device", device, IMAGE, "sh", "-c", command)
    return result.rc, result.out + result.err


def test_docker_run_device_from_spec_install(dockerd: Consumers, installed: Path) -> None:
    rc, out = _run(dockerd, "vendor1.com/device=foo", RICH_CMD)
    assert rc == 0, out
    for part in RICH_EXPECT:
        assert part in out


def test_docker_run_generated_gpu(dockerd: Consumers, installed: Path) -> None:
    rc, out = _run(dockerd, "nvidia.com/gpu=0", GPU_CMD)
    assert rc == 0, out
    check_gpu(out, gids=True)


@pytest.mark.parametrize(
    ("request_form", "error"),
    [("vendor1.com/device=nope", "unresolvable CDI devices vendor1.com/device=nope"),
     # not qualified names: the docker CLI takes them for host paths
     ("vendor1.com/device", "vendor1.com/device is not an absolute path"),
     ("vendor1.com/device=*", "vendor1.com/device=* is not an absolute path")],
)  # fmt: skip
def test_docker_request_forms(dockerd: Consumers, installed: Path, request_form: str, error: str) -> None:
    rc, out = _run(dockerd, request_form, "true")
    assert rc != 0 and error in out, out


def test_docker_info_lists_cdi(dockerd: Consumers, installed: Path) -> None:
    info = dockerd.docker("info")
    assert info.rc == 0, info.err
    assert "cdi: vendor1.com/device=foo" in info.out


def test_buildx_documented_flow(dockerd: Consumers, tmp_path: Path) -> None:
    need("docker-buildx")
    spec_dir = dockerd.spec_dir("dockerd")
    source = rich_spec(tmp_path)
    source.write_text(source.read_text().replace("vendor1.com/device", "vendor2.com/device"))
    assert run_cdi("-d", str(spec_dir), "spec", "install", "--name", "vendor2.yaml", str(source)).rc == 0
    ctx = _context(tmp_path, "RUN --device=vendor2.com/device=foo sh -c 'env | grep ^FOO='")
    bx = (
        "buildx",
        "build",
        "--progress=plain",
        "--no-cache",
        "--network",
        "none",
        "--output",
        "type=cacheonly",
    )
    time.sleep(1)  # dockerd's CDI cache refreshes through its watcher
    refused = dockerd.docker(*bx, str(ctx))
    assert refused.rc != 0
    assert "device vendor2.com/device=foo is requested by the build but not allowed" in refused.err
    allowed = dockerd.docker(*bx, "--allow", "device", str(ctx))
    assert allowed.rc == 0, allowed.err
    assert "FOO=injected" in allowed.err
    assert run_cdi("-d", str(spec_dir), "spec", "autoallow", "vendor2").rc == 0
    for _ in range(25):
        auto = dockerd.docker(*bx, str(ctx))
        if auto.rc == 0:
            break
        time.sleep(0.2)
    assert auto.rc == 0, auto.err
    assert "FOO=injected" in auto.err


@pytest.fixture(scope="module")
def configured_dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consumers, Path, Path]]:
    need("dockerd", "docker-proxy", "containerd", "containerd-shim-runc-v2", "docker", debian=("runc",))
    tmp = tmp_path_factory.mktemp("dkcfg")
    tree = tmp / "tree"
    daemon_json = tree / "etc/docker/daemon.json"
    daemon_json.parent.mkdir(parents=True)
    daemon_json.write_text(json.dumps(VM_DAEMON_JSON))
    c = Consumers(tmp / "w")
    spec_dir = c.spec_dir("dockerd")
    yield c, tree, spec_dir
    c.stop("dockerd")


def _doctor(tree: Path, spec_dir: Path) -> dict[str, Any]:
    result = run_cdi("-d", str(spec_dir), "doctor", "--root", str(tree), "--probe-binaries", "-o", "json",
                     env={"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin"})  # fmt: skip
    docker: dict[str, Any] = {c["name"]: c for c in json.loads(result.out)["consumers"]}["docker"]
    return docker


def test_configure_docker_then_a_device(
    configured_dockerd: tuple[Consumers, Path, Path], tmp_path: Path
) -> None:
    c, tree, spec_dir = configured_dockerd
    before = _doctor(tree, spec_dir)
    assert before["version"] == "29.7.2" and before["cdiEnabled"] is True  # on by default since 28.2
    assert [f["code"] for f in before["findings"]] == ["docker-spec-dirs"]
    daemon_json = tree / "etc/docker/daemon.json"
    result = run_cdi("configure", "docker", "--config", str(daemon_json), "--spec-dir", str(spec_dir), "--apply",
                     env={"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin"})  # fmt: skip
    assert result.rc == 0, result.err
    doc = json.loads(daemon_json.read_text())
    assert doc["cdi-spec-dirs"] == [str(spec_dir)] and doc["features"]["cdi"] is True
    assert "runtimes" not in doc  # Docker 29 has CDI natively: no cdi-runtime
    after = _doctor(tree, spec_dir)
    assert after["findings"] == [] and after["cdiEnabled"] is True
    assert run_cdi("-d", str(spec_dir), "spec", "install", str(rich_spec(tmp_path))).rc == 0
    c.start("dockerd", DOCKERD_CONFIG=str(daemon_json))
    busybox, _ = c.images()
    assert c.docker("load", "-i", str(busybox)).rc == 0
    rc, out = _run(c, "vendor1.com/device=foo", RICH_CMD)
    assert rc == 0, out
    for part in RICH_EXPECT:
        assert part in out
