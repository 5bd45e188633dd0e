"""Runs every golden case recorded from the Go reference library.

Cases come from ../shared/conformance/cases and ../shared/conformance/fuzz (the
shared folder is found beside the checkout or above it, or named by $CDIKIT_SHARED),
tests/fuzz/regressions (minimized findings of the differential fuzzer; the ones cdikit
still fails are listed, with the reason, in tests/fuzz/regressions/known-failing.txt and
run as strict xfails) plus any roots listed in CDIKIT_CONFORMANCE_CASES (colon-separated,
same layout). Each case is staged in
a scratch directory which becomes the working directory while it runs (the
reference echoes relative paths). Deliberate differences from the reference are
stated once, in ``handlers/_policy.py``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from tests._shared import SHARED, require_shared
from tests.conformance._case import DEFAULT_ROOT, FUZZ_ROOT, REGRESSIONS_ROOT, discover, known_failing, stage

CASES = discover()
_KNOWN = known_failing()


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_corpus_is_present() -> None:
    require_shared("conformance", "cases")
    assert DEFAULT_ROOT.is_dir() and FUZZ_ROOT.is_dir(), f"{SHARED}/conformance lacks cases/ or fuzz/"
    assert CASES, f"no conformance cases found under {SHARED}/conformance"


def _param(path: Path) -> object:
    why = _KNOWN.get(_id(path)) if path.is_relative_to(REGRESSIONS_ROOT) else None
    marks = [pytest.mark.xfail(strict=True, reason=f"known fuzz finding: {why}")] if why is not None else []
    return pytest.param(path, id=_id(path), marks=marks)


@pytest.mark.parametrize("source", [_param(c) for c in CASES])
def test_case(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = stage(source, tmp_path / "case")
    command = case.args["command"]
    handler = importlib.import_module(f"tests.conformance.handlers.{command}")
    monkeypatch.chdir(case.scratch)
    assert os.getcwd() == str(case.scratch)
    handler.check(case)
