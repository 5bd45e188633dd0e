"""Consumer versions: asked only of consumers that matter, remembered per binary identity."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.integrations.consumers import versions as v
from cdikit.spec.version import KNOWN_VERSIONS


def _fake(bindir: Path, name: str, answer: str, log: Path) -> Path:
    path = bindir / name
    path.write_text(f'#!/bin/sh\necho run >> "{log}"\necho "{answer}"\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written just now count as settled (the racy window is for real clocks, tested below)."""
    import cdikit._cachedir

    monkeypatch.setattr(cdikit._cachedir, "RACY_WINDOW_NS", 0)


def _runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.usefixtures("settled")
def test_asked_once_while_the_binary_stays_the_same(tmp_path: Path) -> None:
    log = tmp_path / "log"
    binary = _fake(tmp_path, "podman", "podman version 4.3.1", log)
    first = v.detect("podman", path=str(tmp_path))
    second = v.detect("podman", path=str(tmp_path))
    assert first == second == v.ConsumerVersion("podman", str(binary), (4, 3, 1))
    assert _runs(log) == 1
    _fake(tmp_path, "podman", "podman version 4.4.0 (upgraded)", log)  # replaced: size and times change
    assert v.detect("podman", path=str(tmp_path)) == v.ConsumerVersion("podman", str(binary), (4, 4, 0))
    assert _runs(log) == 2


@pytest.mark.usefixtures("settled")
def test_no_version_is_remembered_too_and_damage_is_ignored(tmp_path: Path) -> None:
    log = tmp_path / "log"
    _fake(tmp_path, "crio", "no idea", log)
    assert v.detect("crio", path=str(tmp_path)).version is None  # type: ignore[union-attr]
    assert v.detect("crio", path=str(tmp_path)).version is None  # type: ignore[union-attr]
    assert _runs(log) == 1
    cache = Path(os.environ["CDIKIT_CACHE_DIR"]) / v._VersionCache.NAME
    for damaged in (b"\xff\xfe garbage\n", cache.read_bytes().replace(b"\t-", b"\t1.x.2"), b""):
        cache.write_bytes(damaged)
        assert v.detect("crio", path=str(tmp_path)).version is None  # type: ignore[union-attr]
    assert _runs(log) == 4


def test_a_binary_changed_just_now_is_asked_every_time(tmp_path: Path) -> None:
    log = tmp_path / "log"
    _fake(tmp_path, "podman", "podman version 4.3.1", log)
    v.detect("podman", path=str(tmp_path))
    v.detect("podman", path=str(tmp_path))
    assert _runs(log) == 2


def test_cache_off_asks_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDIKIT_CACHE_DIR", "off")
    log = tmp_path / "log"
    _fake(tmp_path, "podman", "podman version 4.3.1", log)
    v.detect("podman", path=str(tmp_path))
    v.detect("podman", path=str(tmp_path))
    assert _runs(log) == 2


_found = st.builds(
    lambda c, ver: v.ConsumerVersion(c, f"/usr/bin/{c}", ver),
    st.sampled_from(sorted(v.BINARIES)),
    st.none() | st.tuples(st.integers(0, 40), st.integers(0, 110), st.integers(0, 3)),
)


@given(st.sampled_from(KNOWN_VERSIONS), st.lists(_found, max_size=6))
def test_limiting_consumers_give_the_same_warnings(cdi_version: str, found: list[v.ConsumerVersion]) -> None:
    everyone = {f.consumer: f for f in found}
    limited = {c: f for c, f in everyone.items() if c in v.limiting(cdi_version)}
    assert v.unloadable_by(cdi_version, limited) == v.unloadable_by(cdi_version, everyone)
