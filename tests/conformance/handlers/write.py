"""Command ``write`` (group write): producer writes/removes through the registry, name helpers.

One registry (auto-refresh off) over ``specDirs`` runs every op in order; after
each write/remove the handler lists the files under the spec directories and
refreshes. Rule 3 of ``_policy.py``: writes keep the declared ``cdiVersion``.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from cdikit.errors import CDIError, RegistryError
from cdikit.registry import (
    Registry,
    generate_name_for_spec,
    generate_name_for_transient_spec,
    generate_spec_name,
    generate_transient_spec_name,
)
from cdikit.spec import Spec, parse_spec
from tests.conformance._case import Case, diff, error_diff, fail_if
from tests.conformance.handlers import _policy


def _spec(raw: dict[str, Any]) -> Spec:
    spec = parse_spec(json.dumps(raw).encode())
    assert spec is not None
    return spec


def _files(spec_dirs: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    """Every regular file under the spec dirs: path (as the case spells it) -> content, mode."""
    contents: dict[str, str] = {}
    modes: dict[str, int] = {}
    for top in dict.fromkeys(spec_dirs):
        for root, _dirs, names in os.walk(top):
            for name in names:
                path = os.path.join(root, name)
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode):
                    continue
                with open(path, encoding="utf-8") as fh:
                    contents[path] = fh.read()
                modes[path] = stat.S_IMODE(st.st_mode)
    return contents, modes


def _run_file_op(registry: Registry, op: dict[str, Any], spec_dirs: list[str]) -> dict[str, Any]:
    error: str | None = None
    try:
        if op["op"] == "write":
            registry.write_spec(
                _spec(op["spec"]),
                op["name"],
                version=_policy.WRITE_VERSION_FOR_REFERENCE,
                mode=_policy.WRITE_MODE_FOR_REFERENCE,
            )
        else:
            registry.remove_spec(op["name"])
    except CDIError as err:
        error = str(err)
    files, modes = _files(spec_dirs)
    refresh_failed = False
    try:
        registry.refresh()
    except RegistryError:
        refresh_failed = True
    return {
        "error": error,
        "panic": None,
        "files": files,
        "fileModes": modes,
        "refreshFailed": refresh_failed,
        "refreshPanic": None,
        "devices": registry.list_devices(),
    }


def _run_name_op(op: dict[str, Any]) -> dict[str, Any]:
    transient = op.get("transientID")
    if op["op"] == "generateName":
        if transient is None:
            return {"name": generate_spec_name(op["vendor"], op["class"])}
        return {"name": generate_transient_spec_name(op["vendor"], op["class"], transient)}
    spec = _spec(op["spec"])
    try:
        if transient is None:
            name = generate_name_for_spec(spec)
        else:
            name = generate_name_for_transient_spec(spec, transient)
    except CDIError as err:
        return {"name": "", "error": str(err)}
    return {"name": name, "error": None}


def check(case: Case) -> None:
    args, expected = case.args, case.expected
    problems: list[str] = []
    spec_dirs: list[str] = args["specDirs"]
    registry = Registry(spec_dirs, auto_refresh=False)
    results = expected["results"]
    before: dict[str, str] = _files(spec_dirs)[0]
    diff("number of results", len(results), len(args["ops"]), problems)
    for i, (op, want) in enumerate(zip(args["ops"], results, strict=False)):
        label = f"op {i} ({op['op']})"
        got = _run_file_op(registry, op, spec_dirs) if op["op"] in ("write", "remove") else _run_name_op(op)
        if op["op"] in ("write", "remove") and _policy.spec_name_refused(op["name"]):
            # Rule 8: refused with a clear error; nothing may have been written.
            if not (got["error"] or "").startswith("invalid Spec file name"):
                problems.append(f"{label}: name {op['name']!r} was not refused: error {got['error']!r}")
            written = [path for path in got["files"] if path not in before]
            if written:
                problems.append(f"{label}: refused name {op['name']!r} still wrote {written}")
            before = got["files"]
            continue
        before = got.get("files", before)
        for key, value in got.items():
            if key == "error":
                error_diff(f"{label} error", want["error"], value, problems)
            else:
                diff(f"{label} {key}", want[key], value, problems)
    fail_if(problems, case)
