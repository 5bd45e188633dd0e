"""Fixtures for the ``cdi`` command tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli._helpers import make_spec_dir
from tests.integrations.conftest import fake_runtime  # noqa: F401 (a fixture)


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """A small spec dir: vendor.com/gpu=gpu0,gpu1 (YAML) and other.org/nic=eth0 (JSON)."""
    return make_spec_dir(tmp_path)
