"""The shim's edit cache: a cached injection equals an uncached one, and any spec change invalidates it."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cdikit.integrations.runtime import _editcache
from cdikit.integrations.runtime._config import RuntimeConfig
from cdikit.integrations.runtime._errors import ShimError
from cdikit.integrations.runtime._log import ShimLog
from cdikit.integrations.runtime._requests import DeviceRequests
from cdikit.integrations.runtime._shim import inject_bundle
from cdikit.registry._diskcache import default_cache_dir

VENDOR = "example.com/dev"

BASE_DOC: dict[str, Any] = {
    "ociVersion": "1.0.2",
    "process": {
        "user": {"uid": 1000, "gid": 1000},
        "env": ["PATH=/bin", "KEEP=1"],
        "cwd": "/",
        "args": ["sh"],
    },
    "root": {"path": "rootfs"},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "hooks": {"prestart": [{"path": "/usr/bin/nvidia-container-runtime-hook", "args": ["x"]}]},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]},
}


def _spec(kind: str, devices: list[dict[str, Any]], edits: dict[str, Any] | None = None) -> dict[str, Any]:
    # A device without edits is invalid: give bare ones a marker.
    devices = [d if "containerEdits" in d else {**d, "containerEdits": {"env": [f"BARE_{d['name']}=1"]}}
               for d in devices]  # fmt: skip
    spec: dict[str, Any] = {"cdiVersion": "1.1.0", "kind": kind, "devices": devices}
    if edits:
        spec["containerEdits"] = edits
    return spec


FULL_EDITS: dict[str, Any] = {
    "env": ["A=1", "KEEP=2"],
    "deviceNodes": [
        {"path": "/dev/x-null", "hostPath": "/dev/null", "permissions": "rw"},
        {"path": "/dev/x-fixed", "type": "c", "major": 250, "minor": 3, "fileMode": 432, "uid": 7, "gid": 8},
    ],
    "mounts": [
        {"hostPath": "/tmp", "containerPath": "/a/b/c", "options": ["rbind", "ro"]},
        {"hostPath": "/var", "containerPath": "/var", "type": "bind"},
    ],
    "hooks": [
        {
            "hookName": "createContainer",
            "path": "/bin/true",
            "args": ["true", "x"],
            "env": ["E=1"],
            "timeout": 5,
        },
        {"hookName": "poststop", "path": "/bin/false"},
    ],
    "intelRdt": {"closID": "clos1", "l3CacheSchema": "L3:0=ff", "schemata": ["MB:0=50"]},
    "additionalGids": [44, 0, 44, 45],
}

# (spec files, requests, optional, source): each case is injected with and without the cache.
CASES: dict[str, tuple[dict[str, dict[str, Any]], list[str], list[str], str]] = {
    "env only": ({"a.json": _spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["X=1"]}}])},
                 [f"{VENDOR}=d0"], [], "annotations"),
    "every kind of edit": ({"a.json": _spec(VENDOR, [{"name": "d0", "containerEdits": FULL_EDITS}],
                                            {"env": ["COMMON=1"], "additionalGids": [9]})},
                           [f"{VENDOR}=d0"], [], "annotations"),
    "two specs, repeated name": (
        {"a.json": _spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["D0=1"]}},
                                  {"name": "d1", "containerEdits": {"deviceNodes": [{"path": "/dev/zero"}]}}],
                         {"env": ["COMMON=a"]}),
         "b.yaml": _spec("other.com/gpu", [{"name": "0", "containerEdits": {"mounts": [
             {"hostPath": "/etc", "containerPath": "/x", "options": ["bind"]}]}}], {"env": ["COMMON=b"]})},
        [f"{VENDOR}=d1", "other.com/gpu=0", f"{VENDOR}=d0", f"{VENDOR}=d1"], [], "annotations"),
    "kind only and all": (
        {"a.json": _spec(VENDOR, [{"name": n, "containerEdits": {"env": [f"N{n}=1"]}} for n in ("b", "a", "c")])},
        [VENDOR, f"{VENDOR}=*"], [], "annotations"),
    "nvidia env drops the legacy hook": (
        {"g.json": _spec("nvidia.com/gpu", [{"name": "all", "containerEdits": {"env": ["G=all"]}}])},
        ["nvidia.com/gpu=all"], [], "nvidia-env"),
    "optional name missing": ({"g.json": _spec("nvidia.com/gpu", [{"name": "0"}])},
                              ["nvidia.com/gpu=none"], ["nvidia.com/gpu=none"], "nvidia-env"),
    "a broken spec beside a good one": (
        {"a.json": _spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["OK=1"]}}]),
         "z.json": {"cdiVersion": "0.7.0", "kind": "bad", "devices": []}},
        [f"{VENDOR}=d0"], [], "annotations"),
}  # fmt: skip


def _write_specs(spec_dir: Path, files: dict[str, dict[str, Any]]) -> None:
    spec_dir.mkdir(exist_ok=True)
    for name, doc in files.items():
        (spec_dir / name).write_text(json.dumps(doc), encoding="utf-8")


def _inject(spec_dir: Path, names: list[str], optional: list[str], source: str, log: Path) -> dict[str, Any]:
    cfg = RuntimeConfig()
    cfg.spec_dirs = [str(spec_dir), str(spec_dir.parent / "missing")]
    doc = copy.deepcopy(BASE_DOC)
    requests = DeviceRequests(names, optional=optional, source=source)
    injected = inject_bundle(doc, requests, cfg, ShimLog(log_file=str(log), level="debug"))
    doc["__injected__"] = injected
    return doc


@pytest.fixture
def cache_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache dir; stamps count as old at once (the racy window is covered by its own test)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(_editcache.CACHE_ENV, str(cache))
    monkeypatch.delenv(_editcache.SWITCH_ENV, raising=False)
    monkeypatch.setattr(_editcache, "RACY_WINDOW_NS", -(10**15))
    return cache


def _hits(log: Path) -> int:
    return log.read_text(encoding="utf-8").count("from the edit cache") if log.exists() else 0


@pytest.mark.parametrize("case", list(CASES))
def test_cached_injection_equals_uncached(
    case: str, tmp_path: Path, cache_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, names, optional, source = CASES[case]
    spec_dir = tmp_path / "cdi"
    _write_specs(spec_dir, files)
    log = tmp_path / "shim.log"
    monkeypatch.setenv(_editcache.SWITCH_ENV, "off")
    uncached = _inject(spec_dir, names, optional, source, log)
    assert not cache_env.exists() or not list(cache_env.glob("runtime-edits-*"))
    monkeypatch.delenv(_editcache.SWITCH_ENV)
    filling = _inject(spec_dir, names, optional, source, log)
    assert _hits(log) == 0
    assert len(list(cache_env.glob("runtime-edits-*.marshal"))) == 1
    cached = _inject(spec_dir, names, optional, source, log)
    assert _hits(log) == 1
    assert filling == uncached
    assert cached == uncached


@pytest.mark.parametrize(
    "change",
    ["rewrite", "add a spec", "remove a spec", "rename a spec", "replace by symlink", "chmod"],
)
def test_spec_changes_invalidate(change: str, tmp_path: Path, cache_env: Path) -> None:
    spec_dir = tmp_path / "cdi"
    first = _spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["V=old"]}}])
    _write_specs(spec_dir, {"a.json": first, "b.json": _spec("b.com/x", [{"name": "y"}])})
    log = tmp_path / "shim.log"
    names = [f"{VENDOR}=d0"]
    _inject(spec_dir, names, [], "annotations", log)
    _inject(spec_dir, names, [], "annotations", log)
    assert _hits(log) == 1
    second = _spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["V=new"]}}])
    target = spec_dir / "a.json"
    if change == "rewrite":
        # Same size and mtime as before: only the ctime (and content) differ.
        old = target.stat()
        target.write_text(json.dumps(first).replace("V=old", "V=new"), encoding="utf-8")
        os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))
    elif change == "add a spec":
        (spec_dir / "c.json").write_text(json.dumps(_spec("c.com/x", [{"name": "d0"}])), encoding="utf-8")
    elif change == "remove a spec":
        (spec_dir / "b.json").unlink()
    elif change == "rename a spec":
        target.rename(spec_dir / "a.yaml")
    elif change == "replace by symlink":
        (tmp_path / "elsewhere.json").write_text(json.dumps(second), encoding="utf-8")
        target.unlink()
        target.symlink_to(tmp_path / "elsewhere.json")
    elif change == "chmod":
        target.chmod(0o600)
    cached_after = _inject(spec_dir, names, [], "annotations", log)
    assert _hits(log) == 1  # the change was noticed: resolved through the registry again
    os.environ[_editcache.SWITCH_ENV] = "off"
    try:
        uncached_after = _inject(spec_dir, names, [], "annotations", log)
    finally:
        del os.environ[_editcache.SWITCH_ENV]
    assert cached_after == uncached_after


def test_symlinked_spec_target_change_invalidates(tmp_path: Path, cache_env: Path) -> None:
    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    real = tmp_path / "real.json"
    real.write_text(json.dumps(_spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["V=1"]}}])))
    (spec_dir / "a.json").symlink_to(real)
    log = tmp_path / "shim.log"
    _inject(spec_dir, [f"{VENDOR}=d0"], [], "annotations", log)
    real.write_text(json.dumps(_spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["V=2"]}}])))
    doc = _inject(spec_dir, [f"{VENDOR}=d0"], [], "annotations", log)
    assert _hits(log) == 0
    assert "V=2" in doc["process"]["env"]


def test_racy_stamps_are_not_stored(tmp_path: Path, cache_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_editcache, "RACY_WINDOW_NS", 2_000_000_000)
    spec_dir = tmp_path / "cdi"
    _write_specs(spec_dir, {"a.json": _spec(VENDOR, [{"name": "d0"}])})  # written just now
    _inject(spec_dir, [f"{VENDOR}=d0"], [], "annotations", tmp_path / "log")
    assert not list(cache_env.glob("runtime-edits-*"))


def test_failed_resolution_is_not_cached(tmp_path: Path, cache_env: Path) -> None:
    spec_dir = tmp_path / "cdi"
    _write_specs(spec_dir, {"a.json": _spec(VENDOR, [{"name": "d0"}])})
    for _ in range(2):
        with pytest.raises(ShimError, match=r"unresolvable CDI devices example\.com/dev=nope"):
            _inject(spec_dir, [f"{VENDOR}=nope"], [], "annotations", tmp_path / "log")
    assert not list(cache_env.glob("runtime-edits-*"))


def _filled_cache(tmp_path: Path, log: Path) -> tuple[Path, Path]:
    spec_dir = tmp_path / "cdi"
    _write_specs(spec_dir, {"a.json": _spec(VENDOR, [{"name": "d0", "containerEdits": {"env": ["V=1"]}}])})
    _inject(spec_dir, [f"{VENDOR}=d0"], [], "annotations", log)
    (cache_file,) = (tmp_path / "cache").glob("runtime-edits-*.marshal")
    return spec_dir, cache_file


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other owner", "symlink", "wrong shape"])
def test_untrusted_or_damaged_cache_file_is_a_miss(damage: str, tmp_path: Path, cache_env: Path) -> None:
    log = tmp_path / "shim.log"
    spec_dir, cache_file = _filled_cache(tmp_path, log)
    data = cache_file.read_bytes()
    if damage == "truncate":
        cache_file.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        cache_file.write_bytes(b"\xff\x00not marshal")
    elif damage == "other owner":
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(cache_file, 65534, 65534)
    elif damage == "symlink":
        copy_path = tmp_path / "copy.marshal"
        copy_path.write_bytes(data)
        cache_file.unlink()
        cache_file.symlink_to(copy_path)
    elif damage == "wrong shape":
        import marshal

        identity, stamp, _ = marshal.loads(data)
        cache_file.write_bytes(marshal.dumps((identity, stamp, {((f"{VENDOR}=d0",), ()): "junk"})))
    doc = _inject(spec_dir, [f"{VENDOR}=d0"], [], "annotations", log)
    assert _hits(log) == 0
    assert "V=1" in doc["process"]["env"]


def test_insecure_cache_dir_is_not_used(tmp_path: Path, cache_env: Path) -> None:
    cache_env.mkdir(mode=0o700)
    cache_env.chmod(0o777)
    assert _editcache.open_edit_cache([str(tmp_path)]) is None
    cache_env.chmod(0o700)
    assert _editcache.open_edit_cache([str(tmp_path)]) is not None


@pytest.mark.parametrize("setting", [None, "", "off", "/some/where", "rel/dir"])
def test_cache_dir_is_the_registry_cache_dir(setting: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if setting is None:
        monkeypatch.delenv(_editcache.CACHE_ENV, raising=False)
    else:
        monkeypatch.setenv(_editcache.CACHE_ENV, setting)
    expected = default_cache_dir()
    assert _editcache.cache_dir() == (os.path.abspath(expected) if expected else None)


def test_cache_dir_created_private(tmp_path: Path, cache_env: Path) -> None:
    _filled_cache(tmp_path, tmp_path / "log")
    assert stat.S_IMODE(cache_env.stat().st_mode) == 0o700
    (cache_file,) = cache_env.glob("runtime-edits-*")
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600


def test_plain_edits_round_trip() -> None:
    from cdikit.spec.decode import parse_spec

    spec = parse_spec(json.dumps(_spec(VENDOR, [{"name": "d0", "containerEdits": FULL_EDITS}])).encode())
    assert spec is not None and spec.devices
    edits = spec.devices[0].edits
    plain = _editcache.plain_edits([edits])
    assert plain is not None
    (view,) = _editcache.edit_views(plain)
    for field in edits.__struct_fields__:
        value = getattr(edits, field)
        seen = getattr(view, field)
        if isinstance(value, list):
            assert len(seen) == len(value)
            for item, got in zip(value, seen, strict=True):
                for sub in getattr(item, "__struct_fields__", ()):
                    assert getattr(got, sub) == getattr(item, sub)
                if not hasattr(item, "__struct_fields__"):
                    assert got == item
        elif hasattr(value, "__struct_fields__"):
            assert all(getattr(seen, sub) == getattr(value, sub) for sub in value.__struct_fields__)
        else:
            assert seen == value
