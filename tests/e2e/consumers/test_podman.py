"""Debian 12's podman 4.3.1 (CDI library 0.5: loads cdiVersion 0.5.0 at most).

What cdikit writes by default (the minimum version) loads; what needs more does
not, and ``generate nvidia --spec-version 0.5.0`` is the way to stay within it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.consumers._harness import Consumers, generate_nvidia, run_cdi
from tests.e2e.consumers.conftest import GPU_CMD, MODES, RICH_CMD, RICH_EXPECT, check_gpu, rich_spec

pytestmark = pytest.mark.e2e
IMAGE = "docker.io/library/cdi-busybox:local"
# These VMs lack CAP_SYS_RESOURCE: podman's default (raised) nofile/nproc limits make runc fail
# "error setting rlimit type 7: operation not permitted".
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")


def _run(podman: Consumers, cdi_dir: Path, device: str, command: str) -> tuple[int, str]:
    result = podman.podman("run", "--rm", "--network", "none", *ULIMITS, "--device", device, IMAGE,
                           "sh", "-c", command,
                           cdi_dir=cdi_dir)  # fmt: skip
    return result.rc, result.out + result.err


@pytest.mark.parametrize(
    ("version", "loads"), [("minimum", True), ("0.5.0", True), ("0.6.0", False), ("keep", False)]
)
def test_spec_install_versions(podman: Consumers, tmp_path: Path, version: str, loads: bool) -> None:
    source = rich_spec(tmp_path)  # declares 1.1.0, needs 0.5.0 (hostPath)
    cdi_dir = tmp_path / "cdi"
    installed = run_cdi(
        "-d", str(cdi_dir), "spec", "install", "--cdi-version", version, str(source), "-o", "json"
    )
    assert installed.rc == 0, installed.err
    rc, out = _run(podman, cdi_dir, "vendor1.com/device=foo", RICH_CMD)
    if loads:
        assert rc == 0, out
        for part in RICH_EXPECT:
            assert part in out
    else:
        assert rc != 0
        assert "unresolvable CDI devices vendor1.com/device=foo" in out
        # and cdikit said so when it wrote the file
        assert "podman 4.3.1" in installed.err and "loads cdiVersion 0.5.0 at most" in installed.err


@pytest.mark.parametrize(("extra", "loads"), [((), False), (("--spec-version", "0.5.0"), True)])
def test_generate_nvidia(podman: Consumers, tmp_path: Path, extra: tuple[str, ...], loads: bool) -> None:
    cdi_dir = tmp_path / "cdi"
    cdi_dir.mkdir()
    generated = generate_nvidia(tmp_path, cdi_dir / "nvidia.yaml", *extra)
    assert generated.rc == 0, generated.err
    rc, out = _run(podman, cdi_dir, "nvidia.com/gpu=0", GPU_CMD)
    if loads:
        assert rc == 0, out
        check_gpu(out, gids=False)  # additionalGids dropped, with a warning
        assert "dropped additionalGids [44, 105]" in generated.err
    else:
        assert rc != 0 and "unresolvable CDI devices nvidia.com/gpu=0" in out
        assert "--spec-version 0.5.0 writes what it loads" in generated.err


@pytest.mark.parametrize(("mode", "extra", "device", "node"), MODES, ids=[m[0] for m in MODES])
def test_every_other_generate_mode_loads(
    podman: Consumers, tmp_path: Path, mode: str, extra: tuple[str, ...], device: str, node: str
) -> None:
    """These modes need no group grant: their specs are 0.5.0 and podman 4.3.1 loads them as generated."""
    cdi_dir = tmp_path / "cdi"
    cdi_dir.mkdir()
    generated = generate_nvidia(tmp_path, cdi_dir / "nvidia.yaml", "--mode", mode, *extra)
    assert generated.rc == 0 and "cdiVersion 0.5.0" in generated.err, generated.err
    rc, out = _run(podman, cdi_dir, device, f"ls -l {node}")
    assert rc == 0, out
    assert node in out


@pytest.mark.parametrize(
    ("request_form", "error"),
    [
        ("vendor1.com/device", "no such file or directory"),  # kind-only: taken for a host path
        ("vendor1.com/device=*", "no such file or directory"),  # no wildcard either
        ("vendor1.com/device=nope", "unresolvable CDI devices vendor1.com/device=nope"),
    ],
)
def test_request_forms_buildkit_has_and_podman_lacks(
    podman: Consumers, tmp_path: Path, request_form: str, error: str
) -> None:
    cdi_dir = tmp_path / "cdi"
    assert run_cdi("-d", str(cdi_dir), "spec", "install", str(rich_spec(tmp_path))).rc == 0
    rc, out = _run(podman, cdi_dir, request_form, "true")
    assert rc != 0 and error in out, out


def test_configure_podman_43_then_a_device(podman: Consumers, tmp_path: Path) -> None:
    """podman 4.3.1 reads /etc/cdi and /var/run/cdi natively and ignores cdi_spec_dirs: configure
    writes nothing (says why), refuses other dirs, and the doctor's verdict agrees."""
    import json
    import shutil

    tree = tmp_path / "tree"
    conf = tree / "etc/containers/containers.conf"
    shipped = tree / "usr/share/containers/containers.conf"
    shipped.parent.mkdir(parents=True)
    shutil.copy("/usr/share/containers/containers.conf", shipped)  # Debian's, as shipped

    def doctor() -> dict[str, object]:
        result = run_cdi("doctor", "--root", str(tree), "--probe-binaries", "-o", "json")
        reports: dict[str, dict[str, object]] = {c["name"]: c for c in json.loads(result.out)["consumers"]}
        return reports["podman"]

    before = doctor()
    assert (
        before["version"] == "4.3.1" and before["cdiEnabled"] is True and before["maxSpecVersion"] == "0.5.0"
    )
    assert before["findings"] == []
    done = run_cdi("configure", "podman", "--config", str(conf), "--apply")
    assert done.rc == 0, done.err
    assert "already configured" in done.out and "reads /etc/cdi and /var/run/cdi natively" in done.out
    assert not conf.exists()
    refused = run_cdi(
        "configure", "podman", "--config", str(conf), "--spec-dir", str(tmp_path / "x"), "--apply"
    )
    assert refused.rc == 1 and "honoured from podman 5.5" in refused.err
    assert doctor()["findings"] == []
    cdi_dir = tmp_path / "cdi"  # stands for /var/run/cdi (run.sh bind-mounts it there)
    assert run_cdi("-d", str(cdi_dir), "spec", "install", str(rich_spec(tmp_path))).rc == 0
    rc, out = _run(podman, cdi_dir, "vendor1.com/device=foo", RICH_CMD)
    assert rc == 0, out
    for part in RICH_EXPECT:
        assert part in out
