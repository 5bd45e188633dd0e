"""``cdi devices | vendors | classes | specs | list`` through a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._helpers import GPU_SPEC, dirs_args, names_of, run_cdi, write


def test_devices_json_lists_sorted_names_with_source(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "devices", "-o", "json")
    assert result.rc == 0, result.err
    rows = json.loads(result.out)
    assert names_of(rows) == ["other.org/nic=eth0", "vendor.com/gpu=gpu0", "vendor.com/gpu=gpu1"]
    assert rows[1]["spec"] == str(spec_dir / "vendor-gpu.yaml")
    assert rows[1]["priority"] == 0
    assert result.err == ""


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_work_before_and_after_the_command(spec_dir: Path, where: str) -> None:
    args = ["-o", "json", *dirs_args(spec_dir)]
    argv = [*args, "devices"] if where == "before" else ["devices", *args]
    result = run_cdi(*argv)
    assert result.rc == 0, result.err
    assert len(json.loads(result.out)) == 3


def test_spec_dirs_are_honoured_in_priority_order(tmp_path: Path) -> None:
    low, high = tmp_path / "low", tmp_path / "high"
    write(low / "a.yaml", GPU_SPEC)
    write(high / "b.yaml", GPU_SPEC.replace("GPU=0", "GPU=high"))
    result = run_cdi(*dirs_args(low, high), "devices", "-o", "json")
    rows = json.loads(result.out)
    assert {row["spec"] for row in rows} == {str(high / "b.yaml")}
    assert {row["priority"] for row in rows} == {1}
    # Reversed order: the other file wins. Proves -d is not ignored as upstream does.
    rows = json.loads(run_cdi(*dirs_args(high, low), "devices", "-o", "json").out)
    assert {row["spec"] for row in rows} == {str(low / "a.yaml")}


def test_devices_table_and_yaml(spec_dir: Path) -> None:
    table = run_cdi(*dirs_args(spec_dir), "devices")
    assert table.rc == 0
    assert table.out.splitlines()[0].split() == ["DEVICE", "SPEC", "FILE", "PRIORITY"]
    assert "vendor.com/gpu=gpu1" in table.out
    yaml_out = run_cdi(*dirs_args(spec_dir), "devices", "-o", "yaml")
    assert yaml_out.rc == 0
    assert "- name: other.org/nic=eth0" in yaml_out.out


def test_devices_verbose_shows_edits(spec_dir: Path) -> None:
    rows = json.loads(run_cdi(*dirs_args(spec_dir), "devices", "-v", "-o", "json").out)
    gpu0 = next(r for r in rows if r["name"] == "vendor.com/gpu=gpu0")
    assert gpu0["containerEdits"] == {"env": ["GPU=0"]}
    assert gpu0["specContainerEdits"] == {"env": ["VENDOR=1"]}


def test_vendors_and_classes(spec_dir: Path) -> None:
    vendors = json.loads(run_cdi(*dirs_args(spec_dir), "vendors", "-o", "json").out)
    assert [v["vendor"] for v in vendors] == ["other.org", "vendor.com"]
    assert vendors[1]["classes"] == ["gpu"]
    classes = json.loads(run_cdi(*dirs_args(spec_dir), "classes", "-o", "json").out)
    assert classes == [{"class": "gpu", "vendors": ["vendor.com"]}, {"class": "nic", "vendors": ["other.org"]}]


def test_specs_filter_and_unknown_vendor(spec_dir: Path) -> None:
    specs = json.loads(run_cdi(*dirs_args(spec_dir), "specs", "vendor.com", "-o", "json").out)
    assert [s["path"] for s in specs] == [str(spec_dir / "vendor-gpu.yaml")]
    assert specs[0]["devices"] == ["gpu0", "gpu1"]
    assert specs[0]["cdiVersion"] == "0.5.0"
    missing = run_cdi(*dirs_args(spec_dir), "specs", "nope.io")
    assert missing.rc == 1
    assert "nope.io" in missing.err


def test_list_everything_including_errors(spec_dir: Path, tmp_path: Path) -> None:
    write(spec_dir / "broken.json", "{not json")
    result = run_cdi(*dirs_args(spec_dir, tmp_path / "absent"), "list", "-o", "json")
    assert result.rc == 0, result.err
    data = json.loads(result.out)
    assert [d["exists"] for d in data["specDirs"]] == [True, False]
    assert len(data["devices"]) == 3
    assert list(data["errors"]) == [str(spec_dir / "broken.json")]
    text = run_cdi(*dirs_args(spec_dir), "list")
    assert "Errors:" in text.out and "broken.json" in text.out


def test_broken_spec_is_noted_on_stderr_only(spec_dir: Path) -> None:
    write(spec_dir / "broken.yaml", "cdiVersion: [")
    result = run_cdi(*dirs_args(spec_dir), "devices", "-o", "json")
    assert result.rc == 0
    assert len(json.loads(result.out)) == 3
    assert "1 spec file has errors" in result.err


def test_empty_and_missing_dirs_list_nothing(tmp_path: Path) -> None:
    result = run_cdi(*dirs_args(tmp_path / "nothing-here"), "devices", "-o", "json")
    assert result.rc == 0
    assert json.loads(result.out) == []
