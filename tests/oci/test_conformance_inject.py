"""The golden ``inject`` cases, run through ``inject_edits`` alone (no registry).

For every case whose injection succeeded in the reference, or failed while
applying edits (``failed to inject devices: ...``), the case's spec files are
decoded, the edits are collected in the reference's order (per requested
device: its spec's edits the first time that spec is seen, then the device's
edits) and applied. Cases that exercise the registry instead (unknown names,
conflicts, broken files, several dirs defining one device) are left to the
full conformance runner. Failures follow rule 2 of
``tests/conformance/handlers/_policy.py``: the OCI spec must equal the input.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cdikit.errors import CDIError, InjectionError
from cdikit.oci import go_canonical, inject_edits
from cdikit.spec.decode import parse_spec
from cdikit.spec.types import ContainerEdits, Device, Spec
from tests._shared import require_shared
from tests.conformance._case import case_roots, errors_match, stage

_GROUPS = ("inject", "inject-random")


def _cases() -> list[Path]:
    found: list[Path] = []
    for root in case_roots():
        for group in _GROUPS:
            found += sorted(p.parent for p in (root / group).glob("*/args.json"))
    return found


CASES = _cases()


def _load_devices(spec_dirs: list[str]) -> dict[str, tuple[Spec, Device]] | None:
    """Qualified name -> (spec, device); None when the case needs the registry's rules."""
    found: dict[str, tuple[Spec, Device]] = {}
    for spec_dir in spec_dirs:
        directory = Path(spec_dir)
        if not directory.is_dir() or directory.is_symlink():
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix not in (".json", ".yaml") or not path.is_file():
                continue
            try:
                spec = parse_spec(path.read_bytes(), path=str(path))
            except CDIError:
                return None
            if spec is None:
                continue
            for device in spec.devices or []:
                name = f"{spec.kind}={device.name}"
                if name in found:
                    return None  # priorities and conflicts are the registry's business
                found[name] = (spec, device)
    return found


def _collect(devices: dict[str, tuple[Spec, Device]], names: list[str]) -> list[ContainerEdits] | None:
    edits: list[ContainerEdits] = []
    seen: set[int] = set()
    for name in names:
        entry = devices.get(name)
        if entry is None:
            return None
        spec, device = entry
        if id(spec) not in seen:
            seen.add(id(spec))
            edits.append(spec.edits)
        edits.append(device.edits)
    return edits


@pytest.mark.parametrize("source", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_inject_case(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = stage(source, tmp_path / "case")
    expected = case.expected
    error = expected.get("error")
    if expected.get("cachePanic") or expected.get("cacheErrors") or case.args.get("oci") is None:
        pytest.skip("exercises the registry")
    if error is not None and not error.startswith("failed to inject"):
        pytest.skip("exercises the registry")
    monkeypatch.chdir(case.scratch)
    devices = _load_devices(case.args["specDirs"])
    edits = None if devices is None else _collect(devices, case.args["devices"])
    if edits is None:
        pytest.skip("exercises the registry")

    oci: dict[str, Any] = json.loads(Path(case.args["oci"]).read_text())
    if case.args.get("ociCanonical") is False:
        oci = go_canonical(oci)  # what the reference's decoder makes of the raw input
    before = json.loads(json.dumps(oci))
    try:
        inject_edits(oci, edits)
        actual_error = None
    except InjectionError as err:
        actual_error = str(err)
    assert errors_match(error, actual_error), (error, actual_error)
    if error is None:
        assert oci == expected["oci"]
    else:
        assert oci == before  # transactional (policy rule 2)


def test_cases_found() -> None:
    require_shared("conformance", "cases", "inject")
    assert len(CASES) >= 100


def test_cwd_untouched() -> None:
    # The staged cases chdir through monkeypatch only; make sure nothing leaked.
    assert Path(os.getcwd()).exists()
