"""The lean ``cdi devices`` (answered from the disk cache's index) prints exactly what the full path prints.

Each case runs the command twice over a warm cache: once as ``cdi`` runs it
(the lean path when it can), once with the lean path switched off; stdout,
stderr and the exit status must be identical, and the case says whether the
lean path had to answer (it must, for plain listings) or step aside.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdikit.registry.loader as loader_module
from cdikit.cli import _lean, main

AUTO = "org.mobyproject.buildkit.device.autoallow"


def spec(
    kind: str, devices: list[str], *, annotations: dict[str, str] | None = None, **per_device: str
) -> str:
    doc: dict[str, object] = {
        "cdiVersion": "0.6.0",
        "kind": kind,
        "devices": [
            {
                "name": d,
                "containerEdits": {"env": [f"DEV={d}"]},
                **({"annotations": {AUTO: per_device[d]}} if d in per_device else {}),
            }
            for d in devices
        ],
    }
    if annotations:
        doc["annotations"] = annotations
    return json.dumps(doc)


BROKEN = "cdiVersion: 0.3.0\nkind: vendor.com/gpu\ndevices:\n  - name: 'bad name'\n"
UNPARSABLE = "devices: [\n"


@pytest.fixture(autouse=True)
def _trust_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are never older than the racy window: trust them at once."""
    monkeypatch.setattr(loader_module, "RACY_WINDOW_NS", -(10**12))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], *, lean: bool) -> tuple[int, str, str]:
    if lean:
        status = main(argv)
    else:
        original = _lean.run
        _lean.run = lambda _argv: None  # type: ignore[assignment]
        try:
            status = main(argv)
        finally:
            _lean.run = original  # type: ignore[assignment]
    out = capsys.readouterr()
    return status, out.out, out.err


def _compare(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[bool, tuple[int, str, str]]:
    """Warm the cache, then run lean and full; returns whether lean answered, and the result."""
    _run(argv, capsys, lean=False)  # fills the disk cache
    answered = _lean.run(argv) is not None
    capsys.readouterr()
    lean = _run(argv, capsys, lean=True)
    full = _run(argv, capsys, lean=False)
    assert lean == full
    return answered, full


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


A = "vendor.com/gpu"
B = "other.org/nic"


@pytest.mark.parametrize(
    ("files", "argv", "lean", "expect"),
    [
        pytest.param(
            {"a/g.json": spec(A, ["g0", "g1"])},
            ["-d", "{a}", "devices"],
            True,
            ["vendor.com/gpu=g0"],
            id="one-spec",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])},
            ["devices", "-d", "{a}", "-o", "json"],
            True,
            ['"name": "vendor.com/gpu=g0"'],
            id="json-after",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])},
            ["--spec-dirs={a}", "--output=table", "devs"],
            True,
            ["g0"],
            id="long-options-alias",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])}, ["-d", "{a}", "-s", "none", "dev"], True, ["g0"], id="schema-none"
        ),
        pytest.param({}, ["-d", "{a}", "devices"], True, ["No CDI devices found."], id="empty"),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])},
            ["-o", "json", "-d", "", "devices", "--spec-dirs={a}", "-o", "table"],
            True,
            ["DEVICE"],
            id="options-before-and-after",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0", "g1"]), "b/g.yaml": spec(A, ["g1", "g2"]).replace('"', "'")},
            ["-d", "{a},{b}", "devices"],
            True,
            ["/b/g.yaml"],
            id="later-dir-wins",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0", "g1"]), "a/h.json": spec(A, ["g1", "g2"])},
            ["-d", "{a}", "devices"],
            True,
            ["2 spec files have errors"],
            id="conflict-drops-device",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])}, ["-d", "{a},{a}/", "devices"], True, ["  1 "], id="same-dir-twice"
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"]), "b/x.yaml": spec(B, ["n0"]).replace('"', "'")},
            ["-d", "{a}/g.json", "-d", "{b}/x.yaml,{b}/missing", "devices"],
            True,
            ["other.org/nic=n0"],
            id="files-as-spec-dirs",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"]), "a/bad.yaml": BROKEN, "a/worse.json": UNPARSABLE},
            ["-d", "{a}", "devices"],
            True,
            ["g0", "2 spec files have errors"],
            id="broken-never-hides-good",
        ),
        pytest.param(
            {
                "a/g.json": spec(
                    A, ["g0", "g1", "g2", "g3"], annotations={AUTO: "true"}, g1="false", g2="bogus", g3="1"
                )
            },
            ["-d", "{a}", "devices"],
            True,
            ["yes"],
            id="autoallow-annotations",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"]), "a/n.json": spec(B, ["n0", "n1"])},
            ["-d", "{a}", "devices", "--auto-allow", "vendor.com/gpu", "--auto-allow=other.org/nic=n1"],
            True,
            ["yes"],
            id="auto-allow-options",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])},
            ["-d", "{a}", "devices", "-v"],
            False,
            ["DEV=g0"],
            id="verbose-full",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])},
            ["-d", "{a}", "devices", "-o", "yaml"],
            False,
            ["name:"],
            id="yaml-full",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])},
            ["-d", "{a}", "-s", "builtin", "devices"],
            False,
            ["g0"],
            id="schema-full",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])}, ["-d", "{a}", "vendors"], False, ["vendor.com"], id="other-command"
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])},
            ["--auto-allow", "x", "-d", "{a}", "devices"],
            False,
            [],
            id="bad-usage",
        ),
        pytest.param(
            {"a/g.json": spec(A, ["g0"])}, ["-d", "{a}", "devices", "extra"], False, [], id="extra-argument"
        ),
    ],
)
def test_lean_matches_full(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    argv: list[str],
    lean: bool,
    expect: list[str],
) -> None:
    _files(tmp_path, files)
    (tmp_path / "a").mkdir(exist_ok=True)
    argv = [arg.format(a=tmp_path / "a", b=tmp_path / "b") for arg in argv]
    answered, (_status, out, err) = _compare(argv, capsys)
    assert answered is lean
    for text in expect:
        assert text in out + err


