"""Fixtures: fake driver roots (built per test session) and options pointing at them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdikit.producers.nvidia.generate import GenerateOptions
from cdikit.producers.nvidia.nvml import FakeBackend
from tests.producers import fakeroot

OptionsFactory = Callable[..., GenerateOptions]


@pytest.fixture
def nvidia_root(tmp_path: Path) -> fakeroot.FakeRoot:
    """A fresh fake driver root (cheap: tiny files) that a test may modify."""
    return fakeroot.build_nvidia_root(tmp_path / "root")


@pytest.fixture
def nvml_json(tmp_path: Path) -> Path:
    return fakeroot.write_nvml(tmp_path / "nvml.json", fakeroot.harness_nvml())


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend(fakeroot.harness_nvml())


def root_options(root: fakeroot.FakeRoot, **overrides: Any) -> GenerateOptions:
    """Options generating from ``root`` with the reference harness' settings."""
    values: dict[str, Any] = {
        "mode": "nvml",
        "driver_root": str(root.path),
        "sys_root": str(root.path),
        "proc_root": str(root.path),
        "hook_path": "/usr/bin/nvidia-cdi-hook",
        "binary_dirs": ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"),
        "xdg_data_dirs": ("/usr/local/share", "/usr/share"),
        "kernel_release": "6.8.0-fake",
        "fake_device_nodes": not root.real_nodes,
    }
    values.update(overrides)
    return GenerateOptions(**values)


@pytest.fixture
def options(nvidia_root: fakeroot.FakeRoot) -> OptionsFactory:
    def make(**overrides: Any) -> GenerateOptions:
        return root_options(nvidia_root, **overrides)

    return make
