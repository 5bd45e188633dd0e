"""The directory scanner: which files are candidate specs, in which order, with which paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdikit.registry.scan import Candidate, has_spec_extension, scan_spec_dirs


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.json", True),
        ("a.yaml", True),
        (".hidden.json", True),
        (".yaml", True),
        ("a.yml", False),
        ("a.JSON", False),
        ("a.json.bak", False),
        ("a.yaml~", False),
        ("noext", False),
        ("dir.json/x", False),
    ],
)
def test_extension_filter(name: str, expected: bool) -> None:
    assert has_spec_extension(name) is expected


def test_lexical_order_and_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ["b.yaml", "a.json", "C.json", "x.yml", "_.yaml", "z.json.bak"]:
        (tmp_path / "d").mkdir(exist_ok=True)
        (tmp_path / "d" / name).write_text("")
    (tmp_path / "d" / "sub.json").mkdir()  # directories are skipped, never read
    (tmp_path / "d" / "sub.json" / "inner.json").write_text("")
    got = [c.path for c in scan_spec_dirs(["d"])]
    assert got == ["d/C.json", "d/_.yaml", "d/a.json", "d/b.yaml"]


@pytest.mark.parametrize(
    ("spec_dirs", "expected"),
    [
        ([], []),
        (["missing"], []),
        (["d", "missing", "d"], [("d/a.json", 0), ("d/a.json", 2)]),
        (["single.yaml"], [("single.yaml", 0)]),
        (["single.yml"], []),
        (["link"], []),  # a symlinked spec dir is not descended into
        (["linkfile.json"], [("linkfile.json", 0)]),
    ],
)
def test_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec_dirs: list[str], expected: list[tuple[str, int]]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.json").write_text("")
    (tmp_path / "single.yaml").write_text("")
    (tmp_path / "single.yml").write_text("")
    os.symlink("d", tmp_path / "link")
    os.symlink("d/a.json", tmp_path / "linkfile.json")
    assert scan_spec_dirs(spec_dirs) == [Candidate(p, prio) for p, prio in expected]


def test_absolute_paths_stay_absolute(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("")
    assert [c.path for c in scan_spec_dirs([str(tmp_path)])] == [f"{tmp_path}/a.yaml"]


def test_dangling_symlink_is_a_candidate(tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere.json", tmp_path / "gone.json")
    assert [c.path for c in scan_spec_dirs([str(tmp_path)])] == [f"{tmp_path}/gone.json"]
