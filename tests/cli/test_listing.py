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
    assert len(names_of(json.loads(result.out))) == 3


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
    assert table.out.splitlines()[0].split() == ["DEVICE", "SPEC", "FILE", "PRIORITY", "ALLOWED", "ON-DEMAND"]
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
    assert classes == [
        {"class": "gpu", "vendors": ["vendor.com"]},
        {"class": "nic", "vendors": ["other.org"]},
    ]


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
    assert len(names_of(json.loads(result.out))) == 3
    assert "1 spec file has errors" in result.err


def test_empty_and_missing_dirs_list_nothing(tmp_path: Path) -> None:
    result = run_cdi(*dirs_args(tmp_path / "nothing-here"), "devices", "-o", "json")
    assert result.rc == 0
    assert json.loads(result.out) == []


# --- issue 7: automatically allowed / on-demand columns ---------------------------------------

_AUTO = "org.mobyproject.buildkit.device.autoallow"


def _allow_spec(spec_annotation: str | None, device_annotation: str | None) -> str:
    spec_ann = f', "annotations": {{"{_AUTO}": "{spec_annotation}"}}' if spec_annotation is not None else ""
    dev_ann = (
        f', "annotations": {{"{_AUTO}": "{device_annotation}"}}' if device_annotation is not None else ""
    )
    return (
        '{"cdiVersion": "0.6.0", "kind": "auto.com/dev"' + spec_ann + ', "devices": '
        '[{"name": "a", "containerEdits": {"env": ["A=1"]}' + dev_ann + "}]}"
    )


@pytest.mark.parametrize(
    ("spec_annotation", "device_annotation", "auto_allow", "allowed"),
    [
        (None, None, [], False),
        ("true", None, [], True),
        (None, "true", [], True),
        ("1", None, [], True),  # Go's strconv.ParseBool
        ("true", "false", [], False),  # the device's annotation wins over the spec's
        ("yes", None, [], False),  # not a Go boolean
        (None, None, ["auto.com/dev"], True),  # configured kind
        (None, None, ["auto.com/dev=a"], True),  # configured name
        (None, None, ["auto.com/dev=b"], False),
    ],
)
def test_devices_allowed_column_follows_the_policy(
    tmp_path: Path,
    spec_annotation: str | None,
    device_annotation: str | None,
    auto_allow: list[str],
    allowed: bool,
) -> None:
    d = tmp_path / "cdi"
    write(d / "auto.json", _allow_spec(spec_annotation, device_annotation))
    extra = [arg for name in auto_allow for arg in ("--auto-allow", name)]
    result = run_cdi(*dirs_args(d), "devices", "-o", "json", *extra)
    assert result.rc == 0, result.err
    (row,) = json.loads(result.out)
    assert (row["name"], row["autoAllow"], row["onDemand"]) == ("auto.com/dev=a", allowed, False)
    table = run_cdi(*dirs_args(d), "devices", *extra)
    assert table.out.splitlines()[1].split()[-2:] == ["yes" if allowed else "no", "no"]


def test_devices_table_has_allowed_and_on_demand_columns(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "devices", env={"CDIKIT_FAKE_NVML": ""})
    assert result.rc == 0, result.err
    lines = [line.split() for line in result.out.splitlines()]
    assert lines[0] == ["DEVICE", "SPEC", "FILE", "PRIORITY", "ALLOWED", "ON-DEMAND"]
    assert [line[-2:] for line in lines[1:4]] == [["no", "no"]] * 3


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_on_demand_kind_is_listed_without_being_generated(spec_dir: Path, fmt: str) -> None:
    import yaml

    # The fake NVML makes the nvidia.com/gpu provider available; listing must not run it.
    before = sorted(p.name for p in spec_dir.iterdir())
    result = run_cdi(
        *dirs_args(spec_dir), "devices", "-o", fmt, env={"CDIKIT_FAKE_NVML": "/nonexistent.json"}
    )
    assert result.rc == 0, result.err
    rows = json.loads(result.out) if fmt == "json" else yaml.safe_load(result.out)
    assert rows[-1] == {
        "name": "nvidia.com/gpu",
        "spec": None,
        "priority": None,
        "autoAllow": True,
        "onDemand": True,
    }
    assert sorted(p.name for p in spec_dir.iterdir()) == before
    table = run_cdi(*dirs_args(spec_dir), "devices", env={"CDIKIT_FAKE_NVML": "/nonexistent.json"})
    assert table.out.splitlines()[-1].split() == ["nvidia.com/gpu", "-", "-", "yes", "yes"]


def test_on_demand_kind_provided_by_a_spec_is_a_plain_device(tmp_path: Path) -> None:
    d = tmp_path / "cdi"
    write(
        d / "nvidia.json",
        '{"cdiVersion": "0.6.0", "kind": "nvidia.com/gpu", "devices": '
        '[{"name": "0", "containerEdits": {"env": ["G=0"]}}]}',
    )
    result = run_cdi(*dirs_args(d), "devices", "-o", "json", env={"CDIKIT_FAKE_NVML": "/x.json"})
    rows = json.loads(result.out)
    assert [(r["name"], r["autoAllow"], r["onDemand"]) for r in rows] == [("nvidia.com/gpu=0", False, False)]


def test_devices_verbose_shows_merged_annotations(tmp_path: Path) -> None:
    d = tmp_path / "cdi"
    write(d / "auto.json", _allow_spec("true", "false"))
    (row,) = json.loads(run_cdi(*dirs_args(d), "devices", "-v", "-o", "json").out)
    assert row["annotations"] == {_AUTO: "false"}


def test_devices_does_not_import_generators_or_yaml(spec_dir: Path) -> None:
    # Start-up: listing asks on-demand providers whether they are available, which
    # must not load the NVIDIA generator (or NVML); the requests layer loads lazily.
    code = (
        "import sys\nfrom cdikit.cli import main\n"
        f"rc = main(['-d', {str(spec_dir)!r}, 'devices'])\n"
        "print('MODULES', ' '.join(sorted(m for m in sys.modules if m.startswith(('cdikit', 'yaml')))))\n"
        "sys.exit(rc)\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    modules = proc.stdout.rsplit("MODULES", 1)[1].split()
    assert "cdikit.requests.resolve" in modules
    # The providers' module is light (the provider protocol and a precondition check);
    # PyYAML ("yaml") is for -o yaml only; spec files are read through yaml_rs.
    light = {
        "cdikit.producers",
        "cdikit.producers._drivers",
        "cdikit.producers.nvidia",
        "cdikit.producers.nvidia.ondemand",
    }
    assert "cdikit.producers.nvidia.ondemand" in modules
    heavy = [m for m in modules if m.startswith(("cdikit.producers", "yaml.")) or m == "yaml"]
    assert not set(heavy) - light, modules


def test_vendors_do_not_import_the_requests_layer(spec_dir: Path) -> None:
    code = (
        "import sys\nfrom cdikit.cli import main\n"
        f"rc = main(['-d', {str(spec_dir)!r}, 'vendors'])\n"
        "print('MODULES', ' '.join(sorted(m for m in sys.modules if m.startswith('cdikit.requests'))))\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.rsplit("MODULES", 1)[1].split() == []
