"""Which ``cdi-hook`` a generated spec records, and the warning when it does not exist (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.producers import fakeroot

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _hook_paths(doc: dict[str, object]) -> set[str]:
    edits = doc.get("containerEdits") or {}
    return {h["path"] for h in edits.get("hooks", [])}  # type: ignore[union-attr]


def _generate(
    program: list[str], args: list[str], root: fakeroot.FakeRoot, nvml: Path, path_env: str
) -> subprocess.CompletedProcess[str]:
    r = str(root.path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDIKIT_NVIDIA_", "NVIDIA_CTK_"))}
    env.update(CDIKIT_FAKE_NVML=str(nvml), PATH=path_env, PYTHONPATH=SRC)
    cmd = [*program, "--driver-root", r, "--sysfs-root", r, "--procfs-root", r, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=120)


def test_prefers_the_hook_beside_the_running_program(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot, nvml_json: Path
) -> None:
    # A program directory holding its own cdi-hook, under a PATH that has another one.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "cdi").write_text("import sys\nfrom cdikit.cli import main\nsys.exit(main())\n")
    hook = bindir / "cdi-hook"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    other = tmp_path / "other"
    other.mkdir()
    (other / "cdi-hook").write_text("#!/bin/sh\nexit 0\n")
    (other / "cdi-hook").chmod(0o755)
    done = _generate(
        [sys.executable, str(bindir / "cdi"), "generate", "nvidia"],
        [],
        nvidia_root,
        nvml_json,
        f"{other}:/usr/bin:/bin",
    )
    assert done.returncode == 0, done.stderr
    assert _hook_paths(yaml.safe_load(done.stdout)) == {str(hook)}
    assert "warning: the spec runs hook" not in done.stderr


def test_systemd_like_path_still_finds_the_installed_hook(
    nvidia_root: fakeroot.FakeRoot, nvml_json: Path
) -> None:
    # PATH without the venv (as under systemd): the interpreter's own bin dir still has cdi-hook.
    beside = Path(sys.executable).parent / "cdi-hook"
    if not beside.exists():
        pytest.skip(f"no cdi-hook installed beside {sys.executable}")
    done = _generate(
        [sys.executable, "-m", "cdikit", "generate", "nvidia"], [], nvidia_root, nvml_json, "/usr/bin:/bin"
    )
    assert done.returncode == 0, done.stderr
    assert _hook_paths(yaml.safe_load(done.stdout)) == {str(beside)}


@pytest.mark.parametrize("program", ["cdi", "cdikit-refresh"])
def test_warns_when_the_recorded_hook_does_not_exist(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot, nvml_json: Path, program: str
) -> None:
    missing = "/nonexistent/bin/cdi-hook"
    if program == "cdi":
        cmd = [sys.executable, "-m", "cdikit", "generate", "nvidia"]
        args = ["--hook-path", missing]
    else:
        cmd = [sys.executable, "-c", "import sys; from cdikit.cli._refresh import main; sys.exit(main())"]
        args = ["--hook-path", missing, "--output", str(tmp_path / "nvidia.yaml")]
    done = _generate(cmd, args, nvidia_root, nvml_json, "/usr/bin:/bin")
    assert done.returncode == 0, done.stderr
    assert f"warning: the spec runs hook {missing}, which does not exist on this host" in done.stderr
