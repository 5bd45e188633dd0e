"""Conformance handler for the ``annotations`` command: key, value, update, parse ops."""

from __future__ import annotations

import copy
from typing import Any

from cdikit.annotations import annotation_key, annotation_value, parse_annotations, update_annotations
from cdikit.errors import AnnotationError, InvalidNameError
from tests.conformance._case import Case, diff, error_diff, fail_if
from tests.conformance.handlers import _policy


def _go_panics(err: AnnotationError) -> bool:
    cause = err.__cause__
    return isinstance(cause, InvalidNameError) and cause.go_panics


def _run(op: dict[str, Any]) -> dict[str, Any]:
    """Run one op; the result in expected.json's shape plus the raised error (if any)."""
    kind = op["op"]
    err: AnnotationError | None = None
    result: dict[str, Any] = {"op": kind}
    if kind == "key":
        try:
            result["key"] = annotation_key(op["plugin"], op["deviceID"])
        except AnnotationError as e:
            err, result["key"] = e, ""
    elif kind == "value":
        try:
            result["value"] = annotation_value(op["devices"])
        except AnnotationError as e:
            err, result["value"] = e, ""
    elif kind == "update":
        given = copy.deepcopy(op["annotations"])
        try:
            result["annotations"] = update_annotations(given, op["plugin"], op["deviceID"], op["devices"])
        except AnnotationError as e:
            # The input must be left unchanged on error.
            err, result["annotations"] = e, given
    elif kind == "parse":
        try:
            keys, devices = parse_annotations(op["annotations"])
        except AnnotationError as e:
            err, keys, devices = e, [], []
        result["keys"], result["devices"] = sorted(keys), sorted(devices)
    else:
        raise AssertionError(f"unknown annotations op {kind!r}")
    result["error"] = None if err is None else str(err)
    result["_exc"] = err
    return result


def check(case: Case) -> None:
    problems: list[str] = []
    ops = case.args["ops"]
    results = case.expected["results"]
    diff("result count", len(results), len(ops), problems)
    for i, (op, exp) in enumerate(zip(ops, results, strict=False)):
        actual = _run(op)
        exc = actual.pop("_exc")
        label = f"op[{i}] {op['op']}"
        if exp.get("panic") is not None:
            assert _policy.PANIC_IS_REJECTION
            if exc is None or not _go_panics(exc):
                problems.append(f"{label}: Go panics here; expected a go_panics rejection, got {exc!r}")
            continue
        error_diff(f"{label}.error", exp["error"], actual["error"], problems)
        for field in ("key", "value", "annotations", "keys", "devices"):
            if field in exp:
                diff(f"{label}.{field}", exp[field], actual.get(field), problems)
    fail_if(problems, case)
