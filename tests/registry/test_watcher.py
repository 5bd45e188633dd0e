"""Auto-refresh with real inotify (and the polling fallback) on real directories."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cdikit.registry import Registry
from cdikit.registry.watcher import InotifyWatcher, PollingWatcher
from tests.registry.conftest import spec_json, write, write_atomic

K = "vendor.com/device"
WAIT = 10.0  # generous bound: only reached when a change is missed


def _listened(reg: Registry) -> threading.Event:
    changed = threading.Event()
    reg.add_listener(lambda _r: changed.set())
    return changed


def _wait_for(reg: Registry, changed: threading.Event, predicate: Callable[[], bool]) -> bool:
    """Wait (bounded) for the *background thread* to make ``predicate`` true."""
    while True:
        if not changed.wait(WAIT):
            return False
        changed.clear()
        if predicate():
            return True


@pytest.fixture(params=["inotify", "polling"])
def make_registry(request: pytest.FixtureRequest) -> Iterator[Callable[[list[str]], Registry]]:
    made: list[Registry] = []

    def make(dirs: list[str]) -> Registry:
        reg = Registry(dirs, use_inotify=request.param == "inotify", poll_interval=0.05)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        reg.close()


def _has(reg_devices: Callable[[], list[str]], name: str) -> Callable[[], bool]:
    return lambda: name in reg_devices()


def test_inotify_is_used_here(tmp_path: Path) -> None:
    with Registry([str(tmp_path)]) as reg:
        assert isinstance(reg._watcher, InotifyWatcher)
    with Registry([str(tmp_path)], use_inotify=False) as reg:
        assert isinstance(reg._watcher, PollingWatcher)


def test_background_thread_sees_write_rename_remove(
    tmp_path: Path, make_registry: Callable[[list[str]], Registry]
) -> None:
    reg = make_registry([str(tmp_path)])
    changed = _listened(reg)
    snap = reg._state
    write_atomic(tmp_path / "a.json", spec_json(K, ["dev0"]))
    assert _wait_for(reg, changed, lambda: f"{K}=dev0" in reg._state.devices)
    assert reg._state is not snap
    write(tmp_path / "a.json", spec_json(K, ["dev1"]))  # in place
    assert _wait_for(reg, changed, lambda: f"{K}=dev1" in reg._state.devices)
    os.rename(tmp_path / "a.json", tmp_path / "b.yaml")
    assert _wait_for(reg, changed, lambda: any(s.path.endswith("b.yaml") for s in reg._state.specs))
    (tmp_path / "b.yaml").unlink()
    assert _wait_for(reg, changed, lambda: not reg._state.devices)


def test_query_sees_writes_made_before_it(tmp_path: Path) -> None:
    with Registry([str(tmp_path)]) as reg:
        for i in range(20):
            write_atomic(tmp_path / f"s{i}.json", spec_json(K, [f"dev{i}"]))
            assert reg.get_device(f"{K}=dev{i}") is not None
            (tmp_path / f"s{i}.json").unlink()
            assert reg.get_device(f"{K}=dev{i}") is None


def test_directory_appearing_later(tmp_path: Path, make_registry: Callable[[list[str]], Registry]) -> None:
    spec_dir = tmp_path / "a" / "b" / "cdi"
    reg = make_registry([str(spec_dir)])
    assert reg.list_devices() == []
    changed = _listened(reg)
    spec_dir.mkdir(parents=True)
    write_atomic(spec_dir / "x.yaml", spec_json(K, ["dev0"]))
    assert _wait_for(reg, changed, lambda: f"{K}=dev0" in reg._state.devices)
    assert reg.get_spec_dir_errors() == {}


def test_directory_removed_and_replaced(
    tmp_path: Path, make_registry: Callable[[list[str]], Registry]
) -> None:
    spec_dir = tmp_path / "cdi"
    write(spec_dir / "x.json", spec_json(K, ["old"]))
    reg = make_registry([str(spec_dir)])
    assert reg.list_devices() == [f"{K}=old"]
    changed = _listened(reg)
    shutil.rmtree(spec_dir)
    assert _wait_for(reg, changed, lambda: not reg._state.devices)
    # replaced by a rename of a fully prepared directory
    staging = tmp_path / "staging"
    write(staging / "y.json", spec_json(K, ["new"]))
    os.rename(staging, spec_dir)
    assert _wait_for(reg, changed, lambda: f"{K}=new" in reg._state.devices)
    # and the new directory is itself watched
    write_atomic(spec_dir / "z.json", spec_json(K, ["newer"]))
    assert _wait_for(reg, changed, lambda: f"{K}=newer" in reg._state.devices)


def test_spec_dir_that_is_a_file(tmp_path: Path, make_registry: Callable[[list[str]], Registry]) -> None:
    single = tmp_path / "single.yaml"
    reg = make_registry([str(single)])
    changed = _listened(reg)
    write_atomic(single, spec_json(K, ["dev0"]))
    assert _wait_for(reg, changed, lambda: f"{K}=dev0" in reg._state.devices)


def test_auto_refresh_off_sees_nothing_until_refresh(tmp_path: Path) -> None:
    reg = Registry([str(tmp_path)], auto_refresh=False)
    assert not reg.auto_refresh
    write_atomic(tmp_path / "a.json", spec_json(K, ["dev0"]))
    assert reg.list_devices() == []
    reg.refresh()
    assert reg.list_devices() == [f"{K}=dev0"]


def test_close_stops_the_thread(tmp_path: Path) -> None:
    reg = Registry([str(tmp_path)])
    watcher = reg._watcher
    assert watcher is not None and watcher._thread is not None
    reg.close()
    assert not watcher._thread.is_alive()
    assert not reg.auto_refresh
    write_atomic(tmp_path / "a.json", spec_json(K, ["dev0"]))
    assert reg.list_devices() == []  # closed: explicit refreshes only
