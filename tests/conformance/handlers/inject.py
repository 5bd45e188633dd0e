"""Command ``inject`` (groups inject, cache): registry listings and device injection.

The reference: a cache over ``specDirs`` with auto-refresh off, an explicit
refresh, the listings, then one injection call with every requested name.
Deviations (rule 1: one-character vendor/class specs; rule 2: transactional
injection) come from ``_policy.py``.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from typing import Any

import pytest

from cdikit.errors import CDIError, RegistryError, UnresolvableDevicesError
from cdikit.oci import go_canonical
from cdikit.registry import NilOCISpecError, Registry
from cdikit.registry.scan import scan_spec_dirs
from cdikit.spec import parse_spec
from cdikit.specfile import read_spec
from tests.conformance._case import Case, diff, error_diff, errors_match, fail_if
from tests.conformance.handlers import _policy

_TYPES = {
    stat.S_IFCHR: "c",
    stat.S_IFBLK: "b",
    stat.S_IFIFO: "p",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
}


def _host_disagreement(facts: list[dict[str, Any]]) -> str | None:
    """Why this host differs from the reference host for a path the case relies on, if it does."""
    for fact in facts:
        path = fact["path"]
        try:
            st = os.lstat(path)
        except OSError:
            if fact["exists"]:
                return f"{path} is missing here"
            continue
        if not fact["exists"]:
            return f"{path} exists here"
        kind = _TYPES.get(stat.S_IFMT(st.st_mode), "other")
        if kind != fact["type"]:
            return f"{path} is {kind!r} here, {fact['type']!r} on the reference host"
        if kind in ("c", "b", "p") and stat.S_IMODE(st.st_mode) != fact["fileMode"]:
            return f"{path} has mode {stat.S_IMODE(st.st_mode):o} here"
        if kind in ("c", "b") and (os.major(st.st_rdev), os.minor(st.st_rdev)) != (
            fact["major"],
            fact["minor"],
        ):
            return f"{path} has other device numbers here"
    return None


def _listings(registry: Registry) -> dict[str, Any]:
    specs = sorted(registry.specs(), key=lambda s: (s.path, s.priority))
    return {
        "cacheErrors": {path: sorted(msgs) for path, msgs in registry.get_errors().items()},
        "devices": registry.list_devices(),
        "vendors": registry.list_vendors(),
        "classes": registry.list_classes(),
        "specs": [
            {
                "path": s.path,
                "vendor": s.vendor,
                "class": s.class_,
                "priority": s.priority,
                "cdiVersion": s.spec.cdi_version,
                "devices": list(s.devices),
            }
            for s in specs
        ],
        "deviceSources": {name: rd.spec.path for name, rd in registry.devices().items()},
    }


def _nil_entry_rejection(path: str) -> bool:
    """Rule 5: whether cdikit refuses the file when decoding it for a nil entry Go keeps."""
    try:
        with open(path, "rb") as fh:
            parse_spec(fh.read(), path=path)
    except CDIError as err:
        return bool(getattr(err, "go_panics", False))
    except OSError:
        return False
    return False


def _buffer_bom_rejection(path: str, error: str) -> bool:
    """Rule 10: cdikit refuses a file whose U+FEFF go-yaml v2 may take for its buffer's start."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return _policy.buffer_bom_rejection(data, error)


def _diff_cache_errors(
    expected: dict[str, list[str]], actual: dict[str, list[str]], problems: list[str]
) -> None:
    """Same paths, same number of errors each, texts equal up to their toolchain-dependent tail.

    Rule 5: where Go's validation rejects a file for what it meets before a nil entry (an
    empty vendor, an old cdiVersion), cdikit's decode-time rejection of that entry matches.
    Rule 10: so does cdikit's rejection of a file with a U+FEFF at go-yaml v2's buffer start.
    """
    same = expected.keys() == actual.keys() and all(
        len(expected[p]) == len(actual[p])
        and all(
            errors_match(want, got)
            or (len(actual[p]) == 1 and (_nil_entry_rejection(p) or _buffer_bom_rejection(p, got)))
            for want, got in zip(expected[p], actual[p], strict=True)
        )
        for p in expected
    )
    if not same:
        diff("cacheErrors", expected, actual, problems)


