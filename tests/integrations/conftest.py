"""Fixtures shared by the runtime-shim tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def fake_runtime(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that writes its argv (one per line) and exits 7."""
    record = tmp_path / "argv.txt"
    fake = tmp_path / "fake-runc"
    fake.write_text(f'#!/bin/sh\nprintf \'%s\\n\' "$0" "$@" > {record}\nexit 7\n', encoding="utf-8")
    fake.chmod(0o755)
    return fake, record
