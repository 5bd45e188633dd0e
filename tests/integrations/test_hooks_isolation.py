"""``cdi-hook`` in a hostile environment: the launcher, the isolated re-exec, the resource limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdikit._isolation import SAFE_ENV, hostile_env, install_launcher

HOOK = [sys.executable, "-c", "import sys; from cdikit.integrations.hooks import main; sys.exit(main())"]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "rootfs").mkdir()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"root": {"path": "rootfs"}}), encoding="utf-8")
    return config


def _trap(tmp_path: Path, marker: Path) -> Path:
    """A PYTHONPATH dir whose cdikit, sitecustomize and re write ``marker`` when imported."""
    trap = tmp_path / "trap"
    (trap / "cdikit").mkdir(parents=True)
    payload = f"open({str(marker)!r}, 'a').write('ran\\n')\n"
    for name in ("cdikit/__init__.py", "sitecustomize.py", "usercustomize.py", "re.py"):
        (trap / name).write_text(payload, encoding="utf-8")
    return trap


@pytest.mark.parametrize(
    ("env", "hostile"),
    [
        ({"PATH": "/bin"}, []),
        ({"PATH": "/bin", "PYTHONPATH": "/x", "LD_PRELOAD": "/y.so"}, ["LD_PRELOAD", "PYTHONPATH"]),
        ({"PYTHONHOME": "/", "LD_LIBRARY_PATH": "/", "GCONV_PATH": "/", "HOME": "/"}, ["GCONV_PATH", "LD_LIBRARY_PATH", "PYTHONHOME"]),
        ({"GLIBC_TUNABLES": "x", "MALLOC_ARENA_MAX": "1", "NVIDIA_VISIBLE_DEVICES": "all"}, ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX"]),
    ],
)  # fmt: skip
def test_hostile_env(env: dict[str, str], hostile: list[str]) -> None:
    assert hostile_env(env) == hostile


def test_hook_restarts_isolated_and_still_works(tmp_path: Path, bundle: Path) -> None:
    env = {**SAFE_ENV, "LD_LIBRARY_PATH": "/nonexistent", "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [*HOOK, "create-symlinks", "--link", "t::/made", "--container-spec", str(bundle)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "LD_LIBRARY_PATH, PYTHONWARNINGS" in done.stderr and "restarting isolated" in done.stderr
    assert os.readlink(tmp_path / "rootfs/made") == "t"


def test_restart_is_quiet_with_quiet(bundle: Path) -> None:
    done = subprocess.run(
        [*HOOK, "--quiet", "noop", "--container-spec", str(bundle)],
        env={**SAFE_ENV, "PYTHONPATH": "/nonexistent"}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")


def test_reexec_starts_an_isolated_interpreter_with_only_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import cdikit._isolation as isolation

    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def fake_execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        calls.append((path, argv, env))

    monkeypatch.setattr(isolation.os, "execve", fake_execve)
    monkeypatch.setattr(sys, "argv", ["/usr/bin/cdi-hook", "create-symlinks", "--link", "a::/b"])
    monkeypatch.setenv("PYTHONPATH", "/evil")
    isolation.reexec_isolated("cdikit.integrations.hooks")
    [(path, argv, env)] = calls
    assert path == sys.executable
    assert argv[1:4] == ["-I", "-S", "-c"]
    assert "from cdikit.integrations.hooks import main" in argv[4]
    assert argv[5:] == ["create-symlinks", "--link", "a::/b"]
    assert env == {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def test_hook_limits_its_resources() -> None:
    probe = (
        "import resource, sys; from cdikit.integrations import hooks; hooks._limit_resources();"
        "print(resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"({2 << 30}, {2 << 30}) (120, 120)"


def test_launcher_ignores_pythonpath(tmp_path: Path, bundle: Path) -> None:
    marker = tmp_path / "marker"
    trap = _trap(tmp_path, marker)
    launcher = install_launcher(str(tmp_path / "bin" / "cdi-hook"), "cdikit.integrations.hooks", "cdi-hook")
    assert Path(launcher).read_text(encoding="utf-8").startswith(f"#!{os.path.abspath(sys.executable)} -IS\n")
    for extra in ({"PYTHONPATH": str(trap)}, {"PYTHONPATH": str(trap), "PYTHONUSERBASE": str(trap)}, {}):
        done = subprocess.run(
            [launcher, "create-symlinks", "--link", "t::/made", "--container-spec", str(bundle)],
            env={**SAFE_ENV, **extra}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert os.readlink(tmp_path / "rootfs/made") == "t"


def test_console_script_style_hook_is_exposed(tmp_path: Path, bundle: Path) -> None:
    """Why the launcher (and an explicit env) matter: a plain interpreter runs the trap first."""
    marker = tmp_path / "marker"
    trap = _trap(tmp_path, marker)
    subprocess.run(
        [*HOOK, "noop", "--container-spec", str(bundle)], env={**SAFE_ENV, "PYTHONPATH": str(trap)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert marker.exists()


def test_install_launcher_command(tmp_path: Path) -> None:
    target = tmp_path / "cdi-hook"
    done = subprocess.run(
        [*HOOK, "--install-launcher", str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}" in done.stdout
    assert os.access(target, os.X_OK)
    bad = subprocess.run([*HOOK, "--install-launcher"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "usage: cdi-hook --install-launcher PATH" in bad.stderr


def test_the_spec_env_needs_no_check() -> None:
    """The variables with which a hook skips loading the hostile-environment check are harmless."""
    from cdikit._isolation import HOOK_ENV
    from cdikit.integrations.hooks import _SPEC_ENV

    assert hostile_env(dict.fromkeys(_SPEC_ENV, "x")) == []
    assert {e.partition("=")[0] for e in HOOK_ENV} <= _SPEC_ENV
