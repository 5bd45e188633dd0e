"""nvsandboxutils (issue 16): preferred for device nodes and driver version, NVML the fallback.

The library is a fake compiled at test time (``fake_sandboxutils.py``) and placed in
the fake driver root, where the generator finds it by the same lookup as every
driver library.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cdikit.producers.nvidia.generate import generate
from cdikit.producers.nvidia.nvml import FakeBackend
from cdikit.producers.nvidia.sandboxutils import SandboxUtils, SandboxUtilsError
from cdikit.spec.types import Spec
from tests.producers import fake_sandboxutils, fakeroot
from tests.producers.conftest import OptionsFactory

CARD_LINK = "/dev/dri/by-path/pci-0000:41:00.0-card"


@pytest.fixture
def sandbox_root(nvidia_root: fakeroot.FakeRoot) -> fakeroot.FakeRoot:
    lib = fake_sandboxutils.build(nvidia_root.path / fakeroot.LIBDIR / "libnvidia-sandboxutils.so.1")
    if lib is None:
        pytest.skip("no C compiler for the fake libnvidia-sandboxutils")
    # GPU 0 without its render node: a spec that differs from NVML's proves the library was used.
    fake_sandboxutils.describe(
        nvidia_root.path,
        "580.65.06",
        {
            fakeroot.GPU0_UUID: [(0, 0, "/dev/nvidia0"), (1, 0, "/dev/dri/card1"), (3, 4, CARD_LINK)],
            fakeroot.MIG_A: [(0, 0, "/dev/nvidia1"), (10, 0, "/dev/nvidia-caps/nvidia-cap21"),
                             (10, 0, "/dev/nvidia-caps/nvidia-cap22"), (1, 0, "/dev/dri/card1")],
        },
    )  # fmt: skip
    return nvidia_root


def _nodes(spec: Spec, name: str) -> list[str]:
    dev = next(d for d in spec.devices or [] if d.name == name)
    return [n.path for n in dev.edits.device_nodes or []]


def _links(spec: Spec, name: str) -> list[str]:
    dev = next(d for d in spec.devices or [] if d.name == name)
    return [a for h in dev.edits.hooks or [] for a in h.args or [] if "::" in a]


def test_the_ctypes_binding_against_the_fake(sandbox_root: fakeroot.FakeRoot) -> None:
    lib = str(sandbox_root.path / fakeroot.LIBDIR / "libnvidia-sandboxutils.so.1")
    with SandboxUtils(lib, str(sandbox_root.path)) as su:
        assert su.driver_version() == "580.65.06"
        files = su.gpu_files(fakeroot.GPU0_UUID)
        assert [(f.path, f.subtype, f.flags) for f in files] == [
            (f"{sandbox_root.path}/dev/nvidia0", 0, 0),
            (f"{sandbox_root.path}/dev/dri/card1", 1, 0),
            (f"{sandbox_root.path}{CARD_LINK}", 3, 4),
        ]
        assert su.file_content(files[2].path) == "../card1"
        with pytest.raises(SandboxUtilsError, match="ERROR_DEVICE_NOT_FOUND"):
            su.gpu_files(fakeroot.GPU1_UUID)


def test_device_nodes_come_from_sandboxutils(
    sandbox_root: fakeroot.FakeRoot, options: OptionsFactory
) -> None:
    backend = FakeBackend(fakeroot.harness_nvml())
    nvml = generate(options(feature_flags=("disable-nvsandboxutils",)), backend=backend).spec
    su = generate(options(), backend=backend).spec
    assert _nodes(nvml, "0") == ["/dev/nvidia0", "/dev/dri/card1", "/dev/dri/renderD128"]
    assert _nodes(su, "0") == ["/dev/nvidia0", "/dev/dri/card1"]
    assert _links(su, "0") == [f"../card1::{CARD_LINK}"]  # at the container path
    # A MIG device without the gfx attribute gets no DRI node even if the library lists one.
    assert _nodes(su, "1:0") == [
        "/dev/nvidia1",
        "/dev/nvidia-caps/nvidia-cap21",
        "/dev/nvidia-caps/nvidia-cap22",
    ]
    # Unknown to the library (DEVICE_NOT_FOUND): NVML's answer, as nvidia-ctk's FirstValid.
    assert _nodes(su, "1:1") == _nodes(nvml, "1:1")


def test_driver_version_from_sandboxutils(sandbox_root: fakeroot.FakeRoot, options: OptionsFactory) -> None:
    (sandbox_root.path / "sandboxutils-fake/version").write_text("999.88.77\n")
    backend = FakeBackend(fakeroot.harness_nvml())
    result = generate(options(), backend=backend)
    assert result.driver_version == "999.88.77"
    hooks = [a for h in result.spec.edits.hooks or [] for a in h.args or []]
    assert "--host-driver-version=999.88.77" in hooks


def test_failing_init_is_a_warning_and_nvml_is_used(
    sandbox_root: fakeroot.FakeRoot, options: OptionsFactory
) -> None:
    (sandbox_root.path / "sandboxutils-fake/init-error").write_text("")
    backend = FakeBackend(fakeroot.harness_nvml())
    result = generate(options(), backend=backend)
    assert any("failed to init nvsandboxutils" in w and "ERROR_NOT_SUPPORTED" in w for w in result.warnings)
    assert _nodes(result.spec, "0") == ["/dev/nvidia0", "/dev/dri/card1", "/dev/dri/renderD128"]


def test_not_used_without_the_library_in_the_root(
    nvidia_root: fakeroot.FakeRoot, options: OptionsFactory
) -> None:
    result = generate(options(), backend=FakeBackend(fakeroot.harness_nvml()))
    assert result.warnings == [] and "/dev/dri/renderD128" in _nodes(result.spec, "0")


def test_unloadable_library_is_an_error_naming_it(tmp_path: Path) -> None:
    bogus = tmp_path / "libnvidia-sandboxutils.so.1"
    bogus.write_bytes(b"not an ELF")
    with pytest.raises(SandboxUtilsError, match=str(bogus)):
        SandboxUtils(str(bogus), "/")
