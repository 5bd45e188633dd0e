"""Fixtures of the real-container tests (root + runc; skipped cleanly otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e._support import Bundle, build_rootfs, require_runc, write_wrapper


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_runc()
    return build_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Executable wrappers: ``cdi-runtime`` and ``cdi-hook`` on this interpreter."""
    base = tmp_path_factory.mktemp("bin")
    return {
        "cdi-runtime": write_wrapper(base / "cdi-runtime", "cdikit.integrations.runtime"),
        "cdi-hook": write_wrapper(base / "cdi-hook", "cdikit.integrations.hooks"),
    }


@pytest.fixture
def bundle(tmp_path: Path, rootfs_template: Path) -> Iterator[Bundle]:
    b = Bundle(tmp_path, rootfs_template)
    yield b
    b.cleanup()
