"""``cdi generate nvidia`` from the command line (real processes), options and env vars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.producers import fakeroot


def _run(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("CDIKIT_NVIDIA_", "NVIDIA_CTK_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cdikit", "generate", "nvidia", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, check=False,
    )  # fmt: skip


@pytest.fixture
def base(nvidia_root: fakeroot.FakeRoot, nvml_json: Path) -> tuple[list[str], dict[str, str]]:
    r = str(nvidia_root.path)
    return ["--driver-root", r, "--sysfs-root", r, "--procfs-root", r], {"CDIKIT_FAKE_NVML": str(nvml_json)}


def test_stdout_yaml_and_one_line_missing_summary(base: tuple[list[str], dict[str, str]]) -> None:
    args, env = base
    proc = _run(args, env)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(proc.stdout)
    assert doc["kind"] == "nvidia.com/gpu" and doc["cdiVersion"] == "0.7.0"
    assert proc.stderr.count("\n") == 1 and "optional file(s) not found" in proc.stderr
    listed = _run([*args, "-v"], env).stderr
    assert "nvidia-xconfig" in listed


@pytest.mark.parametrize(
    ("name", "extra", "is_json"),
    [
        ("nvidia.yml", [], False),  # kept as given (the reference writes nvidia.yml.yaml)
        ("nvidia.json", [], True),
        ("nvidia.yaml", ["--format", "json"], True),  # --format wins over the extension
        ("spec", [], False),
    ],
)
def test_output_file_name_and_format(
    tmp_path: Path, base: tuple[list[str], dict[str, str]], name: str, extra: list[str], is_json: bool
) -> None:
    args, env = base
    out = tmp_path / "out" / name
    proc = _run([*args, "--output", str(out), *extra], env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [name]
    data = out.read_text()
    assert data.startswith("{") if is_json else data.startswith("---\n")
    assert out.stat().st_mode & 0o777 == 0o644


def test_env_var_equivalents(base: tuple[list[str], dict[str, str]]) -> None:
    args, env = base
    proc = _run(args, {**env, "CDIKIT_NVIDIA_MODE": "gds", "NVIDIA_CTK_CDI_GENERATE_OUTPUT_FORMAT": "json"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kind"] == "nvidia.com/gds"
    # The command line wins over the environment; nvidia-ctk list variables are comma separated.
    proc = _run([*args, "--mode", "nvml"], {**env, "CDIKIT_NVIDIA_MODE": "gds", "NVIDIA_CTK_CDI_GENERATE_DEVICE_IDS": "0,1:1",
                                            "NVIDIA_CTK_CDI_GENERATE_DEVICE_NAME_STRATEGIES": "index"})  # fmt: skip
    names = [d["name"] for d in yaml.safe_load(proc.stdout)["devices"]]
    assert names == ["0", "1:1", "all"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "foo"], "invalid discovery mode: foo"),
        (["--device-name-strategy", "foo"], "invalid device name strategy: foo"),
        (["--vendor", "x"], "vendor"),
        (["--device-id", "9"], "unknown device id '9'"),
    ],
)
def test_errors_exit_1_with_a_message(
    base: tuple[list[str], dict[str, str]], extra: list[str], message: str
) -> None:
    args, env = base
    proc = _run([*args, *extra], env)
    assert proc.returncode == 1
    assert message in proc.stderr and proc.stdout == ""


def test_no_driver_is_a_clear_error(tmp_path: Path, nvidia_root: fakeroot.FakeRoot) -> None:
    bad = tmp_path / "nvml.json"
    bad.write_text(json.dumps({"init_error": "Driver Not Loaded"}))
    proc = _run(["--mode", "nvml", "--driver-root", str(nvidia_root.path)], {"CDIKIT_FAKE_NVML": str(bad)})
    assert proc.returncode == 1
    assert "failed to initialize NVML: Driver Not Loaded" in proc.stderr


def test_cli_module_import_is_cheap() -> None:
    code = "import sys, cdikit.cli._nvidia; print(sorted(m for m in ('pynvml','yaml','msgspec','cdikit.producers.nvidia.generate') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pynvml" not in out and "cdikit.producers.nvidia.generate" not in out
