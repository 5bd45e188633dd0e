"""The persistent spec cache: an unchanged file is not parsed again, even by another process."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdikit.registry.loader as loader_module
import cdikit.spec.decode as decode_module
from cdikit.registry import Registry, _index
from cdikit.registry._diskcache import default_cache_dir
from cdikit.spec import ContainerEdits, Device, DeviceNode, Spec, encode_spec
from cdikit.validation.schema import Schema
from tests.registry.conftest import spec_json, write

GOOD = {f"v{i}.json": spec_json(f"vendor{i}.com/gpu", [f"d{i}a", f"d{i}b"]) for i in range(4)}
BAD_YAML = "cdiVersion: 0.3.0\nkind: vendor.com/gpu\ndevices:\n  - name: 'bad name'\n"
EXPECTED_DEVICES = sorted(f"vendor{i}.com/gpu=d{i}{s}" for i in range(4) for s in "ab")


@pytest.fixture
def trust_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust stamps at once: files written by a test are never older than the racy window."""
    monkeypatch.setattr(loader_module, "RACY_WINDOW_NS", -(10**12))


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cdi"
    for name, text in GOOD.items():
        write(d / name, text)
    write(d / "broken.yaml", BAD_YAML)
    return d


def _registry(spec_dir: Path, cache: bool | str = True, **kw: object) -> Registry:
    return Registry([str(spec_dir)], auto_refresh=False, cache=cache, **kw)  # type: ignore[arg-type]


def _cache_files(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.iterdir() if p.suffix == ".msgpack")


def _read_cache_file(path: Path) -> tuple[str, str, list[tuple[Any, ...]], memoryview]:
    """The key, wire fingerprint, entries and blob region of a cache file (format of ``_index``)."""
    data = path.read_bytes()
    head = len(b"cdikit-spec-cache/2\n")
    length = int.from_bytes(data[head : head + 8], "big")
    key, wire, _size, entries = marshal.loads(data[head + 40 : head + 40 + length])
    return key, wire, list(entries), memoryview(data)[head + 40 + length :]


def _forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a spec file was parsed despite a warm disk cache")

    monkeypatch.setattr(decode_module, "parse_spec", refuse)


