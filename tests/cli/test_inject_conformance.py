"""``cdi inject`` against the shared golden cases (../shared/conformance/cases/{inject,cache}).

Every case with spec dirs and a canonical ``oci.json`` runs as
``cdi -d DIR [-d DIR...] inject -o json oci.json DEVICES...`` in the staged case dir:

* reference without error: exit 0 and stdout is exactly the expected OCI spec;
* "unresolvable CDI devices": exit 1, empty stdout, every unresolved name on stderr;
* any other error: exit 1, empty stdout, the library-authored error text on stderr.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests._shared import require_shared
from tests.cli._helpers import run_cdi
from tests.conformance._case import DEFAULT_ROOT, library_prefix, stage

_MAGIC = set("*?[\\")


def _host_agrees(args: dict[str, Any]) -> bool:
    """False when this host's device files differ from the reference host's (FORMAT.md)."""
    kinds = {
        "c": stat.S_ISCHR,
        "b": stat.S_ISBLK,
        "p": stat.S_ISFIFO,
        "dir": stat.S_ISDIR,
        "symlink": stat.S_ISLNK,
    }
    for entry in args.get("hostDevices") or []:
        try:
            st = os.lstat(entry["path"])
        except OSError:
            if entry["exists"]:
                return False
            continue
        if not entry["exists"]:
            return False
        check = kinds.get(entry.get("type", ""))
        if check is not None and not check(st.st_mode):
            return False
        if entry.get("type") in ("c", "b") and (
            os.major(st.st_rdev) != entry["major"] or os.minor(st.st_rdev) != entry["minor"]
        ):
            return False
        if (
            "fileMode" in entry
            and entry.get("type") in ("c", "b")
            and stat.S_IMODE(st.st_mode) != entry["fileMode"]
        ):
            return False
    return True


def _eligible() -> list[Path]:
    cases = []
    for case in sorted(
        p for group in ("inject", "cache") for p in (DEFAULT_ROOT / group).glob("*") if p.is_dir()
    ):
        args = json.loads((case / "args.json").read_text())
        expected = json.loads((case / "expected.json").read_text())
        if (
            not args.get("specDirs")
            or args.get("oci") != "oci.json"
            or args.get("ociCanonical") is False
            or expected.get("cachePanic")
            or not args.get("devices")
            or any(ch in _MAGIC for name in args["devices"] for ch in name)
        ):
            continue
        cases.append(case)
    return cases


CASES = _eligible()


def test_enough_cases_are_eligible() -> None:
    require_shared("conformance", "cases", "inject")
    assert len(CASES) >= 130


@pytest.mark.parametrize("source", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_inject_case(source: Path, tmp_path: Path) -> None:
    case = stage(source, tmp_path / "case")
    if not _host_agrees(case.args):
        pytest.skip("host device files differ from the reference host")
    expected = case.expected
    dirs = [arg for d in case.args["specDirs"] for arg in ("-d", d)]
    result = run_cdi(*dirs, "inject", "-o", "json", "oci.json", *case.args["devices"], cwd=case.scratch)
    error = expected.get("error")
    if error is None:
        assert result.rc == 0, result.err
        assert json.loads(result.out) == expected["oci"]
        return
    assert result.rc == 1, (result.out, result.err)
    assert result.out == ""
    if error.startswith("unresolvable CDI devices"):
        assert expected["unresolved"]
        for name in expected["unresolved"]:
            assert name in result.err
    else:
        assert library_prefix(error) in result.err
