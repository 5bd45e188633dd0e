"""``cdi validate [FILE...]``: every spec file with its errors; exit 1 when any is invalid."""

from __future__ import annotations

import argparse
import os
import re
from typing import TYPE_CHECKING, Any

from cdikit.cli._common import EXIT_FAILURE, EXIT_OK, load_schema, open_registry, output_format
from cdikit.cli._output import Progress, emit

if TYPE_CHECKING:
    from cdikit.registry import Registry

__all__ = ["cmd_validate", "explain_conflict"]

# The reference's text: conflicting device "Q" (specs "A", "B")
_CONFLICT_RE = re.compile(r'conflicting device "(?P<device>[^"]*)" \(specs "(?P<a>[^"]*)", "(?P<b>[^"]*)"\)')


def _minimum_version_of_file(path: str) -> str | None:
    """The version the file's content needs, when it decodes at all."""
    from cdikit.errors import CDIError
    from cdikit.spec import minimum_version, parse_spec
    from cdikit.specfile import read_spec_bytes

    try:
        spec = parse_spec(read_spec_bytes(path), path=path)
    except (OSError, CDIError):
        return None
    return minimum_version(spec) if spec is not None else None


def explain_conflict(message: str, priorities: dict[str, int], spec_dirs: list[str]) -> dict[str, Any] | None:
    """Structured facts behind a conflict error: the device, both files, their priority."""
    found = _CONFLICT_RE.search(message)
    if found is None:
        return None
    files = []
    for path in (found["a"], found["b"]):
        priority = priorities.get(path)
        files.append(
            {
                "path": path,
                "priority": priority,
                "specDir": spec_dirs[priority]
                if priority is not None and priority < len(spec_dirs)
                else None,
            }
        )
    first = files[0]["priority"]
    return {
        "device": found["device"],
        "files": files,
        "explanation": (
            f"both files define {found['device']} at the same priority ({first}); consumers drop a "
            "device defined twice at one priority, even when a higher-priority dir also defines it. "
            "Fix: remove it from one file, or move one file to a higher-priority spec dir."
        ),
    }


def _registry_results(registry: Registry) -> list[dict[str, Any]]:
    from cdikit.spec import minimum_version

    errors = registry.get_errors()
    loaded = {spec.path: spec for spec in registry.specs()}
    priorities = {path: spec.priority for path, spec in loaded.items()}
    results = []
    for path in sorted(set(loaded) | set(errors)):
        spec = loaded.get(path)
        messages = list(errors.get(path, []))
        conflicts = [c for c in (explain_conflict(m, priorities, registry.spec_dirs) for m in messages) if c]
        result: dict[str, Any] = {
            "path": path,
            "valid": not messages,
            "errors": messages,
            "minimumVersion": minimum_version(spec.spec) if spec else _minimum_version_of_file(path),
            "cdiVersion": spec.spec.cdi_version if spec else None,
            "priority": spec.priority if spec else _dir_priority(path, registry.spec_dirs),
        }
        if conflicts:
            result["conflicts"] = conflicts
        results.append(result)
    for directory, message in sorted(registry.get_spec_dir_errors().items()):
        results.append(
            {
                "path": directory,
                "valid": False,
                "errors": [message],
                "minimumVersion": None,
                "cdiVersion": None,
                "priority": registry.spec_dirs.index(directory) if directory in registry.spec_dirs else None,
            }
        )
    return results


def _dir_priority(path: str, spec_dirs: list[str]) -> int | None:
    """Priority of the spec dir holding ``path`` (the highest when a dir is listed twice)."""
    parent = os.path.normpath(os.path.dirname(path))
    found = None
    for priority, directory in enumerate(spec_dirs):
        if os.path.normpath(directory) in (parent, os.path.normpath(path)):
            found = priority
    return found


def _file_results(files: list[str], schema: Any) -> list[dict[str, Any]]:
    from cdikit.errors import CDIError
    from cdikit.spec import minimum_version
    from cdikit.specfile import read_spec

    results = []
    with Progress("validating", len(files)) as progress:
        for path in files:
            progress.step(path)
            result: dict[str, Any] = {"path": path}
            try:
                spec_file = read_spec(path, schema=schema)
            except CDIError as err:
                result.update(valid=False, errors=[str(err)], minimumVersion=_minimum_version_of_file(path))
                result["cdiVersion"] = None
                result["details"] = [_detail(err)]
            except OSError as err:
                result.update(valid=False, errors=[f"{path}: {err.strerror or err}"], minimumVersion=None)
                result["cdiVersion"] = None
            else:
                result.update(
                    valid=True,
                    errors=[],
                    minimumVersion=minimum_version(spec_file.spec),
                    cdiVersion=spec_file.spec.cdi_version,
                )
            results.append(result)
    return results


def _detail(err: Any) -> dict[str, Any]:
    return {
        key: value
        for key, value in (
            ("message", str(err)),
            ("device", err.device),
            ("field", err.field),
            ("line", getattr(err, "line", None)),
            ("column", getattr(err, "column", None)),
        )
        if value is not None
    }


def _text(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        if r["valid"]:
            need = (
                f" (cdiVersion {r['cdiVersion']}, content needs {r['minimumVersion']})"
                if r.get("cdiVersion")
                else ""
            )
            lines.append(f"ok       {r['path']}{need}")
            continue
        lines.append(f"invalid  {r['path']}")
        for message in r["errors"]:
            lines.append(f"    {message}")
        for detail in r.get("details", []):
            where = ", ".join(
                f"{k} {detail[k]}" for k in ("device", "field", "line", "column") if k in detail
            )
            if where:
                lines.append(f"    at {where}")
        conflicts = r.get("conflicts", [])
        for conflict in conflicts:
            a, b = conflict["files"]
            lines.append(
                f"    -> {conflict['device']}: {a['path']} (priority {a['priority']}) and "
                f"{b['path']} (priority {b['priority']}), spec dir {a['specDir']}"
            )
        if conflicts:
            lines.append(
                "    a device defined twice at one priority is dropped by every consumer. Fix: remove it "
                "from one file, or move one file to a higher-priority spec dir."
            )
    invalid = sum(1 for r in results if not r["valid"])
    if not results:
        lines.append("no spec files found")
    else:
        lines.append(f"{len(results)} spec file(s), {invalid} invalid")
    return "\n".join(lines) + "\n"


def cmd_validate(args: argparse.Namespace) -> int:
    if args.files:
        results = _file_results(list(args.files), load_schema(args, "builtin"))
    else:
        results = _registry_results(open_registry(args, schema_default="builtin"))
    emit(results, output_format(args), _text(results))
    return EXIT_OK if all(r["valid"] for r in results) else EXIT_FAILURE
