"""``cdi-runtime --install-launcher``: a site-less, isolated launcher that runs the same shim."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdikit.integrations.runtime._launcher import install_launcher, launcher_script, launcher_sys_path
from cdikit.integrations.runtime._shlauncher import python_code

HEAVY = ("msgspec", "typing", "re", "json", "tomllib", "cdikit.registry", "cdikit.spec", "site")


def _env(tmp_path: Path, fake: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "rt.toml"
    config.write_text(f'runtime = "{fake}"\n', encoding="utf-8")
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CDIKIT_RUNTIME_CONFIG": str(config), **extra}


def test_launcher_is_sh_running_isolated_siteless_python(tmp_path: Path) -> None:
    path = Path(install_launcher(str(tmp_path / "bin" / "cdi-runtime-fast")))
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "#!/bin/sh"
    assert f"_py='{os.path.abspath(sys.executable)}'" in text
    assert 'exec "$_py" -I -S -c "$_code" "$0" "$@"' in text
    assert os.access(path, os.X_OK)


@pytest.mark.parametrize("args", [["state", "c1"], ["--root", "/r", "kill", "c1", "KILL"], ["--version"]])
def test_launcher_passthrough_execs_runtime(
    tmp_path: Path, fake_runtime: tuple[Path, Path], args: list[str]
) -> None:
    fake, record = fake_runtime
    launcher = install_launcher(str(tmp_path / "cdi-runtime-fast"))
    done = subprocess.run(
        [launcher, *args], env=_env(tmp_path, fake), capture_output=True, text=True, check=False
    )
    assert done.returncode == 7, done.stderr
    assert record.read_text(encoding="utf-8").splitlines() == [str(fake), *args]


def test_launcher_ignores_pythonpath(tmp_path: Path, fake_runtime: tuple[Path, Path]) -> None:
    fake, record = fake_runtime
    trap = tmp_path / "trap" / "cdikit"
    trap.mkdir(parents=True)
    (trap / "__init__.py").write_text("raise SystemExit('PYTHONPATH was used')\n", encoding="utf-8")
    launcher = install_launcher(str(tmp_path / "cdi-runtime-fast"))
    env = _env(tmp_path, fake, PYTHONPATH=str(trap.parent))
    # --debug: the shell front hands the call to Python.
    done = subprocess.run(
        [launcher, "--debug", "state", "c1"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 7, done.stderr
    assert record.exists()


def test_launcher_passthrough_imports_nothing_heavy(tmp_path: Path, fake_runtime: tuple[Path, Path]) -> None:
    fake, _ = fake_runtime
    launcher = install_launcher(str(tmp_path / "cdi-runtime-fast"))
    # What the launcher runs when its shell front defers to Python.
    code = python_code(launcher_sys_path())
    cmd = [sys.executable, "-IS", "-X", "importtime", "-c", code, launcher, "state", "c1"]
    done = subprocess.run(cmd, env=_env(tmp_path, fake), capture_output=True, text=True, check=False)
    assert done.returncode == 7
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "cdikit.integrations.runtime._argv" in loaded
    assert not [m for m in loaded for heavy in HEAVY if m == heavy or m.startswith(heavy + ".")]


def test_trampoline_for_unusable_shebang(tmp_path: Path, fake_runtime: tuple[Path, Path]) -> None:
    fake, record = fake_runtime
    odd = tmp_path / "dir with spaces" / ("x" * 120)
    odd.mkdir(parents=True)
    python = odd / "python3"
    python.symlink_to(sys.executable)
    script = launcher_script(str(python), launcher_sys_path())
    assert script.startswith("#!/bin/sh\n")
    launcher = tmp_path / "launcher"
    launcher.write_text(script, encoding="utf-8")
    launcher.chmod(0o755)
    done = subprocess.run(
        [str(launcher), "state", "c 1"], env=_env(tmp_path, fake), capture_output=True, text=True, check=False
    )
    assert done.returncode == 7, done.stderr
    assert record.read_text(encoding="utf-8").splitlines() == [str(fake), "state", "c 1"]


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from cdikit.integrations.runtime import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("form", ["separate", "inline"])
def test_cli_installs(tmp_path: Path, form: str) -> None:
    target = tmp_path / "fast"
    args = ["--install-launcher", str(target)] if form == "separate" else [f"--install-launcher={target}"]
    done = _cli(args)
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}" in done.stdout
    assert target.read_text(encoding="utf-8").startswith("#!")


@pytest.mark.parametrize(
    "args", [["--install-launcher"], ["--install-launcher", "a", "b"], ["--install-launcherx", "a"]]
)
def test_cli_usage_errors(args: list[str]) -> None:
    done = _cli(args)
    assert done.returncode == 2
    assert "usage: cdi-runtime --install-launcher PATH" in done.stderr
