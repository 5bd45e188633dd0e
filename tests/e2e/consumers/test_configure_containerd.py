"""``cdi configure containerd --apply`` on containerd's real configs, then a restart and a device.

* Debian's containerd 1.6.20 (no CDI of its own): on Debian's shipped config.toml and on
  ``containerd config default``, configure registers ``cdi-runtime`` as CRI runtime ``cdi``,
  keeps ``runc`` (CRI loads), passes ``cdi.k8s.io/*`` annotations and carries ``--spec-dir`` in
  cdi-runtime's config file; a CRI pod on handler ``cdi`` and ``ctr run --runc-binary`` get
  devices (also from a generated 0.7.0 NVIDIA spec, which cdikit loads itself).
* containerd 2.3.4 (native CDI): on ``containerd config default`` configure sets the spec dir;
  a CRI pod gets the device with no runtime of cdikit's.

``cdi doctor`` asks the real binaries their versions (``--probe-binaries``) and gives the verdict
before and after.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.consumers._containerd import DEBIAN_CONFIG, default_config, isolate
from tests.e2e.consumers._harness import BIN, Consumers, generate_nvidia, need, run, run_cdi, shim_wrapper
from tests.e2e.consumers.conftest import GPU_CMD, RICH_CMD, RICH_EXPECT, check_gpu, rich_spec

pytestmark = pytest.mark.e2e
IMAGE = "docker.io/library/cdi-busybox:local"


@dataclass
class Staged:
    consumers: Consumers
    bin: Path
    tree: Path  # a root tree: etc/containerd/config.toml, etc/cdikit/runtime.toml
    spec_dir: Path
    shim: Path
    configured: Any  # the `cdi configure` result

    @property
    def config(self) -> Path:
        return self.tree / "etc/containerd/config.toml"

    def doctor(self) -> dict[str, Any]:
        result = run_cdi("-d", str(self.spec_dir), "doctor", "--root", str(self.tree), "--probe-binaries", "-o",
                         "json", env={"PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin"})  # fmt: skip
        assert "Traceback" not in result.err, result.err
        reports: dict[str, dict[str, Any]] = {c["name"]: c for c in json.loads(result.out)["consumers"]}
        return reports["containerd"]


def _bin_16(tmp: Path) -> Path:
    """Debian's containerd 1.6 binaries (plus the built crictl) in one dir, as run.sh wants."""
    d = tmp / "bin16"
    d.mkdir()
    for name in ("containerd", "ctr", "containerd-shim-runc-v2"):
        found = shutil.which(name, path="/usr/bin:/usr/sbin")
        if found is None:
            pytest.skip(f"Debian's {name} is not installed (package containerd)")
        (d / name).symlink_to(found)
    if (BIN / "crictl").is_file():
        (d / "crictl").symlink_to(BIN / "crictl")
    return d


def _stage(tmp: Path, bin_dir: Path, base: str) -> Staged:
    work = tmp / "w"
    consumers = Consumers(work, bin=bin_dir)
    tree = tmp / "tree"
    spec_dir = consumers.spec_dir("containerd")
    config = tree / "etc/containerd/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(base)
    runtime_config = tree / "etc/cdikit/runtime.toml"
    shim = shim_wrapper(tmp / "cdi-runtime", runtime_config)
    staged = Staged(consumers, bin_dir, tree, spec_dir, shim, None)
    return staged


def _configure(staged: Staged) -> Any:
    result = run_cdi(
        "configure", "containerd", "--config", str(staged.config), "--runtime-path", str(staged.shim),
        "--runtime-config", str(staged.tree / "etc/cdikit/runtime.toml"), "--spec-dir", str(staged.spec_dir),
        "--apply", env={"PATH": f"{staged.bin}:/usr/sbin:/usr/bin:/sbin:/bin"},
    )  # fmt: skip
    assert result.rc == 0, result.err
    return result


def _start(staged: Staged) -> None:
    live = staged.consumers.work / "config.toml"
    shutil.copy(staged.config, live)
    isolate(live, staged.consumers.work)
    staged.consumers.start("containerd", CONTAINERD_CONFIG=str(live))
    staged.consumers.import_images()


@pytest.fixture(scope="module", params=["debian", "default"])
def containerd16(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 run_cdi_dir: None) -> Iterator[Staged]:  # fmt: skip
    need("crictl", debian=("runc",))
    tmp = tmp_path_factory.mktemp(f"c16-{request.param}")
    bin_dir = _bin_16(tmp)
    base = DEBIAN_CONFIG if request.param == "debian" else default_config(bin_dir / "containerd")
    staged = _stage(tmp, bin_dir, base)
    before = staged.doctor()
    assert before["version"].startswith("1.6.")
    assert before["cdiEnabled"] is False and before["via"] is None
    text = json.dumps(before["findings"])
    assert "containerd-cdi-disabled" in text and "enable_cdi" not in text and "1.7 (" not in text
    staged.configured = _configure(staged)
    after = staged.doctor()
    assert after["cdiEnabled"] is True and after["via"] == "cdi-runtime", after
    assert after["specDirs"] == [str(staged.spec_dir)]
    assert after["findings"] == [], after["findings"]
    assert run_cdi("-d", str(staged.spec_dir), "spec", "install", str(rich_spec(tmp))).rc == 0
    assert generate_nvidia(tmp / "nv", staged.spec_dir / "nvidia.yaml").rc == 0
    _start(staged)
    try:
        yield staged
    finally:
        staged.consumers.stop("containerd")


