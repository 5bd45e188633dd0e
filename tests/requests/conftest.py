"""Spec dirs on disk for the request tests: real files read by the real Registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdikit.errors import RegistryError
from cdikit.registry import Registry

SpecWriter = Callable[..., Path]


def device(name: str, **annotations: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "containerEdits": {"env": [f"DEV={name}"]}}
    if annotations:
        out["annotations"] = annotations
    return out


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cdi"
    d.mkdir()
    return d


@pytest.fixture
def write_spec(spec_dir: Path) -> SpecWriter:
    """Write one spec file (JSON) into the spec dir; devices keep the given (file) order."""

    def write(kind: str, devices: list[dict[str, Any]], annotations: dict[str, str] | None = None) -> Path:
        doc: dict[str, Any] = {"cdiVersion": "0.6.0", "kind": kind, "devices": devices}
        if annotations:
            doc["annotations"] = annotations
        path = spec_dir / (kind.replace("/", "-") + ".json")
        path.write_text(json.dumps(doc))
        return path

    return write


@pytest.fixture
def open_registry(spec_dir: Path) -> Callable[[], Registry]:
    def make() -> Registry:
        registry = Registry([str(spec_dir)], auto_refresh=False)
        try:
            registry.refresh()
        except RegistryError:
            pass  # per-file errors stay queryable; good specs are loaded anyway
        return registry

    return make
