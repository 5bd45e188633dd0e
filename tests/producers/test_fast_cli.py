"""``cdi generate nvidia``'s argparse-free reader and the start-up diet: same arguments, same bytes.

:func:`cdikit.cli._nvidia.fast_generate_args` reads the plain command lines
without argparse; every line it accepts must give exactly argparse's namespace,
and every line it declines goes to argparse (errors, help, abbreviations).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.cli._nvidia import _GENERATE_OPTIONS, fast_generate_args
from cdikit.cli._parser import build_parser
from tests.producers import fakeroot

_FLAGS = [flag for flags, _ in _GENERATE_OPTIONS for flag in flags]
_VALUES = st.sampled_from(
    ["", "x", "a b", "management", "1.5", "2", "nan", "-1", "-x", "--mode", "=", "a=b", "é"]
)
_TOKEN = st.one_of(
    st.sampled_from(_FLAGS),
    st.sampled_from(_FLAGS).flatmap(lambda f: _VALUES.map(lambda v: f"{f}={v}")),
    _VALUES,
    st.sampled_from(["-vv", "-h", "--help", "--mod", "--out", "-o", "json", "-d", "--", "--version", "-s"]),
)


def _argparse(argv: list[str]) -> dict[str, object] | None:
    full = ["generate", "nvidia", *argv]
    parser, _ = build_parser(full)
    try:
        return vars(parser.parse_args(full))
    except SystemExit:
        return None


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--mode", "management", "--driver-root", "/r", "--output", "/o.yaml"],
        ["--mode=management", "--device-id", "0", "--device=1", "--devices", "2,3", "-v", "-v", "--quiet"],
        [
            "--no-all-device",
            "--watch",
            "--interval",
            "2.5",
            "--format",
            "JSON",
            "--class",
            "c",
            "--cdi-vendor",
            "v",
        ],
        ["--mode", ""],  # an empty value is a value
        ["--mode=", "--vendor", "a=b"],
        ["--feature-flag", "x", "--feature-flags", "y", "--csv.file", "f", "--csv.ignore-pattern", "**/a*"],
    ],
)
def test_fast_reader_equals_argparse(argv: list[str]) -> None:
    fast = fast_generate_args(argv)
    assert fast is not None
    assert vars(fast) == _argparse(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["--mod", "management"],  # abbreviations: argparse's business
        ["-o", "json"],  # global options
        ["-d", "/etc/cdi"],
        ["--interval", "soon"],  # argparse's error message
        ["--interval", "-1"],
        ["--mode"],  # missing value
        ["--mode", "--watch"],
        ["--watch=1"],
        ["extra"],
        ["-vv"],
        ["--", "x"],
    ],
)
def test_fast_reader_declines_what_argparse_must_judge(argv: list[str]) -> None:
    assert fast_generate_args(argv) is None


@given(st.lists(_TOKEN, max_size=8))
def test_fast_reader_accepts_only_what_argparse_reads_the_same(argv: list[str]) -> None:
    fast = fast_generate_args(argv)
    if fast is not None:
        assert vars(fast) == _argparse(argv)


def _cdi(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CDIKIT_NVIDIA_", "NVIDIA_CTK_", "CDIKIT_FAKE"))
    }
    return subprocess.run(
        [sys.executable, "-m", "cdikit", *args], capture_output=True, cwd=cwd, env=env, check=False
    )


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--format", "json"],
        ["--no-all-device", "--device-name-strategy", "index"],
        ["--spec-version", "0.6.0"],
        ["--mode", "bogus"],  # an error: exit 1, same message
        ["-v"],
    ],
)
def test_fast_and_argparse_command_lines_do_the_same(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot, extra: list[str]
) -> None:
    """The same command through the fast reader and (spelt with an abbreviation) through argparse."""
    r = str(nvidia_root.path)
    args = ["--driver-root", r, "--sysfs-root", r, "--procfs-root", r, *extra]
    fast = _cdi(["generate", "nvidia", "--mode", "management", *args, "--output", "fast.yaml"], tmp_path)
    full = _cdi(["generate", "nvidia", "--mod", "management", *args, "--output", "full.yaml"], tmp_path)
    assert fast.returncode == full.returncode
    assert fast.stdout == full.stdout
    assert fast.stderr.replace(b"fast.yaml", b"X") == full.stderr.replace(b"full.yaml", b"X")
    if fast.returncode == 0:
        assert (tmp_path / "fast.yaml").read_bytes() == (tmp_path / "full.yaml").read_bytes()
        assert (tmp_path / "fast.yaml").stat().st_mode & 0o777 == 0o644
