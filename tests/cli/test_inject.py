"""``cdi inject`` / ``cdi resolve`` through a real process: contract and every error path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._helpers import dirs_args, oci_file, run_cdi, write


def _env(out: str) -> list[str]:
    return list(json.loads(out)["process"]["env"])


def test_inject_prints_only_the_oci_spec(spec_dir: Path, tmp_path: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "inject", str(oci_file(tmp_path)), "vendor.com/gpu=gpu0")
    assert result.rc == 0, result.err
    assert result.err == ""
    assert _env(result.out) == ["A=1", "VENDOR=1", "GPU=0"]


def test_inject_reads_stdin_and_writes_yaml(spec_dir: Path) -> None:
    result = run_cdi(
        *dirs_args(spec_dir),
        "inject",
        "-o",
        "yaml",
        "-",
        "other.org/nic=eth0",
        stdin='{"ociVersion": "1.0.0"}',
    )
    assert result.rc == 0, result.err
    assert "- NIC=eth0" in result.out
    assert result.out.startswith("ociVersion: 1.0.0")


def test_inject_accepts_a_yaml_oci_spec(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "inject", "-", "other.org/nic=eth0", stdin="ociVersion: 1.0.0\n")
    assert result.rc == 0, result.err
    assert _env(result.out) == ["NIC=eth0"]


def test_exact_names_keep_order_and_repeats(spec_dir: Path, tmp_path: Path) -> None:
    # The request list reaches the library as given: spec-level edits once,
    # device edits in request order (the library's env merge is what the reference does).
    result = run_cdi(
        *dirs_args(spec_dir),
        "inject",
        str(oci_file(tmp_path, "{}")),
        "other.org/nic=eth0",
        "vendor.com/gpu=gpu0",
        "other.org/nic=eth0",
    )
    assert result.rc == 0, result.err
    env = _env(result.out)
    assert env.index("NIC=eth0") < env.index("VENDOR=1")


@pytest.mark.parametrize(
    ("pattern", "expected_env"),
    [
        ("vendor.com/gpu=*", ["VENDOR=1", "GPU=0", "GPU=1"]),
        ("vendor.com/gpu=gpu[1]", ["VENDOR=1", "GPU=1"]),
        ("vendor.com/gpu=gpu?", ["VENDOR=1", "GPU=0", "GPU=1"]),
        ("*/nic=*", ["NIC=eth0"]),
    ],
)
def test_glob_names_expand_like_go(spec_dir: Path, pattern: str, expected_env: list[str]) -> None:
    # Both GPU env values come from distinct devices; the library keeps the last one per name.
    result = run_cdi(*dirs_args(spec_dir), "inject", "-", pattern, stdin="{}")
    assert result.rc == 0, result.err
    env = _env(result.out)
    assert set(env) <= set(expected_env)
    assert expected_env[0] in env


@pytest.mark.parametrize(
    ("names", "unresolvable", "hint"),
    [
        (["vendor.com/gpu=gpu9"], ["vendor.com/gpu=gpu9"], "available: vendor.com/gpu=gpu0"),
        (["vendor.com/gpu"], ["vendor.com/gpu"], "a kind, not a device"),
        (["*"], ["*"], "'*' does not match '/'"),
        (["vendor.com/gpu=[", "vendor.com/gpu=gpu0"], ["vendor.com/gpu=["], "malformed glob pattern"),
        (["nope.io/xx=y", "vendor.com/gpu=gpu0", "a"], ["nope.io/xx=y", "a"], "no loaded spec file provides"),
        (["x/y=z"], ["x/y=z"], "not a valid qualified device name"),
    ],
)
def test_unresolvable_names_exit_1_with_empty_stdout(
    spec_dir: Path, tmp_path: Path, names: list[str], unresolvable: list[str], hint: str
) -> None:
    result = run_cdi(*dirs_args(spec_dir), "inject", str(oci_file(tmp_path)), *names)
    assert result.rc == 1
    assert result.out == ""
    first = result.err.splitlines()[0]
    assert first == "cdi: error: unresolvable CDI devices " + ", ".join(unresolvable)
    for name in unresolvable:
        assert f"  {name}: " in result.err
    assert hint in result.err
    assert "Traceback" not in result.err


def test_conflicting_device_is_explained(spec_dir: Path) -> None:
    write(spec_dir / "copy.yaml", (spec_dir / "vendor-gpu.yaml").read_text())
    result = run_cdi(*dirs_args(spec_dir), "inject", "-", "vendor.com/gpu=gpu0", stdin="{}")
    assert result.rc == 1
    assert result.out == ""
    assert "conflict" in result.err


@pytest.mark.parametrize(
    ("oci", "stdin", "message"),
    [
        ("missing.json", None, "cannot read OCI spec"),
        ("-", "{broken", "is not valid JSON"),
        ("-", "[1, 2]", "is not a JSON object"),
        ("-", "just text", "is not a JSON object"),
        ("-", "a: [", "neither JSON nor YAML"),
    ],
)
def test_bad_oci_input_is_a_usage_error(spec_dir: Path, oci: str, stdin: str | None, message: str) -> None:
    result = run_cdi(*dirs_args(spec_dir), "inject", oci, "vendor.com/gpu=gpu0", stdin=stdin)
    assert result.rc == 2
    assert result.out == ""
    assert message in result.err


def test_injection_failure_exits_1(tmp_path: Path) -> None:
    spec = (
        '{"cdiVersion": "0.3.0", "kind": "vendor.com/dev", "devices": [{"name": "d", '
        '"containerEdits": {"deviceNodes": [{"path": "/dev/cdi-test-missing-node"}]}}]}'
    )
    write(tmp_path / "cdi" / "d.json", spec)
    result = run_cdi(*dirs_args(tmp_path / "cdi"), "inject", "-", "vendor.com/dev=d", stdin="{}")
    assert result.rc == 1
    assert result.out == ""
    assert "/dev/cdi-test-missing-node" in result.err


def test_inject_without_devices_is_a_usage_error(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "inject", "-", stdin="{}")
    assert result.rc == 2
    assert "DEVICE" in result.err


def test_resolve_injects_annotated_and_placeholder_devices(spec_dir: Path) -> None:
    oci = {
        "ociVersion": "1.0.0",
        "annotations": {"cdi.k8s.io/plugin_dev": "other.org/nic=eth0", "unrelated": "x"},
        "linux": {
            "devices": [{"path": "vendor.com/gpu=gpu1", "type": "c"}, {"path": "/dev/null", "type": "c"}]
        },
    }
    result = run_cdi(*dirs_args(spec_dir), "resolve", "-", stdin=json.dumps(oci))
    assert result.rc == 0, result.err
    out = json.loads(result.out)
    assert out["annotations"] == oci["annotations"]
    assert [d["path"] for d in out["linux"]["devices"]] == ["/dev/null"]
    assert set(out["process"]["env"]) == {"NIC=eth0", "VENDOR=1", "GPU=1"}


def test_resolve_with_nothing_requested_prints_the_spec_unchanged(spec_dir: Path) -> None:
    result = run_cdi(*dirs_args(spec_dir), "resolve", "-", stdin='{"ociVersion": "1.0.0"}')
    assert result.rc == 0
    assert json.loads(result.out) == {"ociVersion": "1.0.0"}


@pytest.mark.parametrize(
    ("annotations", "rc", "message"),
    [
        ({"cdi.k8s.io/p_d": "vendor.com/gpu=gpu7"}, 1, "unresolvable CDI devices vendor.com/gpu=gpu7"),
        ({"cdi.k8s.io/p_d": "not-qualified"}, 1, 'invalid CDI device name "not-qualified"'),
        ("nope", 2, "annotations are not an object"),
    ],
)
def test_resolve_errors(spec_dir: Path, annotations: object, rc: int, message: str) -> None:
    result = run_cdi(*dirs_args(spec_dir), "resolve", "-", stdin=json.dumps({"annotations": annotations}))
    assert result.rc == rc
    assert result.out == ""
    assert message in result.err
