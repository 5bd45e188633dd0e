"""``--version`` and ``--help`` of every program cdikit installs, as real processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cdikit import __version__
from tests.cli._helpers import run_code

_ENTRY = {
    "cdi": "from cdikit.cli import main",
    "cdi-hook": "from cdikit.integrations.hooks import main",
    "cdikit-refresh": "from cdikit.cli._refresh import main",
    "cdi-runtime": "from cdikit.integrations.runtime import main",
}


def _run(program: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = f"import sys; {_ENTRY[program]}; sys.exit(main())"
    return run_code(code, *args, env=env)


@pytest.mark.parametrize("program", ["cdi", "cdi-hook", "cdikit-refresh"])
def test_version(program: str) -> None:
    done = _run(program, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{program} (cdikit) {__version__}\n"


def test_cdi_hook_help_lists_the_hooks_and_exits_0() -> None:
    done = _run("cdi-hook", "--help")
    assert done.returncode == 0
    assert "no hook specified" not in done.stderr
    for hook in ("create-symlinks", "update-ldcache", "chmod", "enable-cuda-compat"):
        assert hook in done.stdout
    one = _run("cdi-hook", "chmod", "--help")
    assert one.returncode == 0 and one.stdout.startswith("usage: cdi-hook") and "--mode" in one.stdout


def test_cdi_hook_without_a_hook_points_to_help() -> None:
    done = _run("cdi-hook")
    assert done.returncode == 0  # a spec hook without a name must not block a container
    assert "cdi-hook --help" in done.stderr


@pytest.mark.parametrize(
    ("flag", "first"), [("--version", "cdi-runtime (cdikit)"), ("--help", "cdi-runtime (cdikit")]
)
def test_cdi_runtime_says_its_own_then_delegates(
    tmp_path: Path, fake_runtime: tuple[Path, Path], flag: str, first: str
) -> None:
    fake, record = fake_runtime
    config = tmp_path / "rt.toml"
    config.write_text(f'runtime = "{fake}"\n', encoding="utf-8")
    done = _run("cdi-runtime", flag, env={"CDIKIT_RUNTIME_CONFIG": str(config)})
    assert done.stdout.startswith(first)
    assert done.returncode == 7  # then the real runtime ran, with the flag unchanged
    assert record.read_text(encoding="utf-8").splitlines() == [str(fake), flag]


def test_cdi_help_shows_global_options_on_subcommands() -> None:
    for args in (["configure", "--help"], ["generate", "nvidia", "--help"], ["kube", "dra-plugin", "--help"]):
        done = _run("cdi", *args)
        assert done.returncode == 0, done.stderr
        assert "-d DIR[,DIR]" in done.stdout, args