Change = Callable[[Path], None]


@pytest.mark.parametrize(
    ("change", "lean"),
    [
        pytest.param(lambda d: os.utime(d / "g.json", ns=(1, 1)), False, id="touched"),
        pytest.param(lambda d: (d / "g.json").write_text(spec(A, ["new"])), False, id="rewritten"),
        pytest.param(lambda d: (d / "h.json").write_text(spec(B, ["n"])), False, id="added"),
        pytest.param(lambda d: (d / "h.json").unlink(), True, id="removed"),
        pytest.param(lambda d: (d / "sub").mkdir(), True, id="subdir-ignored"),
        pytest.param(lambda d: (d / "notes.txt").write_text("x"), True, id="other-extension"),
    ],
)
def test_changes_since_the_cache_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Change, lean: bool
) -> None:
    d = tmp_path / "cdi"
    _files(d, {"g.json": spec(A, ["g0"]), "h.json": spec(B, ["h0"])})
    argv = ["-d", str(d), "devices"]
    _run(argv, capsys, lean=False)
    change(d)
    answered = _lean.run(argv) is not None
    capsys.readouterr()
    assert answered is lean
    assert _run(argv, capsys, lean=True) == _run(argv, capsys, lean=False)
    # ... and after one full run, the lean path answers again.
    assert _lean.run(argv) is not None


def test_cache_disabled_or_missing_means_full_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "cdi"
    _files(d, {"g.json": spec(A, ["g0"])})
    argv = ["-d", str(d), "devices"]
    assert _lean.run(argv) is None  # nothing cached yet
    _run(argv, capsys, lean=False)
    monkeypatch.setenv("CDIKIT_CACHE_DIR", "off")
    assert _lean.run(argv) is None


def test_error_text_of_another_path_spelling_is_not_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "cdi"
    _files(d, {"g.json": spec(A, ["g0"]), "bad.json": UNPARSABLE})
    _run(["-d", str(d), "devices"], capsys, lean=False)
    monkeypatch.chdir(tmp_path)
    assert _lean.run(["-d", "cdi", "devices"]) is None
    capsys.readouterr()


def test_on_demand_rows_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDIKIT_FAKE_NVML", "1")  # the nvidia.com/gpu provider is available
    d = tmp_path / "cdi"
    _files(d, {"g.json": spec(A, ["g0"])})
    answered, (_status, out, _err) = _compare(["-d", str(d), "devices"], capsys)
    assert answered
    assert "nvidia.com/gpu" in out


def test_lean_process_imports_no_heavy_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "cdi"
    _files(d, {"g.json": spec(A, ["g0"])})
    _run(["-d", str(d), "devices"], capsys, lean=False)
    code = (
        "import sys\nfrom cdikit.cli import main\n"
        f"rc = main(['-d', {str(d)!r}, 'devices'])\n"
        "print('MODULES', ' '.join(sorted(m for m in ('argparse', 'msgspec', 'dataclasses', 'json', 'yaml', 're', 'typing', 'enum') "
        "if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "vendor.com/gpu=g0" in proc.stdout
    assert proc.stdout.rsplit("MODULES", 1)[1].split() == []


_KINDS = [A, B]
_NAMES = ["d0", "d1", "d2"]
_AUTO_VALUES = st.sampled_from([None, "true", "false", "1", "x"])


@st.composite
def _dirs(draw: st.DrawFn) -> dict[str, dict[str, str]]:
    dirs: dict[str, dict[str, str]] = {}
    for i in range(draw(st.integers(1, 3))):
        files: dict[str, str] = {}
        for j in range(draw(st.integers(0, 3))):
            ext = draw(st.sampled_from(["json", "yaml"]))
            if draw(st.integers(0, 5)) == 0:
                files[f"s{j}.{ext}"] = draw(st.sampled_from([BROKEN, UNPARSABLE]))
                continue
            names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3, unique=True))
            per_device = {n: v for n in names if (v := draw(_AUTO_VALUES)) is not None}
            spec_auto = draw(_AUTO_VALUES)
            files[f"s{j}.{ext}"] = spec(
                draw(st.sampled_from(_KINDS)),
                names,
                annotations={AUTO: spec_auto} if spec_auto else None,
                **per_device,
            )
        dirs[f"dir{i}"] = files
    return dirs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layout=_dirs(),
    fmt=st.sampled_from(["table", "json"]),
    auto=st.lists(st.sampled_from([A, B, f"{A}=d1", f"{B}=d0"]), max_size=2),
)
def test_lean_equals_full_on_generated_dirs(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    layout: dict[str, dict[str, str]],
    fmt: str,
    auto: list[str],
) -> None:
    root = tmp_path_factory.mktemp("lean")
    for directory, files in layout.items():
        (root / directory).mkdir()
        _files(root / directory, files)
    argv = ["-d", ",".join(str(root / d) for d in layout), "-o", fmt, "devices"]
    for name in auto:
        argv += ["--auto-allow", name]
    answered, _result = _compare(argv, capsys)
    assert answered
