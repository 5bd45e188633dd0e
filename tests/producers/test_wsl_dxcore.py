"""WSL mode through dxcore (issue 16): the driver store as ``libdxcore.so`` reports it.

The library is a fake compiled at test time (``fake_dxcore.py``) placed where WSL
has it (``<root>/usr/lib/wsl/lib/libdxcore.so``); the generator's ctypes code
is what runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cdikit.producers.nvidia import _dlopen
from cdikit.producers.nvidia.dxcore import DxcoreError, driver_store_paths
from cdikit.producers.nvidia.generate import GenerateError, generate
from tests.producers import fake_dxcore, fakeroot
from tests.producers.conftest import root_options

STORE_A = "/usr/lib/wsl/drivers/nv_dispi.inf_amd64_aaaa"  # older NVIDIA store, WDDM too old
STORE_B = "/usr/lib/wsl/drivers/nv_dispi.inf_amd64_bbbb"  # the NVIDIA store dxcore reports
STORE_C = "/usr/lib/wsl/drivers/iigd_dch.inf_amd64_cccc"  # another vendor's adapter


def _wsl_root(base: Path, *, enum3: bool = True) -> Path:
    root = base / "wsl"
    for store in (STORE_A, STORE_B):
        for name in (
            "libcuda.so.1.1",
            "libcuda_loader.so",
            "libnvidia-ml.so.1",
            "nvcubins.bin",
            "nvidia-smi",
        ):
            fakeroot._write(root / store.lstrip("/") / name, b"x")
    fakeroot._write(root / STORE_C.lstrip("/") / "igdml64.so", b"x")
    if fake_dxcore.build(root / "usr/lib/wsl/lib/libdxcore.so", enum3=enum3) is None:
        pytest.skip("no C compiler for the fake libdxcore.so")
    fakeroot.make_node(root, "/dev/dxg", 10, 63, 0o666)
    return root


@pytest.fixture
def adapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    desc = tmp_path / "adapters.txt"
    desc.write_text(f"7 2600 {STORE_A}\n9 3100 {STORE_C}\n11 3100 {STORE_B}\n12 3100 {STORE_B}\n")
    monkeypatch.setenv("CDIKIT_FAKE_DXCORE", str(desc))
    return desc


@pytest.mark.parametrize("enum3", [True, False], ids=["EnumAdapters3", "EnumAdapters2"])
def test_driver_store_paths(tmp_path: Path, adapters: Path, enum3: bool) -> None:
    root = _wsl_root(tmp_path, enum3=enum3)
    # WDDM < 2.7 skipped; duplicates once; adapter order kept.
    assert driver_store_paths(str(root / "usr/lib/wsl/lib/libdxcore.so")) == [STORE_C, STORE_B]


def test_wsl_spec_uses_the_store_dxcore_reports(tmp_path: Path, adapters: Path) -> None:
    root = _wsl_root(tmp_path)
    real = (root / "dev/dxg").is_char_device()
    result = generate(root_options(fakeroot.FakeRoot(root, real), mode="auto"), backend=None)
    assert result.mode == "wsl"
    mounts = [m.container_path for m in result.spec.edits.mounts or []]
    assert f"{STORE_B}/libcuda.so.1.1" in mounts
    assert not any(m.startswith(STORE_A) for m in mounts)  # the directory search would pick A
    assert any("multiple driver store paths" in w for w in result.warnings)


def test_without_dxcore_the_stores_are_searched(tmp_path: Path, adapters: Path) -> None:
    root = _wsl_root(tmp_path)
    (root / "usr/lib/wsl/lib/libdxcore.so").write_bytes(fakeroot.elf_with_soname("libdxcore.so"))
    real = (root / "dev/dxg").is_char_device()
    result = generate(root_options(fakeroot.FakeRoot(root, real), mode="wsl"), backend=None)
    assert any("dxcore unavailable" in w and "no dynamic symbol" in w for w in result.warnings)
    mounts = [m.container_path for m in result.spec.edits.mounts or []]
    assert f"{STORE_A}/libcuda.so.1.1" in mounts  # first store holding libcuda, sorted


def test_no_nvidia_store_at_all(tmp_path: Path, adapters: Path) -> None:
    root = _wsl_root(tmp_path)
    adapters.write_text(f"9 3100 {STORE_C}\n")
    for store in (STORE_A, STORE_B):
        (root / store.lstrip("/") / "libcuda.so.1.1").unlink()
    real = (root / "dev/dxg").is_char_device()
    with pytest.raises(GenerateError, match=r"no WSL driver store holding libcuda\.so\.1\.1"):
        generate(root_options(fakeroot.FakeRoot(root, real), mode="wsl"), backend=None)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "not an ELF shared object"),
        (b"#!/bin/sh\n" + b"\0" * 64, "not an ELF shared object"),
        (fakeroot.elf_with_soname("libx.so"), "no dynamic symbol or hash table"),  # would crash dlopen
    ],
)
def test_load_library_refuses_what_would_crash_dlopen(tmp_path: Path, content: bytes, problem: str) -> None:
    lib = tmp_path / "libx.so"
    lib.write_bytes(content)
    with pytest.raises(OSError, match=problem):
        _dlopen.load_library(str(lib))
    with pytest.raises(DxcoreError, match=problem):
        driver_store_paths(str(lib))
