"""Conformance handler for the ``parse`` command: every name function on one input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdikit import names
from cdikit.errors import InvalidNameError
from tests.conformance._case import Case, diff, error_diff, fail_if
from tests.conformance.handlers import _policy


def _panic_rejected(label: str, call: Callable[[], object], problems: list[str]) -> None:
    """Policy rule 1: where Go panicked, cdikit must raise InvalidNameError(go_panics=True)."""
    assert _policy.PANIC_IS_REJECTION
    try:
        call()
    except InvalidNameError as err:
        if not err.go_panics:
            problems.append(f"{label}: Go panics here; expected go_panics=True, got {err!r}")
        return
    problems.append(f"{label}: Go panics here; expected a rejection, got a result")


def _validator(
    label: str, validate: Callable[[str], None], s: str, expected: dict[str, Any], problems: list[str]
) -> None:
    if "panic" in expected:
        _panic_rejected(label, lambda: validate(s), problems)
        return
    actual: str | None = None
    try:
        validate(s)
    except InvalidNameError as err:
        actual = str(err)
    error_diff(label, expected["error"], actual, problems)


def _check_one(s: str, exp: dict[str, Any], problems: list[str]) -> None:
    diff("input", exp["input"], s, problems)
    v, c, n = names.parse_device(s)
    diff("parseDevice", exp["parseDevice"], {"vendor": v, "class": c, "name": n}, problems)
    v, c = names.parse_qualifier(s)
    diff("parseQualifier", exp["parseQualifier"], {"vendor": v, "class": c}, problems)

    strict = exp["parseQualifiedName"]
    if "panic" in strict:
        _panic_rejected("parseQualifiedName", lambda: names.parse_qualified_name(s), problems)
    else:
        error: str | None = None
        try:
            v, c, n = names.parse_qualified_name(s)
            roundtrip: str | None = names.qualified_name(v, c, n)
        except InvalidNameError as err:
            v, c, n, error, roundtrip = "", "", s, str(err), None
        diff(
            "parseQualifiedName",
            {k: strict[k] for k in ("vendor", "class", "name")},
            {"vendor": v, "class": c, "name": n},
            problems,
        )
        error_diff("parseQualifiedName.error", strict["error"], error, problems)
        diff("qualifiedNameRoundTrip", exp["qualifiedNameRoundTrip"], roundtrip, problems)

    is_q = exp["isQualifiedName"]
    if isinstance(is_q, dict):  # Go panicked: a rejection is a False answer
        diff("isQualifiedName (Go panics)", False, names.is_qualified_name(s), problems)
    else:
        diff("isQualifiedName", is_q, names.is_qualified_name(s), problems)

    _validator("validateVendorName", names.validate_vendor_name, s, exp["validateVendorName"], problems)
    _validator("validateClassName", names.validate_class_name, s, exp["validateClassName"], problems)
    _validator("validateDeviceName", names.validate_device_name, s, exp["validateDeviceName"], problems)


def check(case: Case) -> None:
    problems: list[str] = []
    inputs = case.args["inputs"]
    results = case.expected["results"]
    diff("result count", len(results), len(inputs), problems)
    for s, exp in zip(inputs, results, strict=False):
        _check_one(s, exp, problems)
    fail_if(problems, case)