def test_16_cri_still_loads_with_runc(containerd16: Staged) -> None:
    """The CRI plugin is up (runc kept): a plain pod runs on the default runtime."""
    result = containerd16.consumers.cri_run("e2e16-plain", "echo plain-ok")
    assert result.rc == 0, result.err
    assert "plain-ok" in result.out + result.err


@pytest.mark.parametrize(
    ("device", "command"),
    [("vendor1.com/device=foo", RICH_CMD), ("nvidia.com/gpu=0", GPU_CMD)],
    ids=["spec", "gpu"],
)
def test_16_cri_pod_with_annotation_on_handler_cdi(containerd16: Staged, device: str, command: str) -> None:
    name = "e2e16-" + device.split("/")[0].replace(".", "")
    result = containerd16.consumers.cri_run(name, command, annotation=device, runtime="cdi")
    out = result.out + result.err
    assert result.rc == 0, out
    if device.startswith("nvidia"):
        check_gpu(out, gids=True)  # cdikit itself loads 0.7.0
    else:
        for part in RICH_EXPECT:
            assert part in out


def test_16_cri_field_is_not_known_to_16(containerd16: Staged) -> None:
    """containerd 1.6 predates the CRI CDI_devices field: it never reaches the shim (use the annotation)."""
    result = containerd16.consumers.cri_run("e2e16-field", "env | grep -c FOO= || true",
                                            devices=["vendor1.com/device=foo"], runtime="cdi")  # fmt: skip
    assert result.rc == 0, result.err
    assert "FOO=injected" not in result.out + result.err


def test_16_ctr_run_with_the_shim(containerd16: Staged) -> None:
    """ctr 1.6 has no CDI: the shim as runc binary, the request as a cdi.k8s.io annotation (the
    caller's; CDI_DEVICES in the env counts only for privileged containers, docs/security.md)."""
    result = run(
        [str(containerd16.bin / "ctr"), "--address", containerd16.consumers.containerd_sock, "run", "--rm",
         "--runc-binary", str(containerd16.shim), "--annotation", "cdi.k8s.io/e2e=vendor1.com/device=foo", IMAGE,
         "e2e16-ctr", "sh", "-c", RICH_CMD],
    )  # fmt: skip
    assert result.rc == 0, result.err
    for part in RICH_EXPECT:
        assert part in result.out


@pytest.fixture(scope="module", params=["default", "debian"])
def containerd2_configured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, run_cdi_dir: None
) -> Iterator[Staged]:
    """containerd 2.3.4 on its own default (version 3) and on Debian's version 2 file (migrated)."""
    need("containerd", "ctr", "containerd-shim-runc-v2", "crictl")
    tmp = tmp_path_factory.mktemp(f"c2cfg-{request.param}")
    base = default_config(BIN / "containerd") if request.param == "default" else DEBIAN_CONFIG
    staged = _stage(tmp, BIN, base)
    before = staged.doctor()
    assert before["version"] == "2.3.4"
    assert before["cdiEnabled"] is True  # on by default in 2.x
    assert [f["code"] for f in before["findings"]] == ["containerd-spec-dirs"]
    result = _configure(staged)
    assert "cdikit/runtime.toml" not in result.out  # native CDI: no shim registered
    text = staged.config.read_text()
    assert "cdi-runtime" not in text
    after = staged.doctor()
    assert after["findings"] == [] and after["specDirs"] == [str(staged.spec_dir)]
    assert run_cdi("-d", str(staged.spec_dir), "spec", "install", str(rich_spec(tmp))).rc == 0
    _start(staged)
    try:
        yield staged
    finally:
        staged.consumers.stop("containerd")


@pytest.mark.parametrize("transport", ["field", "annotation"])
def test_2_configured_cri_pod_gets_device(containerd2_configured: Staged, transport: str) -> None:
    c = containerd2_configured.consumers
    if transport == "field":
        result = c.cri_run("e2e2c-field", RICH_CMD, devices=["vendor1.com/device=foo"])
    else:
        result = c.cri_run("e2e2c-ann", RICH_CMD, annotation="vendor1.com/device=foo")
    assert result.rc == 0, result.err
    for part in RICH_EXPECT:
        assert part in result.out + result.err
