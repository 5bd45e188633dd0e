"""Conformance: reading, parsing and validating single spec files (group ``validate``)."""

from __future__ import annotations

import json
from typing import Any

from cdikit.errors import CDIError
from cdikit.registry.names import generate_name_for_spec
from cdikit.spec import parse_spec, validate_version, version
from cdikit.spec.encode import encode_spec
from cdikit.specfile import read_spec
from tests.conformance._case import Case, diff, error_diff, fail_if
from tests.conformance.handlers import _policy


def _parse_result(data: bytes) -> dict[str, Any]:
    try:
        spec = parse_spec(data)
    except CDIError as err:
        return {"ok": False, "null": False, "error": str(err), "goPanics": getattr(err, "go_panics", False)}
    if spec is None:
        return {"ok": False, "null": True, "error": None}
    out: dict[str, Any] = {
        "ok": True,
        "null": False,
        "error": None,
        "raw": json.loads(encode_spec(spec, "json")),
        "minimumRequiredVersion": version.minimum_version(spec),
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
    problems = _compare(case)
    if problems and _policy.MINIMUM_VERSION_OVER_ALL_DEVICES:
        with _policy.reference_minimum_version():
            if not _compare(case):
                return  # rule 4: the only difference is the reference's minimum-version flaw
    fail_if(problems, case)


def _compare(case: Case) -> list[str]:
    args, expected = case.args, case.expected
    problems: list[str] = []
    data = (case.scratch / args["file"]).read_bytes()

    exp_parse = expected["parse"]
    got_parse = _parse_result(data)
    if got_parse.get("goPanics") and exp_parse["ok"] and _policy.has_nil_entry(exp_parse.get("raw")):
        # rule 5: Go decodes a nil entry (then panics on it); cdikit rejects it when decoding
        assert _policy.NIL_ENTRY_IS_GO_PANIC
        exp_parse = got_parse
    if _policy.AMBIGUOUS_KEY_MARK in str(got_parse["error"]):
        # rule 6: two keys that become one JSON key with different values; Go keeps one at
        # random (so may accept), cdikit refuses the document whatever Go did
        return problems
    if _policy.buffer_bom_rejection(data, got_parse["error"]):
        # rule 10: go-yaml v2 drops the first character of lines it begins while a U+FEFF starts
        # its buffer; cdikit rejects the file (one it cannot even decode, odd-length UTF-16
        # say, is compared as usual)
        assert _policy.BUFFER_BOM_IS_REJECTED
        return problems
    for key in ("ok", "null"):
        diff(f"parse.{key}", exp_parse[key], got_parse[key], problems)
    error_diff("parse.error", exp_parse["error"], got_parse["error"], problems)
    if exp_parse["ok"] and got_parse["ok"]:
        for key in ("raw", "minimumRequiredVersion", "minimumRequiredVersionError"):
            diff(f"parse.{key}", exp_parse[key], got_parse[key], problems)
        error_diff(
            "parse.validateVersion", exp_parse["validateVersion"], got_parse["validateVersion"], problems
        )
        exp_gen, got_gen = exp_parse["generateNameForSpec"], got_parse["generateNameForSpec"]
        diff("parse.generateNameForSpec.name", exp_gen["name"], got_gen["name"], problems)
        error_diff("parse.generateNameForSpec.error", exp_gen["error"], got_gen["error"], problems)

    exp_read = expected["readSpec"]
    nil_entry = expected["parse"]["ok"] and _policy.has_nil_entry(expected["parse"].get("raw"))
    try:
        loaded = read_spec(args["file"], args.get("priority", 0))
    except CDIError as err:
        if nil_entry and not exp_read["ok"] and getattr(err, "go_panics", False):
            # rule 5: Go rejects this file too, for whatever its validation meets before the
            # nil entry (an old cdiVersion, an empty vendor) or by panicking on it
            assert _policy.NIL_ENTRY_IS_GO_PANIC
        elif exp_read.get("panic"):
            # rules 1 and 5: a reference panic must be a clear rejection here.
            if not getattr(err, "go_panics", False):
                problems.append(f"readSpec: reference panicked; expected a go_panics rejection, got {err!r}")
        else:
            diff("readSpec.ok", exp_read["ok"], False, problems)
            error_diff("readSpec.error", exp_read["error"], str(err), problems)
        return problems
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
    return problems
