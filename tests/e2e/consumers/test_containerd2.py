"""containerd 2 (built from v2.3.4): ``ctr run --device`` and CRI pods (``CDI_devices`` field and
``cdi.k8s.io/`` annotation) get devices from specs written by ``cdi spec install`` and by
``cdi generate nvidia`` on a fake driver root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.consumers._harness import Consumers, generate_nvidia, need, run_cdi
from tests.e2e.consumers.conftest import GPU_CMD, MODES, RICH_CMD, RICH_EXPECT, check_gpu, rich_spec

pytestmark = pytest.mark.e2e
IMAGE = "docker.io/library/cdi-busybox:local"


@pytest.fixture(scope="module")
def installed(containerd2: Consumers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vendor1.com/device from `cdi spec install` in containerd's spec dir."""
    source = rich_spec(tmp_path_factory.mktemp("src"))
    result = run_cdi("-d", str(containerd2.spec_dir("containerd")), "spec", "install", str(source))
    assert result.rc == 0, result.err
    return source


@pytest.fixture(scope="module")
def generated(containerd2: Consumers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nvidia.com/gpu from `cdi generate nvidia` (nvml mode, DRM nodes with groups: cdiVersion 0.7.0)."""
    out = containerd2.spec_dir("containerd") / "nvidia.yaml"
    result = generate_nvidia(tmp_path_factory.mktemp("nv"), out)
    assert result.rc == 0, result.err
    assert "cdiVersion 0.7.0" in result.err
    return out


def _check_gpu(out: str, *, gids: bool) -> None:
    check_gpu(out, gids=gids)


def test_ctr_run_device_from_spec_install(containerd2: Consumers, installed: Path) -> None:
    result = containerd2.ctr_cdi("run", "--rm", "--device", "vendor1.com/device=foo", IMAGE, "e2e-ctr-1",
                                 "sh", "-c", RICH_CMD)  # fmt: skip
    assert result.rc == 0, result.err
    for part in RICH_EXPECT:
        assert part in result.out


def test_ctr_run_unknown_device(containerd2: Consumers, installed: Path) -> None:
    result = containerd2.ctr_cdi(
        "run", "--rm", "--device", "vendor1.com/device=nope", IMAGE, "e2e-ctr-2", "true"
    )
    assert result.rc != 0
    assert "unresolvable CDI devices vendor1.com/device=nope" in result.err


def test_ctr_run_device_from_generate_nvidia(containerd2: Consumers, generated: Path) -> None:
    result = containerd2.ctr_cdi("run", "--rm", "--device", "nvidia.com/gpu=0", IMAGE, "e2e-ctr-3",
                                 "sh", "-c", GPU_CMD)  # fmt: skip
    assert result.rc == 0, result.err
    _check_gpu(result.out, gids=True)


@pytest.mark.parametrize(("mode", "extra", "device", "node"), MODES, ids=[m[0] for m in MODES])
def test_ctr_run_every_generate_mode(
    containerd2: Consumers, tmp_path: Path, mode: str, extra: tuple[str, ...], device: str, node: str
) -> None:
    out = containerd2.spec_dir("containerd") / f"nvidia-{mode}.yaml"
    generated = generate_nvidia(tmp_path, out, "--mode", mode, *extra)
    assert generated.rc == 0, generated.err
    try:
        result = containerd2.ctr_cdi(
            "run", "--rm", "--device", device, IMAGE, f"e2e-mode-{mode}", "ls", "-l", node
        )
        assert result.rc == 0, result.err
        assert node in result.out and result.out.startswith("c")
    finally:
        out.unlink()


@pytest.mark.parametrize("transport", ["field", "annotation"])
@pytest.mark.parametrize("source", ["installed", "generated"])
def test_cri_pod_gets_device(
    containerd2: Consumers, request: pytest.FixtureRequest, source: str, transport: str
) -> None:
    need("crictl")
    request.getfixturevalue(source)
    device, command = (
        ("vendor1.com/device=foo", RICH_CMD) if source == "installed" else ("nvidia.com/gpu=0", GPU_CMD)
    )
    name = f"e2e-{source}-{transport}"
    if transport == "field":
        result = containerd2.cri_run(name, command, devices=[device])
    else:
        result = containerd2.cri_run(name, command, annotation=device)
    out = result.out + result.err
    assert result.rc == 0, out
    if source == "generated":
        _check_gpu(out, gids=True)
    else:
        for part in RICH_EXPECT:
            assert part in out


def test_cri_unknown_device_fails(containerd2: Consumers, installed: Path) -> None:
    need("crictl")
    result = containerd2.cri_run("e2e-nope", "true", devices=["vendor1.com/device=nope"])
    assert result.rc != 0
    assert "unresolvable CDI devices vendor1.com/device=nope" in result.err
