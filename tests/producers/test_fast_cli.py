"""``cdi generate nvidia``'s argparse-free reader and the start-up diet: same arguments, same bytes.

:func:`cdikit.cli._nvidia.fast_generate_args` reads the plain command lines
without argparse; every line it accepts must give exactly argparse's namespace,
and every line it declines goes to argparse (errors, help, abbreviations).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.cli._nvidia import _GENERATE_OPTIONS, fast_generate_args
from cdikit.cli._parser import build_parser
from cdikit.errors import CDIError
from cdikit.producers.nvidia.generate import generate, generate_plain
from cdikit.producers.nvidia.nvml import FakeBackend
from cdikit.producers.output import encode
from cdikit.spec.types import Spec
from tests.producers import fakeroot
from tests.producers.conftest import OptionsFactory

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


@pytest.mark.parametrize(
    "overrides",
    [
        {"mode": "nvml"},
        {"mode": "management"},
        {"mode": "nvml", "device_ids": ("0", "1:1"), "no_all_device": True},
        {"mode": "nvml", "feature_flags": ("enable-coherent-annotations",)},
        {"mode": "nvml", "spec_version": "0.5.0"},
        {"mode": "gds"},
        {"mode": "imex"},
        {"mode": "nvml", "chain_hooks": False, "disabled_hooks": ("update-ldcache",)},
    ],
)
def test_plain_records_encode_like_the_typed_spec(
    options: OptionsFactory, backend: FakeBackend, overrides: dict[str, object]
) -> None:
    """What the CLI writes (plain records) is what the library's generate() gives, byte for byte."""
    try:
        typed = generate(options(**overrides), backend=backend)
    except CDIError as err:
        with pytest.raises(type(err), match=re.escape(str(err))):
            generate_plain(options(**overrides), backend=backend)
        return
    plain = generate_plain(options(**overrides), backend=backend)
    assert isinstance(typed.spec, Spec) and not isinstance(plain.spec, Spec)
    pairs = [
        (typed.spec, plain.spec),
        *zip([s for _, s in typed.extra_specs], [s for _, s in plain.extra_specs], strict=True),
    ]
    for want, got in pairs:
        for fmt in ("json", "yaml"):
            assert encode(got, fmt) == encode(want, fmt)
    assert (plain.mode, plain.missing, plain.warnings) == (typed.mode, typed.missing, typed.warnings)
    assert [i for i, _ in plain.extra_specs] == [i for i, _ in typed.extra_specs]


def test_generate_command_imports_neither_msgspec_nor_argparse(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot
) -> None:
    r = str(nvidia_root.path)
    code = (
        "import sys; from cdikit.cli import main; rc = main(sys.argv[1:]); "
        "print([m for m in ('msgspec', 'argparse', 'dataclasses', 'typing', 'pynvml') if m in sys.modules], file=sys.stderr); "
        "sys.exit(rc)"
    )
    argv = ["generate", "nvidia", "--mode", "management", "--driver-root", r, "--output", str(tmp_path / "o.yaml")]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == "[]"


@pytest.mark.parametrize("extra", [[], ["--format", "json"], ["-v"]])
def test_spec_on_stdout_is_complete_through_the_fast_exit(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot, extra: list[str]
) -> None:
    """A whole process ends with os._exit after flushing: stdout and stderr lose nothing."""
    r = str(nvidia_root.path)
    args = ["--driver-root", r, "--sysfs-root", r, "--procfs-root", r, *extra]
    fast = _cdi(["generate", "nvidia", "--mode", "management", *args], tmp_path)
    full = _cdi(["generate", "nvidia", "--mod", "management", *args], tmp_path)
    assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout, full.stderr)
    assert fast.returncode == 0 and len(fast.stdout) > 1000
