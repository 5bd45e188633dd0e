"""``cdi install systemd``: the units come from the wheel and name this installation's programs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli._helpers import run_cdi

UNITS = ("cdikit-refresh.service", "cdikit-refresh.path", "cdikit-refresh-watch.service")


def test_units_are_package_data() -> None:
    from importlib.resources import files

    units = files("cdikit.producers.nvidia").joinpath("units")
    for name in (*UNITS, "99-cdikit-nvidia-refresh.rules", "nvidia-refresh.env"):
        assert units.joinpath(name).is_file(), name
    assert "@bindir@/cdikit-refresh" in units.joinpath("cdikit-refresh.service").read_text()


def test_writes_units_with_the_real_paths(tmp_path: Path) -> None:
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    for program in ("cdikit-refresh", "cdi-hook"):
        (bindir / program).write_text("#!/bin/sh\nexit 0\n")
        (bindir / program).chmod(0o755)
    root = tmp_path / "root"
    result = run_cdi("install", "systemd", "--root", str(root), "--bindir", str(bindir))
    assert result.rc == 0, result.err
    unit_dir = root / "etc/systemd/system"
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(UNITS)
    service = (unit_dir / "cdikit-refresh.service").read_text()
    assert f"ExecStart={bindir}/cdikit-refresh\n" in service and "@bindir@" not in service
    assert (
        f"ExecStart={bindir}/cdikit-refresh --watch"
        in (unit_dir / "cdikit-refresh-watch.service").read_text()
    )
    rule = (root / "etc/udev/rules.d/99-cdikit-nvidia-refresh.rules").read_text()
    assert "@systemctl@" not in rule and "systemctl --no-block start cdikit-refresh.service" in rule
    assert (root / "etc/cdikit/nvidia-refresh.env").is_file()
    # The administrator's env file is never overwritten.
    (root / "etc/cdikit/nvidia-refresh.env").write_text("CDIKIT_NVIDIA_MODE=csv\n")
    again = json.loads(
        run_cdi("install", "systemd", "--root", str(root), "--bindir", str(bindir), "-o", "json").out
    )
    assert str(root / "etc/cdikit/nvidia-refresh.env") not in again["written"]
    assert (root / "etc/cdikit/nvidia-refresh.env").read_text() == "CDIKIT_NVIDIA_MODE=csv\n"

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in UNITS:
        done = subprocess.run(
            [analyze, "verify", str(unit_dir / unit)], capture_output=True, text=True, check=False
        )
        assert "is not executable" not in done.stderr, done.stderr
    # What the issue saw: the shipped /usr/bin path is flagged where cdikit lives elsewhere.
    if not Path("/usr/bin/cdikit-refresh").exists():
        old = tmp_path / "old.service"
        old.write_text(service.replace(str(bindir), "/usr/bin"))
        done = subprocess.run([analyze, "verify", str(old)], capture_output=True, text=True, check=False)
        assert "/usr/bin/cdikit-refresh is not executable" in done.stderr


def test_default_bindir_is_this_installation(tmp_path: Path) -> None:
    beside = Path(sys.executable).parent / "cdikit-refresh"
    if not beside.exists():
        pytest.skip(f"cdikit-refresh is not installed beside {sys.executable}")
    result = run_cdi("install", "systemd", "--root", str(tmp_path), "--dry-run", "-o", "json")
    assert result.rc == 0, result.err
    data = json.loads(result.out)
    assert data["bindir"] == str(beside.parent) and data["dryRun"] is True
    assert not (tmp_path / "etc").exists()
