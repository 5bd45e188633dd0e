"""Help, usage errors, exit codes, lazy command groups and start-up imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cdikit.cli import _parser, main
from tests.cli._helpers import SRC, dirs_args, run_cdi

COMMANDS = [
    ["devices"],
    ["vendors"],
    ["classes"],
    ["specs"],
    ["list"],
    ["validate"],
    ["inject"],
    ["resolve"],
    ["monitor"],
    ["lint"],
    ["doctor"],
    ["spec"],
    ["spec", "install"],
    ["spec", "remove"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run_cdi(*command, "--help")
    assert result.rc == 0
    assert "example:" in result.out
    assert "usage: cdi" in result.out


def test_top_level_help_lists_commands_and_exit_codes() -> None:
    result = run_cdi("--help")
    assert result.rc == 0
    for word in ("devices", "inject", "doctor", "exit status:", "2  usage"):
        assert word in result.out


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["devices", "--bogus"], ["-o", "xml", "devices"], ["spec"], ["inject", "-"]],
    ids=[
        "no-command",
        "unknown-command",
        "unknown-option",
        "bad-format",
        "spec-without-action",
        "inject-no-device",
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    result = run_cdi(*argv)
    assert result.rc == 2
    assert result.out == ""
    assert "usage:" in result.err


def test_aliases(spec_dir: Path) -> None:
    assert run_cdi(*dirs_args(spec_dir), "devs").out == run_cdi(*dirs_args(spec_dir), "devices").out


def test_missing_optional_group_leaves_the_rest_working(
    monkeypatch: pytest.MonkeyPatch, spec_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(_parser.EXTERNAL_GROUPS, "cdikit.no_such_module_for_test", ("ghost",))
    assert main(["ghost"]) == 2
    assert "command 'ghost' is not available" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "ghost" not in capsys.readouterr().out
    assert main([*dirs_args(spec_dir), "devices", "-o", "json"]) == 0
    assert "vendor.com/gpu=gpu0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["devices"], "devices"),
        (["-d", "x", "-o", "json", "inject"], "inject"),
        (["--spec-dirs", "x", "-v", "kube"], "kube"),
        (["-dx", "lint"], "lint"),
        (["--", "doctor"], "doctor"),
        (["-v"], None),
    ],
)
def test_command_name_prescan(argv: list[str], expected: str | None) -> None:
    assert _parser.command_name(argv) == expected


def test_builtin_commands_never_import_other_groups_or_heavy_modules(spec_dir: Path) -> None:
    code = (
        "import sys; from cdikit.cli import main; "
        f"rc = main(['-d', {str(spec_dir)!r}, 'inject', '-', 'vendor.com/gpu=gpu0']); "
        "heavy = [m for m in ('yaml', 'jsonschema', 'cdikit.producers.nvidia.cli', 'cdikit.integrations.kube.cli', "
        "'cdikit.requests.cli', 'cdikit.integrations.runtime.cli', 'grpc') if m in sys.modules]; "
        "print(rc, heavy, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input="{}",
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC},
        timeout=60,
    )
    assert proc.stderr.strip().splitlines()[-1] == "0 []"


def test_broken_pipe_is_quiet(spec_dir: Path) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m cdikit -d {spec_dir} list -o json -v | head -c 1",
        shell=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC},
        timeout=60,
    )
    assert "Traceback" not in proc.stderr