def _check_panic_rejection(case: Case, registry: Registry, problems: list[str]) -> None:
    """Rule 1: each spec file Go panics on is reported, none of its devices resolve."""
    assert _policy.PANIC_IS_REJECTION
    errors = registry.get_errors()
    offenders = 0
    for cand in scan_spec_dirs(registry.spec_dirs):
        try:
            read_spec(cand.path, cand.priority)
        except CDIError as err:
            if not getattr(err, "go_panics", False):  # rules 1 and 5
                continue
        else:
            continue
        offenders += 1
        if cand.path not in errors:
            problems.append(f"rule 1: {cand.path} (Go panics on it) is not reported: {errors}")
        with open(cand.path, "rb") as fh:
            try:
                spec = parse_spec(fh.read(), path=cand.path)
            except CDIError:
                continue  # rule 5: rejected when decoding, so it has no devices at all
        assert spec is not None
        for device in spec.devices or ():
            name = f"{spec.kind}={device.name}"
            if registry.get_device(name) is not None:
                problems.append(f"rule 1: {name} from {cand.path} resolves")
    if not offenders:
        problems.append("rule 1: the reference panicked but no spec file is rejected as a Go panic")


def check(case: Case) -> None:
    why = _host_disagreement(case.args.get("hostDevices") or [])
    if why is not None:
        pytest.skip(f"host differs from the reference host: {why}")
    problems = _compare(case, cache=True)
    if problems and _policy.MINIMUM_VERSION_OVER_ALL_DEVICES:
        with _policy.reference_minimum_version():
            if not _compare(case, cache=False):
                return  # rule 4: the only difference is the reference's minimum-version flaw
    if problems and _buffer_bom_files(case):
        return  # rule 10: the only difference is that cdikit rejects a file Go may garble
    fail_if(problems, case)


def _buffer_bom_files(case: Case) -> bool:
    """Rule 10: cdikit rejects the spec files whose U+FEFF go-yaml v2 may take for its buffer's
    start, where Go loads them. The case must then match in full with each such file as Go
    reads it when the characters it drops are harmless (e.g. JSON indentation)."""
    assert _policy.BUFFER_BOM_IS_REJECTED
    loaded_by_go = set(case.expected.get("deviceSources", {}).values())
    offenders = []
    for cand in scan_spec_dirs(case.args["specDirs"]):
        if cand.path not in loaded_by_go:
            continue
        with open(cand.path, "rb") as fh:
            data = fh.read()
        if _policy.repeated_bom(data) or _policy.stray_buffer_bom(data):
            go_view = _policy.go_view_without_buffer_bom(data)
            if go_view is None:
                return False
            offenders.append((cand.path, data, go_view))
    if not offenders:
        return False
    try:
        for path, _, go_view in offenders:
            with open(path, "wb") as fh:
                fh.write(go_view)
        return not _compare(case, cache=True)
    finally:
        for path, data, _ in offenders:
            with open(path, "wb") as fh:
                fh.write(data)


def _compare(case: Case, *, cache: bool) -> list[str]:
    args, expected = case.args, case.expected
    problems: list[str] = []
    registry = Registry(args["specDirs"], auto_refresh=False, cache=cache)
    refresh_failed = False
    try:
        registry.refresh()
    except RegistryError:
        refresh_failed = True

    if expected.get("cachePanic") is not None:
        _check_panic_rejection(case, registry, problems)
        return problems

    diff("refreshFailed", expected["refreshFailed"], refresh_failed, problems)
    actual = _listings(registry)
    _diff_cache_errors(expected["cacheErrors"], actual.pop("cacheErrors"), problems)
    for key, value in actual.items():
        diff(key, expected[key], value, problems)

    oci: dict[str, Any] | None = None
    original: dict[str, Any] | None = None
    if args["oci"] is not None:
        with open(args["oci"], encoding="utf-8") as fh:
            oci = json.load(fh)
        original = copy.deepcopy(oci)

    error: str | None = None
    unresolved: list[str] = []
    try:
        registry.inject_devices(oci, args["devices"])
    except NilOCISpecError as err:
        error, unresolved = str(err), err.unresolved
    except UnresolvableDevicesError as err:
        error, unresolved = str(err), err.names
    except CDIError as err:
        error = str(err)

    error_diff("error", expected["error"], error, problems)
    diff("unresolved", expected["unresolved"], unresolved, problems)
    diff("panic", expected["panic"], None, problems)
    if oci is None:
        diff("oci", expected["oci"], None, problems)
    elif error is not None and unresolved == [] and _policy.TRANSACTIONAL_INJECTION:
        # Rule 2: a failed injection leaves the caller's document exactly as it was.
        diff("oci (rule 2: untouched after a failed injection)", original, oci, problems)
    else:
        diff("oci", expected["oci"], go_canonical(oci), problems)
    return problems
