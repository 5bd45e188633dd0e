"""``cdi completion`` and ``cdi man``: generated from the parser, checked by the real shells and groff."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli._helpers import run_cdi


def _bash_complete(script: str, *words: str) -> list[str]:
    """COMPREPLY for the command line ``words`` (the last one is being completed)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _cdi; printf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    done = subprocess.run(
        ["bash", "--norc", "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.fixture(scope="module")
def bash_script() -> str:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    result = run_cdi("completion", "bash")
    assert result.rc == 0, result.err
    return result.out


@pytest.mark.parametrize(
    ("words", "expected", "absent"),
    [
        (("cdi", "gen"), {"generate"}, {"devices"}),
        (("cdi", ""), {"devices", "dirs", "completion", "man", "generate", "kube", "--version"}, set()),
        (("cdi", "generate", ""), {"nvidia"}, {"inject"}),
        (("cdi", "-d", "/x", "generate", "nvidia", "--mo"), {"--mode"}, set()),
        (("cdi", "kube", "dra-plugin", "--kube"), {"--kubeconfig"}, set()),
        (("cdi", "devices", "-o", ""), {"table", "json", "yaml"}, set()),
        (("cdi", "dev", "--auto"), {"--auto-allow"}, set()),  # an alias walks to its command
        (("cdi", "completion", ""), set(), set()),
    ],
)
def test_bash_completion(
    bash_script: str, words: tuple[str, ...], expected: set[str], absent: set[str]
) -> None:
    got = set(_bash_complete(bash_script, *words))
    assert expected <= got, got
    assert not absent & got


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_cover_every_command(shell: str) -> None:
    result = run_cdi("completion", shell)
    assert result.rc == 0, result.err
    for path in ("cdi generate nvidia", "cdi kube dra-plugin", "cdi spec install", "cdi dirs"):
        assert path in result.out
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed: the script is checked for content only")
    check = subprocess.run([binary, "-n"], input=result.out, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_completion_rejects_unknown_shell() -> None:
    result = run_cdi("completion", "tcsh")
    assert result.rc == 2 and "invalid choice" in result.err


def test_man_pages_render_without_warnings(tmp_path: Path) -> None:
    result = run_cdi("man", "--dir", str(tmp_path / "man1"), env={"SOURCE_DATE_EPOCH": "0"})
    assert result.rc == 0, result.err
    pages = sorted(p.name for p in (tmp_path / "man1").iterdir())
    for page in (
        "cdi.1",
        "cdi-devices.1",
        "cdi-generate-nvidia.1",
        "cdi-kube-dra-plugin.1",
        "cdi-spec-install.1",
    ):
        assert page in pages
    text = (tmp_path / "man1" / "cdi-generate-nvidia.1").read_text()
    assert text.startswith('.TH CDI-GENERATE-NVIDIA 1 "1970-01-01"')
    assert "\\-\\-driver\\-root" in text
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed: pages checked for content only")
    for page in pages:
        done = subprocess.run(
            ["groff", "-man", "-Tutf8", "-ww", "-z", str(tmp_path / "man1" / page)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0 and done.stderr == "", (page, done.stderr)


def test_man_prints_one_page() -> None:
    result = run_cdi("man", "dirs")
    assert result.rc == 0 and result.out.startswith(".TH CDI-DIRS 1")
    assert run_cdi("man", "nosuch").rc == 2


def test_listing_does_not_load_the_generators_of_completion_or_man() -> None:
    code = "import sys; from cdikit.cli import main; main(['-d', '/nonexistent', 'vendors']); print(sorted(sys.modules))"
    done = subprocess.run(
        [__import__("sys").executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "cdikit.cli._completion" not in done.stdout


def test_fish_completion_completes(tmp_path: Path) -> None:
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed")
    script = tmp_path / "cdi.fish"
    script.write_text(run_cdi("completion", "fish").out)
    program = (
        f"source {script}; complete -C 'cdi gen'; complete -C 'cdi devices -o '; complete -C 'cdi dev --auto'"
    )
    done = subprocess.run([fish, "--no-config", "-c", program], capture_output=True, text=True, check=False)
    got = {line.split("\t")[0] for line in done.stdout.splitlines()}
    assert {"generate", "json", "yaml", "table", "--auto-allow"} <= got, done.stdout + done.stderr
