"""``cdi validate`` through a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._helpers import GPU_SPEC, NIC_SPEC, dirs_args, run_cdi, write


def test_valid_dir_exits_0(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "validate", "-o", "json")
    assert result.rc == 0, result.err
    results = json.loads(result.out)
    assert [r["valid"] for r in results] == [True, True]
    by_path = {r["path"]: r for r in results}
    gpu = by_path[str(spec_dir / "vendor-gpu.yaml")]
    assert gpu["errors"] == []
    assert gpu["minimumVersion"] == "0.3.0"
    assert gpu["cdiVersion"] == "0.5.0"


def test_broken_file_in_dir_exits_1_and_keeps_others(spec_dir: Path) -> None:
    write(spec_dir / "broken.json", '{"cdiVersion": "0.3.0", "kind": "vendor.com/gpu", "bogus": 1}')
    result = run_cdi(*dirs_args(spec_dir), "validate", "-o", "json")
    assert result.rc == 1
    by_path = {r["path"]: r for r in json.loads(result.out)}
    broken = by_path[str(spec_dir / "broken.json")]
    assert broken["valid"] is False
    assert broken["errors"] and all(isinstance(e, str) for e in broken["errors"])
    assert by_path[str(spec_dir / "other-nic.json")]["valid"] is True


def test_conflicts_are_explained_with_files_and_priority(tmp_path: Path) -> None:
    low, high = tmp_path / "low", tmp_path / "high"
    write(high / "a.yaml", GPU_SPEC)
    write(high / "b.yaml", GPU_SPEC)
    write(low / "nic.json", NIC_SPEC)
    result = run_cdi(*dirs_args(low, high), "validate", "-o", "json")
    assert result.rc == 1
    by_path = {r["path"]: r for r in json.loads(result.out)}
    conflicted = by_path[str(high / "a.yaml")]
    assert conflicted["valid"] is False
    assert any(e.startswith('conflicting device "vendor.com/gpu=gpu0"') for e in conflicted["errors"])
    conflict = conflicted["conflicts"][0]
    assert {f["path"] for f in conflict["files"]} == {str(high / "a.yaml"), str(high / "b.yaml")}
    assert {f["priority"] for f in conflict["files"]} == {1}
    assert {f["specDir"] for f in conflict["files"]} == {str(high)}
    text = run_cdi(*dirs_args(low, high), "validate")
    assert "(priority 1)" in text.out and "higher-priority spec dir" in text.out


@pytest.mark.parametrize(
    ("content", "valid", "minimum", "error_part"),
    [
        (GPU_SPEC, True, "0.3.0", None),
        (
            "cdiVersion: 0.3.0\nkind: vendor.com/gpu\nannotations: {a: b}\ndevices: [{name: d, containerEdits: {env: [X=1]}}]\n",
            False,
            "0.6.0",
            "the spec version must be at least v0.6.0",
        ),
        (
            "cdiVersion: 0.3.0\nkind: v/gpu\ndevices: [{name: d, containerEdits: {env: [X=1]}}]\n",
            False,
            "0.3.0",
            "vendor",
        ),
        ("cdiVersion: [\n", False, None, "failed to parse CDI Spec"),
        ("", False, None, ""),
    ],
)
def test_files_alone(
    tmp_path: Path, content: str, valid: bool, minimum: str | None, error_part: str | None
) -> None:
    path = write(tmp_path / "spec.yaml", content)
    result = run_cdi("validate", "-o", "json", str(path))
    assert result.rc == (0 if valid else 1)
    (entry,) = json.loads(result.out)
    assert entry["path"] == str(path)
    assert entry["valid"] is valid
    assert entry["minimumVersion"] == minimum
    if error_part is not None:
        assert error_part in entry["errors"][0]
    assert "Traceback" not in result.err


def test_missing_file_is_invalid(tmp_path: Path) -> None:
    result = run_cdi("validate", "-o", "json", str(tmp_path / "absent.yaml"))
    assert result.rc == 1
    (entry,) = json.loads(result.out)
    assert entry["valid"] is False and entry["errors"]


def test_table_output_summarises(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "validate")
    assert result.rc == 0
    assert result.out.splitlines()[-1] == "2 spec file(s), 0 invalid"


def test_bad_schema_path_is_usage_error(spec_dir: Path, tmp_path: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "--schema", str(tmp_path / "no-schema.json"), "validate")
    assert result.rc == 2
    assert "--schema" in result.err


def test_schema_none_is_accepted(spec_dir: Path) -> None:
    assert run_cdi(*dirs_args(spec_dir), "--schema", "none", "validate").rc == 0
