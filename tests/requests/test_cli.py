"""``cdi request``: through cdikit.cli.main in-process, and once as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cdikit.cli import main
from cdikit.requests import AUTO_ALLOW_ANNOTATION, CLASS_ANNOTATION
from tests.requests.conftest import SpecWriter, device


@pytest.fixture
def specs(write_spec: SpecWriter) -> None:
    write_spec(
        "vendor1.com/device", [device("foo"), device("bar"), device("baz", **{CLASS_ANNOTATION: "fast"})]
    )
    write_spec("vendor2.com/auto", [device("a")], annotations={AUTO_ALLOW_ANNOTATION: "true"})


@pytest.mark.usefixtures("specs")
@pytest.mark.parametrize(
    ("argv", "status", "devices"),
    [
        (["--allow", "device", "vendor1.com/device"], 0, ["vendor1.com/device=bar"]),
        (
            ["--allow", "device", "vendor1.com/device=*"],
            0,
            [f"vendor1.com/device={n}" for n in ("bar", "baz", "foo")],
        ),
        (["--allow", "device=vendor1.com/device", "fast"], 0, ["vendor1.com/device=baz"]),
        (["--allow", "device=vendor1.com/device=foo,alias=f", "f"], 0, ["vendor1.com/device=foo"]),
        (["vendor2.com/auto"], 0, ["vendor2.com/auto=a"]),
        (["--auto-allow", "vendor1.com/device", "vendor1.com/device=foo"], 0, ["vendor1.com/device=foo"]),
        (["missing.com/x"], 0, []),
        (["vendor1.com/device=foo"], 1, None),
        (["missing.com/x,required"], 1, None),
        (["--required", "missing.com/x"], 1, None),
    ],
)
def test_request_json(
    spec_dir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    status: int,
    devices: list[str] | None,
) -> None:
    assert main(["-d", str(spec_dir), "-o", "json", "request", "--no-on-demand", *argv]) == status
    out, err = capsys.readouterr()
    if devices is None:
        assert out == ""
        assert err.startswith("cdi: error: ")
    else:
        assert json.loads(out)["devices"] == devices


@pytest.mark.usefixtures("specs")
def test_not_allowed_explains(spec_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["request", "-d", str(spec_dir), "vendor1.com/device=foo"]) == 1
    err = capsys.readouterr().err
    assert "device vendor1.com/device=foo is requested but not allowed" in err
    assert "--allow device=vendor1.com/device=foo" in err and AUTO_ALLOW_ANNOTATION in err


@pytest.mark.usefixtures("specs")
def test_table_and_notes(spec_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-d", str(spec_dir), "request", "--allow", "device", "vendor1.com/device", "nope"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split() == ["REQUEST", "NEED", "DEVICES"]
    assert "vendor1.com/device=bar" in out
    assert "optional device 'nope' is not registered; dropped" in err


@pytest.mark.usefixtures("specs")
def test_bad_allow_is_a_usage_error(spec_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-d", str(spec_dir), "request", "--allow", "devices", "x.com/y"]) == 2
    assert "unknown entitlement devices" in capsys.readouterr().err


@pytest.mark.usefixtures("specs")
def test_real_process(spec_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cdikit", "-d", str(spec_dir), "-o", "json", "request", "vendor2.com/auto=*"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["devices"] == ["vendor2.com/auto=a"]


def test_cli_module_imports_only_argparse() -> None:
    code = (
        "import sys, cdikit.cli._requests; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('cdikit'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # cdikit._lazy is the package's lazy-attribute helper (importlib and sys only); _version and
    # _paths (the default spec dirs) are constants and small pure functions.
    # The cli package itself (parser plumbing and output helpers) is what every command loads anyway.
    cheap = {
        "cdikit",
        "cdikit._lazy",
        "cdikit._paths",
        "cdikit._version",
        "cdikit.errors",
        "cdikit.cli",
        "cdikit.cli._common",
        "cdikit.cli._output",
    }
    cheap |= {"cdikit.cli._requests"}
    assert set(out.split()) <= cheap, out
