"""Loading, staging and comparing golden conformance cases (see shared/conformance/FORMAT.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests._shared import shared_path

DEFAULT_ROOT = shared_path("conformance", "cases")
FUZZ_ROOT = shared_path("conformance", "fuzz")
# Golden cases of our own: disagreements the differential fuzzer (tests/fuzz/differential.py)
# found, minimized, with expected.json recorded from the reference.
REGRESSIONS_ROOT = Path(__file__).resolve().parents[1] / "fuzz" / "regressions"
# Regression cases cdikit still fails (one "group/case  reason" per line): strict xfails, so
# a fix turns them red until the line is removed.
KNOWN_FAILING = REGRESSIONS_ROOT / "known-failing.txt"
GROUPS = ("parse", "validate", "annotations", "inject", "cache", "write")


@dataclass
class Case:
    """One case folder, staged into a scratch directory that is the cwd while it runs."""

    source: Path
    args: dict[str, Any]
    expected: dict[str, Any]
    scratch: Path

    @property
    def name(self) -> str:
        return f"{self.source.parent.name}/{self.source.name}"


def case_roots() -> list[Path]:
    """The hand-written and the randomized corpus, our fuzz regressions, then $CDIKIT_CONFORMANCE_CASES."""
    roots = [DEFAULT_ROOT, FUZZ_ROOT, REGRESSIONS_ROOT]
    extra = os.environ.get("CDIKIT_CONFORMANCE_CASES", "")
    for p in extra.split(":"):
        if p and Path(p).resolve() not in [r.resolve() for r in roots]:
            roots.append(Path(p))
    return roots


def discover() -> list[Path]:
    """Every case folder (a folder holding args.json) under every root, sorted."""
    found: list[Path] = []
    for root in case_roots():
        if not root.is_dir():
            continue
        for args in sorted(root.glob("*/*/args.json")):
            found.append(args.parent)
    return found


def known_failing() -> dict[str, str]:
    """``group/case`` -> why, for the regression cases cdikit is known to fail."""
    if not KNOWN_FAILING.is_file():
        return {}
    out: dict[str, str] = {}
    for line in KNOWN_FAILING.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.partition(" ")
            out[name] = why.strip()
    return out


def apply_setup(scratch: Path, setup: list[dict[str, Any]] | None) -> None:
    """Apply an ``args.json`` ``setup`` list inside ``scratch`` (FORMAT.md, "setup steps")."""
    for step in setup or []:
        target = scratch / step["path"]
        action = step["action"]
        if action == "mkdir":
            target.mkdir(parents=True, exist_ok=True)
        elif action == "symlink":
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(step["target"], target)
        elif action == "mkfifo":
            target.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(target)
            os.chmod(target, int(step["mode"]))
        elif action == "remove":
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
        else:
            raise AssertionError(f"unknown setup action {action!r}")


def stage(source: Path, scratch: Path) -> Case:
    """Copy the case (minus expected.json) to scratch and apply its setup steps."""
    shutil.copytree(source, scratch, symlinks=True, ignore=shutil.ignore_patterns("expected.json"))
    args = json.loads((source / "args.json").read_text())
    expected = json.loads((source / "expected.json").read_text())
    apply_setup(scratch, args.get("setup"))
    return Case(source=source, args=args, expected=expected, scratch=scratch)


# Error texts that embed messages of Go's encoding/json, the YAML library or the OS
# depend on the toolchain: FORMAT.md asks to compare those by their library-authored
# prefix only. Everything before the first of these markers must match verbatim.
_FOREIGN_MARKERS = re.compile(
    r"error converting YAML to JSON:|error unmarshaling JSON:|json: |yaml: |"
    r"open |read |lstat |stat |no such file or directory|is a directory|not a device node|"
    r"permission denied"
)


def library_prefix(text: str) -> str:
    m = _FOREIGN_MARKERS.search(text)
    return text[: m.start()] if m else text


def errors_match(expected: str | None, actual: str | None) -> bool:
    """Error presence must match exactly; texts match verbatim up to the first foreign part."""
    if expected is None or actual is None:
        return expected is None and actual is None
    exp = library_prefix(expected)
    if exp != expected:  # has a foreign tail: compare the library-authored prefix only
        return actual.startswith(exp)
    return actual == expected


def diff(label: str, expected: Any, actual: Any, problems: list[str]) -> None:
    if expected != actual:
        problems.append(
            f"{label}:\n  expected {json.dumps(expected, sort_keys=True)}\n  actual   {json.dumps(actual, sort_keys=True)}"
        )


def error_diff(label: str, expected: str | None, actual: str | None, problems: list[str]) -> None:
    if not errors_match(expected, actual):
        problems.append(f"{label}:\n  expected error {expected!r}\n  actual error   {actual!r}")


def fail_if(problems: list[str], case: Case) -> None:
    if problems:
        raise AssertionError(f"{case.name}: {case.args.get('description', '')}\n" + "\n".join(problems))