@pytest.mark.usefixtures("trust_now")
def test_warm_cache_spares_every_parse(spec_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _registry(spec_dir)
    assert first._loader.parses == 5
    assert first._loader.disk_hits == 0
    _forbid_parsing(monkeypatch)
    second = _registry(spec_dir)
    assert second._loader.parses == 0
    assert second._loader.disk_hits == 5
    assert second.list_devices() == EXPECTED_DEVICES == first.list_devices()
    assert second.get_errors() == first.get_errors()
    assert [s.spec for s in second.specs()] == [s.spec for s in first.specs()]
    assert [(s.path, s.priority) for s in second.specs()] == [(s.path, s.priority) for s in first.specs()]


@pytest.mark.usefixtures("trust_now")
def test_errors_are_cached_with_their_text(spec_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _registry(spec_dir)
    errors = first.get_spec_errors(str(spec_dir / "broken.yaml"))
    assert errors and "bad name" in errors[0]
    _forbid_parsing(monkeypatch)
    second = _registry(spec_dir)
    assert second.get_spec_errors(str(spec_dir / "broken.yaml")) == errors


@pytest.mark.usefixtures("trust_now")
def test_error_texts_are_not_reused_for_another_path_spelling(
    spec_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(spec_dir / "unparsable.yaml", "devices: [\n")
    absolute = _registry(spec_dir)
    assert str(spec_dir / "unparsable.yaml") in absolute.get_spec_errors(str(spec_dir / "unparsable.yaml"))[0]
    monkeypatch.chdir(spec_dir.parent)
    relative = Registry(["cdi"], auto_refresh=False)
    assert relative._loader.parses == 2  # only the broken files: their errors may quote the path
    (error,) = relative.get_spec_errors("cdi/unparsable.yaml")
    assert '"cdi/unparsable.yaml"' in error
    assert relative.list_devices() == EXPECTED_DEVICES


_BASE = EXPECTED_DEVICES[:4]  # the devices of v0.json and v1.json


@pytest.mark.parametrize(
    ("change", "parses", "devices"),
    [
        ("rewrite", 1, sorted(["vendor0.com/gpu=new", *_BASE[2:]])),
        ("touch", 1, _BASE),  # same bytes, new stamp: parsed again, same devices
        ("remove", 0, _BASE[:2]),
        ("add", 1, [*_BASE, "vendor9.com/gpu=n"]),
    ],
)
@pytest.mark.usefixtures("trust_now")
def test_changed_files_are_parsed_again(tmp_path: Path, change: str, parses: int, devices: list[str]) -> None:
    d = tmp_path / "cdi"
    write(d / "v0.json", GOOD["v0.json"])
    write(d / "v1.json", GOOD["v1.json"])
    assert _registry(d).list_devices() == _BASE
    if change == "rewrite":
        write(d / "v0.json", spec_json("vendor0.com/gpu", ["new"]))
    elif change == "touch":
        os.utime(d / "v0.json", ns=(1, 1))
    elif change == "remove":
        (d / "v1.json").unlink()
    else:
        write(d / "v9.json", spec_json("vendor9.com/gpu", ["n"]))
    again = _registry(d)
    assert again._loader.parses == parses
    assert again.list_devices() == devices


@pytest.mark.usefixtures("trust_now")
def test_removed_files_leave_the_cache_file(spec_dir: Path, _private_disk_cache: Path) -> None:
    _registry(spec_dir)
    (spec_dir / "v3.json").unlink()
    write(spec_dir / "v2.json", spec_json("vendor2.com/gpu", ["x"]))  # forces a rewrite of the cache
    reg = _registry(spec_dir)
    (cache_file,) = _cache_files(_private_disk_cache)
    entries = _read_cache_file(cache_file)[2]
    assert sorted(e[0] for e in entries) == ["broken.yaml", "v0.json", "v1.json", "v2.json"]
    # The specs that stayed cached still decode after their old cache file was replaced.
    assert [s.spec.kind for s in reg.specs()] == ["vendor0.com/gpu", "vendor1.com/gpu", "vendor2.com/gpu"]
    assert reg._loader.parses == 1
    assert _cache_files(_private_disk_cache) == [cache_file]


def test_racy_results_are_not_persisted(spec_dir: Path, _private_disk_cache: Path) -> None:
    # Just written: its stamp could still be reused by a same-size rewrite within the tick.
    reg = _registry(spec_dir)
    assert reg._loader.parses == 5
    again = _registry(spec_dir)
    assert again._loader.parses == 5
    assert again._loader.disk_hits == 0


@pytest.mark.usefixtures("trust_now")
def test_cache_file_is_private(spec_dir: Path, _private_disk_cache: Path) -> None:
    _registry(spec_dir)
    (cache_file,) = _cache_files(_private_disk_cache)
    assert cache_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "corruption",
    [
        b"",
        b"\x00garbage\xff",
        b"cdikit-spec-cache/2\n" + b"\x00" * 7 + b"\x05" + b"\x00" * 32 + b"\xa1x\x80\x00\x01",
        "truncate",
        "flip",
        "flip-index",
        "longer",
        "wrong-key",
    ],
)
@pytest.mark.usefixtures("trust_now")
def test_corrupt_cache_file_is_ignored(
    spec_dir: Path, _private_disk_cache: Path, corruption: bytes | str
) -> None:
    _registry(spec_dir)
    (cache_file,) = _cache_files(_private_disk_cache)
    good = cache_file.read_bytes()
    if corruption == "truncate":
        data = good[: len(good) // 2]
    elif corruption == "flip":
        data = bytes(b ^ 0x5A for b in good)
    elif corruption == "flip-index":
        at = len(b"cdikit-spec-cache/2\n") + 40 + 5  # a byte inside the checksummed index
        data = good[:at] + bytes([good[at] ^ 0x01]) + good[at + 1 :]
    elif corruption == "longer":
        data = good + b"\x00"
    elif corruption == "wrong-key":
        key, wire, entries, blobs = _read_cache_file(cache_file)
        data = _index.dumps(key + "x", wire, [(e, blobs[e[7] : e[8]]) for e in entries])
    else:
        assert isinstance(corruption, bytes)
        data = corruption
    cache_file.write_bytes(data)
    reg = _registry(spec_dir)
    assert reg.list_devices() == EXPECTED_DEVICES
    assert len(reg.get_errors()) == 1
    assert reg._loader.parses >= 4
    # ... and the cache heals: the next process parses nothing.
    assert _registry(spec_dir)._loader.parses == 0


@pytest.mark.usefixtures("trust_now")
def test_undecodable_spec_is_read_again_when_used(spec_dir: Path, _private_disk_cache: Path) -> None:
    """A blob that passes every check of the index yet does not decode: the file is read instead."""
    expected = [s.spec for s in _registry(spec_dir).specs()]
    (cache_file,) = _cache_files(_private_disk_cache)
    key, wire, entries, _blobs = _read_cache_file(cache_file)
    bad = msgspec.msgpack.encode({"cdiVersion": 7})
    cache_file.write_bytes(_index.dumps(key, wire, [(e, None if e[3] else bad) for e in entries]))
    reg = _registry(spec_dir)
    assert (reg._loader.parses, reg._loader.disk_hits) == (0, 5)  # specs are decoded when used
    assert reg.list_devices() == EXPECTED_DEVICES
    assert reg.get_device(EXPECTED_DEVICES[0]) is not None
    assert [s.spec for s in reg.specs()] == expected
    assert reg._loader.parses == 4
    assert not cache_file.exists()  # dropped, so the next process rebuilds it
    assert _registry(spec_dir)._loader.parses == 5
    assert _registry(spec_dir)._loader.parses == 0


@pytest.mark.parametrize("attack", ["world-writable", "group-writable", "foreign-owner", "symlink"])
@pytest.mark.usefixtures("trust_now")
def test_insecure_cache_dir_is_not_used(spec_dir: Path, tmp_path: Path, attack: str) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    used = cache
    if attack == "world-writable":
        cache.chmod(0o777)
    elif attack == "group-writable":
        cache.chmod(0o770)
    elif attack == "foreign-owner":
        if os.geteuid() != 0:
            pytest.skip("needs root to give the directory away")
        os.chown(cache, 65534, 65534)
    else:
        used = tmp_path / "link"
        used.symlink_to(cache)
    _registry(spec_dir, cache=str(used))
    assert _cache_files(cache) == []
    assert _registry(spec_dir, cache=str(used))._loader.parses == 5


@pytest.mark.usefixtures("trust_now")
def test_cache_file_not_owned_by_us_is_ignored(spec_dir: Path, _private_disk_cache: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file away")
    _registry(spec_dir)
    (cache_file,) = _cache_files(_private_disk_cache)
    os.chown(cache_file, 65534, 65534)
    assert _registry(spec_dir)._loader.parses == 5


@pytest.mark.parametrize("setting", ["", "off", " off "])
@pytest.mark.usefixtures("trust_now")
def test_environment_disables_the_cache(
    spec_dir: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("CDIKIT_CACHE_DIR", setting)
    assert default_cache_dir() is None
    _registry(spec_dir)
    assert _registry(spec_dir)._loader.parses == 5


@pytest.mark.usefixtures("trust_now")
def test_cache_false_writes_nothing(spec_dir: Path, _private_disk_cache: Path) -> None:
    _registry(spec_dir, cache=False)
    assert _cache_files(_private_disk_cache) == []


@pytest.mark.parametrize(
    ("euid_root", "env", "expected"),
    [
        (True, {}, "/var/cache/cdikit"),
        (False, {"XDG_CACHE_HOME": "/x/cache"}, "/x/cache/cdikit"),
        (False, {"HOME": "/home/u"}, "/home/u/.cache/cdikit"),
        (True, {"CDIKIT_CACHE_DIR": "/elsewhere"}, "/elsewhere"),
    ],
)
def test_default_location(
    monkeypatch: pytest.MonkeyPatch, euid_root: bool, env: dict[str, str], expected: str
) -> None:
    for var in ("CDIKIT_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(os, "geteuid", lambda: 0 if euid_root else 1000)
    assert default_cache_dir() == expected


@pytest.mark.usefixtures("trust_now")
def test_schema_is_part_of_the_identity(spec_dir: Path, _private_disk_cache: Path) -> None:
    _registry(spec_dir)
    with_schema = _registry(spec_dir, schema=Schema.load("builtin"))
    assert with_schema._loader.parses == 5
    assert len(_cache_files(_private_disk_cache)) == 2
    assert _registry(spec_dir, schema=Schema.load("builtin"))._loader.parses == 0


_CHILD = """
import json, sys
from cdikit.registry import Registry
reg = Registry(sys.argv[1:], auto_refresh=False)
print(json.dumps({"parses": reg._loader.parses, "hits": reg._loader.disk_hits,
                  "devices": reg.list_devices(), "errors": reg.get_errors()}))
"""


def _child(*dirs: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *map(str, dirs)], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


_LIGHT_CHILD = """
import sys
from cdikit.registry import Registry
reg = Registry(sys.argv[1:], auto_refresh=False)
print(reg._loader.disk_hits, len(reg.list_devices()), len(reg.get_errors()),
      sorted(m for m in ("msgspec", "typing", "dataclasses", "cdikit.spec.types") if m in sys.modules))
reg.get_device(reg.list_devices()[0]).device  # using a device decodes its spec
print(sorted(m for m in ("msgspec", "cdikit.spec.types") if m in sys.modules))
"""


def test_warm_registry_starts_without_the_spec_model(spec_dir: Path) -> None:
    """Listing from a warm cache needs neither msgspec nor typing; a device in use decodes its spec."""
    time.sleep(loader_module.RACY_WINDOW_NS / 1e9 + 0.1)
    run = [sys.executable, "-c", _LIGHT_CHILD, str(spec_dir)]
    subprocess.run(run, capture_output=True, text=True, check=True)  # fills the cache
    lines = subprocess.run(run, capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines == ["5 8 1 []", "['cdikit.spec.types', 'msgspec']"]


def test_a_spec_decoded_by_racing_threads_is_the_same(
    spec_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "RACY_WINDOW_NS", -(10**12))
    expected = [s.spec for s in _registry(spec_dir).specs()]
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(5):
        specs = _registry(spec_dir).specs()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda s: s.spec, specs * 8))
        assert results == expected * 8


def test_two_processes_share_the_cache(spec_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "run"
    write(other / "override.yaml", spec_json("vendor0.com/gpu", ["d0a", "z"]))
    # Real stamps, real processes: wait until the files are out of the racy window.
    time.sleep(loader_module.RACY_WINDOW_NS / 1e9 + 0.1)
    first = _child(spec_dir, other)
    assert (first["parses"], first["hits"]) == (6, 0)
    second = _child(spec_dir, other)
    assert (second["parses"], second["hits"]) == (0, 6)
    assert second["devices"] == first["devices"]
    assert "vendor0.com/gpu=z" in second["devices"]  # type: ignore[operator]
    assert second["errors"] == first["errors"]


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_specs = st.builds(
    lambda names, env, major, mode, uid: Spec(
        cdi_version="0.5.0",
        kind="example.com/dev",
        devices=[
            Device(
                name=n,
                container_edits=ContainerEdits(
                    env=env or None,
                    device_nodes=[DeviceNode(path=f"/dev/{n}", major=major, file_mode=mode, uid=uid)],
                ),
            )
            for n in names
        ],
    ),
    st.lists(st.text(_ALNUM, min_size=1, max_size=8), min_size=1, max_size=4, unique=True),
    st.lists(st.from_regex(r"[A-Z]{1,4}=[a-z0-9 ]{0,6}", fullmatch=True), max_size=3),
    st.integers(0, 2**40),
    st.none() | st.integers(0, 0o7777),
    st.none() | st.integers(0, 2**32 - 1),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=_specs)
def test_cached_spec_equals_parsed_spec(
    spec: Spec, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "RACY_WINDOW_NS", -(10**12))
    d = tmp_path_factory.mktemp("prop")
    cache = tmp_path_factory.mktemp("cache")
    (d / "s.json").write_bytes(encode_spec(spec, "json"))
    parsed = _registry(d, cache=str(cache)).specs()
    cached_reg = _registry(d, cache=str(cache))
    assert cached_reg._loader.disk_hits == 1
    assert [s.spec for s in cached_reg.specs()] == [s.spec for s in parsed]
