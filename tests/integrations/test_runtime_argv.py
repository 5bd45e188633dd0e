"""The shim reads runc/crun command lines as the runtimes do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.errors import CDIError
from cdikit.integrations.runtime._argv import parse_command_line
from cdikit.integrations.runtime._errors import CommandLineError

CWD = "/run/engine/cwd"

# (argv without argv[0], subcommand, bundle, log, log format, debug)
CASES: list[tuple[list[str], str | None, str | None, str | None, str, bool]] = [
    (["create", "c1"], "create", CWD, None, "text", False),
    (["run", "c1"], "run", CWD, None, "text", False),
    (["create", "--bundle", "/b", "c1"], "create", "/b", None, "text", False),
    (["create", "--bundle=/b", "c1"], "create", "/b", None, "text", False),
    (["create", "-b", "/b", "c1"], "create", "/b", None, "text", False),
    (["create", "-b=/b", "c1"], "create", "/b", None, "text", False),
    (["create", "-bundle", "/b", "c1"], "create", "/b", None, "text", False),
    (["create", "c1", "--bundle", "/b"], "create", "/b", None, "text", False),  # urfave/cli reorders
    (["create", "--bundle", "rel/b", "c1"], "create", CWD + "/rel/b", None, "text", False),
    (["create", "--pid-file", "/p", "--console-socket", "/s", "-b", "/b", "c1"], "create", "/b", None, "text", False),
    (["create", "--pid-file", "--bundle", "c1"], "create", CWD, None, "text", False),  # a value, not a flag
    (["create", "--bundle", "create", "c1"], "create", CWD + "/create", None, "text", False),
    (["--root", "/r", "--log", "/l.json", "--log-format", "json", "create", "-b", "/b", "c1"],
     "create", "/b", "/l.json", "json", False),
    (["--root=/r", "--log=/l", "--log-format=json", "create", "c1"], "create", CWD, "/l", "json", False),
    (["-root", "/r", "-log", "/l", "run", "c1"], "run", CWD, "/l", "text", False),
    (["--debug", "--systemd-cgroup", "create", "c1"], "create", CWD, None, "text", True),
    (["--criu", "/usr/sbin/criu", "--rootless", "auto", "create", "c1"], "create", CWD, None, "text", False),
    (["--rootless", "create", "c1"], "create", CWD, None, "text", False),  # crun's boolean form
    (["--cgroup-manager", "cgroupfs", "--log-level", "debug", "run", "c1"], "run", CWD, None, "text", False),
    (["--root", "state", "state", "c1"], "state", None, None, "text", False),  # value named like a subcommand
    (["state", "c1"], "state", None, None, "text", False),
    (["start", "c1"], "start", None, None, "text", False),
    (["delete", "--force", "c1"], "delete", None, None, "text", False),
    (["exec", "-b", "/b", "c1"], "exec", None, None, "text", False),
    (["--version"], None, None, None, "text", False),
    ([], None, None, None, "text", False),
    (["--", "create", "c1"], "create", CWD, None, "text", False),
]  # fmt: skip


@pytest.mark.parametrize(("args", "subcommand", "bundle", "log", "fmt", "debug"), CASES)
def test_parse_command_line(
    args: list[str], subcommand: str | None, bundle: str | None, log: str | None, fmt: str, debug: bool
) -> None:
    cmd = parse_command_line(args, cwd=CWD)
    assert cmd.subcommand == subcommand
    assert cmd.bundle == bundle
    assert cmd.log_path == log
    assert cmd.log_format == fmt
    assert cmd.debug == debug
    assert cmd.injects == (subcommand in ("create", "run"))
    if bundle is not None:
        assert cmd.config_file == bundle + "/config.json"


@pytest.mark.parametrize(
    ("args", "config"),
    [
        (["create", "-b", "/b", "--config", "other.json", "c1"], "/b/other.json"),
        (["create", "-b", "/b", "-f", "/abs/spec.json", "c1"], "/abs/spec.json"),
    ],
)
def test_crun_config_override(args: list[str], config: str) -> None:
    assert parse_command_line(args, cwd=CWD).config_file == config


@pytest.mark.parametrize("args", [["create", "--help"], ["run", "-h", "c1"], ["--help", "create"]])
def test_help_is_never_an_injection(args: list[str]) -> None:
    assert not parse_command_line(args, cwd=CWD).injects


@pytest.mark.parametrize(
    "args", [["--root"], ["--log"], ["create", "c1", "--bundle"], ["run", "-b"], ["create", "--pid-file"]]
)
def test_missing_flag_value_is_an_error(args: list[str]) -> None:
    with pytest.raises(CommandLineError, match="flag needs an argument"):
        parse_command_line(args, cwd=CWD)


_TOKENS = st.sampled_from(
    ["create", "run", "state", "-b", "--bundle", "--bundle=/x", "--root", "--log", "--log-format", "json",
     "--debug", "--rootless", "--", "c1", "/b", "-h", "--pid-file", "--systemd-cgroup"]
)  # fmt: skip


@given(st.lists(st.one_of(_TOKENS, st.text(max_size=8)), max_size=12))
def test_parser_never_raises_other_errors(args: list[str]) -> None:
    try:
        cmd = parse_command_line(args, cwd=CWD)
    except CommandLineError as e:
        assert isinstance(e, CDIError)
        return
    if cmd.injects:
        assert cmd.bundle is not None and cmd.bundle.startswith("/")
        assert cmd.config_file is not None and cmd.config_file.startswith("/")
    assert cmd.subcommand is None or cmd.subcommand in args
