"""The differential fuzzer (tests/fuzz/differential.py): its machinery, and a short run.

The machinery tests need nothing. The smoke run and the reproduction of the recorded
regression cases need the reference oracle, a local build over the Go CDI library v1.1.0
(``$CDIKIT_ORACLE`` or ``/opt/cdi-oracle/bin/cdi-oracle``; docs/fuzzing.md says how to
build it); without it they skip and say why.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conformance._case import REGRESSIONS_ROOT, apply_setup, known_failing
from tests.fuzz import differential as diff
from tests.fuzz._specgen import gen_inject, gen_spec

ORACLE = diff.find_oracle()
needs_oracle = pytest.mark.skipif(
    ORACLE is None,
    reason=f"no reference oracle: set CDIKIT_ORACLE or build {diff.DEFAULT_ORACLE} (see docs/fuzzing.md)",
)

SMOKE_SEED, SMOKE_SPECS, SMOKE_INJECT, SMOKE_NAMES = 20261205, 400, 80, 300

#: Cases of the smoke run where cdikit and the reference still disagree ("command:index" ->
#: "kind: detail" as the fuzzer reports it). Strict both ways: a new disagreement fails the
#: smoke test, and so does a fixed one until its line is removed.
SMOKE_KNOWN: dict[str, str] = {}


# --------------------------------------------------------------------------- machinery


def test_ddmin_finds_a_one_minimal_subset() -> None:
    items = list(range(40))
    calls: list[int] = []

    def test(xs: list[int]) -> bool:
        calls.append(1)
        return 7 in xs and 31 in xs

    assert diff.ddmin(items, test, [1000]) == [7, 31]
    assert len(calls) < 200


def test_ddmin_stops_at_its_budget() -> None:
    budget = [5]
    out = diff.ddmin(list(range(100)), lambda xs: 3 in xs, budget)
    assert budget[0] <= 0 and 3 in out


def test_generators_are_reproducible_and_varied() -> None:
    first = [gen_spec(random.Random(f"s:{i}")) for i in range(300)]
    again = [gen_spec(random.Random(f"s:{i}")) for i in range(300)]
    assert first == again
    assert len({data for data, _, _ in first}) == 300
    edges = {edge for _, _, tags in first for edge in tags}
    for wanted in (
        "merge-key",
        "duplicate-key",
        "key-unicode-fold",
        "tag",
        "escape",
        "number-edge",
        "directive",
    ):
        assert wanted in edges, f"300 generated specs never used the {wanted!r} edge"
    args, files, _ = gen_inject(random.Random("i:0"))
    assert args["command"] == "inject" and args["specDirs"]
    assert (args["oci"] is None) == ("oci.json" not in files)


def test_case_for_an_index_is_stable() -> None:
    a, b = diff.make_case("validate", 5, 17), diff.make_case("validate", 5, 17)
    assert a.files == b.files and a.args == b.args
    assert diff.make_case("validate", 5, 18).files != a.files


_MESSAGE = """validate-diff/x: d
parse.ok:
  expected true
  actual   false
parse.error:
  expected error None
  actual error   'failed to unmarshal CDI Spec: error converting YAML to JSON: yaml: unsupported tag !r (line 2, column 4)'
readSpec.error:
  expected error 'invalid CDI Spec: invalid version ""'
  actual error   'failed to parse CDI Spec "spec.yaml": failed to unmarshal CDI Spec: yaml: unsupported tag !r'"""


def test_classify_names_direction_stage_and_error_kind() -> None:
    verdict = diff.classify("validate", {"parse": {"ok": True}, "readSpec": {"ok": False}}, _MESSAGE)
    assert verdict.kind == "verdict"
    assert (
        verdict.detail
        == "Go accepts, cdikit rejects (parse.error): Go no error / cdikit yaml: unsupported tag !r (line N)"
    )


def test_classify_value_and_error_text() -> None:
    value = diff.classify(
        "validate",
        {},
        'x: d\nparse.raw:\n  expected {"kind": "a/b", "n": "1e+06"}\n  actual   {"kind": "a/b", "n": "1000000"}',
    )
    assert (value.kind, value.detail) == ("value", "parse.raw: Go 'Na+N' / cdikit 'N'")
    text = diff.classify(
        "inject",
        {},
        "x: d\nerror:\n  expected error 'failed to inject devices: a'\n  actual error   'failed to inject devices: b'",
    )
    assert text.kind == "error-text"


def test_recorded_regressions_are_golden_cases() -> None:
    known = known_failing()
    cases = sorted(REGRESSIONS_ROOT.glob("*/*/args.json"))
    names = {f"{p.parent.parent.name}/{p.parent.name}" for p in cases}
    assert set(known) <= names, f"known-failing.txt names missing cases: {set(known) - names}"
    for args_path in cases:
        args = json.loads(args_path.read_text())
        assert args["command"] in ("validate", "inject"), args_path
        assert (args_path.parent / "expected.json").is_file(), args_path


# --------------------------------------------------------------------------- with the oracle


@needs_oracle
def test_recorded_regressions_reproduce_on_the_oracle(tmp_path: Path) -> None:
    """Every expected.json under tests/fuzz/regressions is what the reference gives today."""
    assert ORACLE is not None
    for i, args_path in enumerate(sorted(REGRESSIONS_ROOT.glob("*/*/args.json"))):
        scratch = tmp_path / str(i)
        shutil.copytree(args_path.parent, scratch, ignore=shutil.ignore_patterns("expected.json"))
        args = json.loads(args_path.read_text())
        apply_setup(scratch, args.get("setup"))
        out = subprocess.run(
            [ORACLE, args["command"], "args.json"], cwd=scratch, capture_output=True, timeout=60, check=True
        )
        expected = json.loads((args_path.parent / "expected.json").read_text())
        assert json.loads(out.stdout) == expected, args_path.parent


@needs_oracle
def test_smoke_run_against_the_reference(tmp_path: Path) -> None:
    assert ORACLE is not None
    report = diff.run(
        ORACLE,
        specs=SMOKE_SPECS,
        inject=SMOKE_INJECT,
        names=SMOKE_NAMES,
        seed=SMOKE_SEED,
        out=tmp_path,
        minimize_cases=False,
    )
    assert report.counts["validate:total"] == SMOKE_SPECS and report.counts["inject:total"] == SMOKE_INJECT
    assert report.counts["parse:total"] == SMOKE_NAMES
    assert sum(v for k, v in report.counts.items() if k.endswith(":oracle-failure")) == 0
    # the generators reach both verdicts of the reference, not only parse errors
    assert SMOKE_SPECS * 0.1 < report.counts["validate:reference-accepts"] < SMOKE_SPECS * 0.9
    assert SMOKE_INJECT * 0.1 < report.counts["inject:reference-accepts"] < SMOKE_INJECT * 0.9
    new = {k: v for k, v in report.failing.items() if k not in SMOKE_KNOWN}
    fixed = sorted(k for k in SMOKE_KNOWN if k not in report.failing)
    assert not new, "cdikit and the reference disagree (replay with python -m tests.fuzz.differential " + (
        f"--seed {SMOKE_SEED} --replay CASE):\n" + "\n".join(f"{k}: {v}" for k, v in sorted(new.items()))
    )
    assert not fixed, f"fixed, remove from SMOKE_KNOWN: {fixed}"
