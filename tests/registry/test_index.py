"""The disk cache's file format (``cdikit.registry._index``): round trip, and nothing unusable is used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdikit.registry import _index

KEY = "k\0/etc/cdi"
_names = st.text("abcdefghij.-_", min_size=1, max_size=12)
_annotations = st.none() | st.dictionaries(_names, st.text(max_size=8), max_size=2)
_stamps = st.tuples(*[st.integers(0, 2**62)] * 5)
_entries = st.lists(
    st.tuples(
        _names,
        _stamps,
        st.text(max_size=20),
        st.none() | st.text(max_size=30),
        _names,
        _annotations,
        st.lists(st.tuples(_names, _annotations), max_size=3).map(tuple),
        st.binary(min_size=1, max_size=40),
    ),
    max_size=6,
    unique_by=lambda e: e[0],
)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=_entries)
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[object, ...]]) -> None:
    path = tmp_path_factory.mktemp("idx") / "c.msgpack"
    items = [((*e[:7], 0, 0), None if e[3] is not None else e[7]) for e in entries]
    _write(path, _index.dumps(KEY, "wire", items))  # type: ignore[arg-type]
    found = _index.read_index(str(path), KEY)
    assert found is not None
    blobs, wire, index = found
    assert wire == "wire"
    assert list(index) == [e[0] for e in entries]
    for entry in entries:
        got = index[str(entry[0])]
        assert got[:7] == entry[:7]
        expected = None if entry[3] is not None else entry[7]
        assert (blobs.read(got[7], got[8]) if expected is not None else None) == expected
    assert _index.read_index(str(path), KEY + "x") is None  # another identity misses


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), keep=st.integers(0, 200))
def test_garbage_and_torn_files_are_refused(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, keep: int
) -> None:
    path = tmp_path_factory.mktemp("idx") / "c.msgpack"
    good = _index.dumps(
        KEY, "wire", [(("a.json", (1, 2, 3, 4, 5), "/a.json", None, "v.com/c", None, (), 0, 0), b"xy")]
    )
    for candidate in (
        data,
        good[: min(keep, len(good) - 1)],
        b"cdikit-spec-cache/2\n" + data,
        good + b"\0",
    ):
        _write(path, candidate)
        assert _index.read_index(str(path), KEY) is None


def test_blobs_of_a_replaced_file_are_not_read(tmp_path: Path) -> None:
    path = tmp_path / "c.msgpack"
    entry = ("a.json", (1, 2, 3, 4, 5), "/a.json", None, "v.com/c", None, (("d", None),), 0, 0)
    _write(path, _index.dumps(KEY, "wire", [(entry, b"old!")]))
    found = _index.read_index(str(path), KEY)
    assert found is not None
    blobs, _wire, index = found
    start, end = index["a.json"][7:]
    assert blobs.read(start, end) == b"old!"
    replacement = tmp_path / "new"
    _write(replacement, _index.dumps(KEY, "wire", [(entry, b"new!")]))
    os.replace(replacement, path)
    assert blobs.read(start, end) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file away")
def test_file_of_another_owner_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.msgpack"
    _write(path, _index.dumps(KEY, "wire", []))
    assert _index.read_index(str(path), KEY) is not None
    os.chown(path, 65534, 65534)
    assert _index.read_index(str(path), KEY) is None
