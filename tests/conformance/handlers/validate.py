"""Conformance: reading, parsing and validating single spec files (group ``validate``)."""

from __future__ import annotations

import json
from typing import Any

from cdikit.errors import CDIError, InvalidNameError
from cdikit.registry.names import generate_name_for_spec
from cdikit.spec import minimum_version, parse_spec, validate_version
from cdikit.spec.encode import encode_spec
from cdikit.specfile import read_spec
from tests.conformance._case import Case, diff, error_diff, fail_if


def _parse_result(data: bytes) -> dict[str, Any]:
    try:
        spec = parse_spec(data)
    except CDIError as err:
        return {"ok": False, "null": False, "error": str(err)}
    if spec is None:
        return {"ok": False, "null": True, "error": None}
    out: dict[str, Any] = {
        "ok": True,
        "null": False,
        "error": None,
        "raw": json.loads(encode_spec(spec, "json")),
        "minimumRequiredVersion": minimum_version(spec),
        "minimumRequiredVersionError": None,
    }
    try:
        validate_version(spec)
        out["validateVersion"] = None
    except CDIError as err:
        out["validateVersion"] = str(err)
    try:
        out["generateNameForSpec"] = {"name": generate_name_for_spec(spec), "error": None}
    except CDIError as err:
        out["generateNameForSpec"] = {"name": "", "error": str(err)}
    return out


def check(case: Case) -> None:
    args, expected = case.args, case.expected
    problems: list[str] = []
    data = (case.scratch / args["file"]).read_bytes()

    exp_parse = expected["parse"]
    got_parse = _parse_result(data)
    for key in ("ok", "null"):
        diff(f"parse.{key}", exp_parse[key], got_parse[key], problems)
    error_diff("parse.error", exp_parse["error"], got_parse["error"], problems)
    if exp_parse["ok"] and got_parse["ok"]:
        for key in ("raw", "minimumRequiredVersion", "minimumRequiredVersionError"):
            diff(f"parse.{key}", exp_parse[key], got_parse[key], problems)
        error_diff("parse.validateVersion", exp_parse["validateVersion"], got_parse["validateVersion"], problems)
        exp_gen, got_gen = exp_parse["generateNameForSpec"], got_parse["generateNameForSpec"]
        diff("parse.generateNameForSpec.name", exp_gen["name"], got_gen["name"], problems)
        error_diff("parse.generateNameForSpec.error", exp_gen["error"], got_gen["error"], problems)

    exp_read = expected["readSpec"]
    try:
        loaded = read_spec(args["file"], args.get("priority", 0))
    except InvalidNameError as err:
        if exp_read.get("panic"):
            # _policy rule 1: a reference panic must be a clear rejection here.
            if not err.go_panics:
                problems.append(f"readSpec: reference panicked; expected go_panics rejection, got {err}")
        else:
            diff("readSpec.ok", exp_read["ok"], False, problems)
            error_diff("readSpec.error", exp_read["error"], str(err), problems)
        fail_if(problems, case)
        return
    except CDIError as err:
        if exp_read.get("panic"):
            problems.append(f"readSpec: reference panicked; expected a go_panics rejection, got {err!r}")
        diff("readSpec.ok", exp_read["ok"], False, problems)
        error_diff("readSpec.error", exp_read["error"], str(err), problems)
        fail_if(problems, case)
        return
    if exp_read.get("panic"):
        problems.append("readSpec: reference panicked; cdikit accepted the spec")
    diff("readSpec.ok", exp_read["ok"], True, problems)
    error_diff("readSpec.error", exp_read["error"], None, problems)
    if exp_read["ok"]:
        got = {
            "path": loaded.path,
            "vendor": loaded.vendor,
            "class": loaded.class_,
            "priority": loaded.priority,
            "devices": list(loaded.devices),
            "qualifiedDevices": list(loaded.qualified_names()),
        }
        for key, value in got.items():
            diff(f"readSpec.{key}", exp_read[key], value, problems)
    fail_if(problems, case)
