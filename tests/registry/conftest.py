"""Shared helpers for registry tests: spec files written as plain text (no encoder needed)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pytest


def spec_json(kind: str, devices: Sequence[str], *, env: str = "A=1", version: str = "0.3.0") -> str:
    """A minimal valid spec: one env edit per device (``NAME=<device>`` plus ``env``)."""
    doc = {
        "cdiVersion": version,
        "kind": kind,
        "devices": [{"name": d, "containerEdits": {"env": [f"DEV={d}", env]}} for d in devices],
    }
    return json.dumps(doc)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` the way producers should: temp file + rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture(autouse=True)
def _private_disk_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own persistent spec cache: never the user's, never shared between tests."""
    cache = tmp_path_factory.mktemp("cdikit-cache")
    cache.chmod(0o700)
    monkeypatch.setenv("CDIKIT_CACHE_DIR", str(cache))
    return cache
