"""``cdi lint`` through a real process: each finding, its severity and fix, and the exit status."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli._helpers import GPU_SPEC, dirs_args, run_cdi, write


def _lint(*dirs: Path) -> tuple[int, list[dict[str, Any]]]:
    result = run_cdi(*dirs_args(*dirs), "lint", "-o", "json")
    assert "Traceback" not in result.err
    return result.rc, json.loads(result.out)


def _codes(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in findings}


def test_clean_dir_has_no_findings(spec_dir: Path) -> None:
    rc, findings = _lint(spec_dir)
    assert (rc, findings) == (0, [])
    text = run_cdi(*dirs_args(spec_dir), "lint")
    assert text.out.strip() == "no findings"


@pytest.mark.parametrize(
    ("name", "content", "code", "severity", "fix_part"),
    [
        ("gpu.yml", GPU_SPEC, "ignored-yml", "warning", "gpu.yaml"),
        ("gpu.JSON", '{"cdiVersion": "0.3.0"}', "ignored-extension", "warning", "gpu.json"),
        ("gpu", GPU_SPEC, "ignored-extension", "warning", "gpu.yaml"),
        ("gpu.yaml~", "x", "ignored-file", "info", "rm "),
        ("README", "hello", "ignored-file", "info", "rm "),
    ],
)
def test_ignored_files(
    spec_dir: Path, name: str, content: str, code: str, severity: str, fix_part: str
) -> None:
    write(spec_dir / name, content)
    rc, findings = _lint(spec_dir)
    finding = _codes(findings)[code]
    assert finding["severity"] == severity
    assert finding["path"] == str(spec_dir / name)
    assert fix_part in finding["fix"]
    assert rc == (1 if severity != "info" else 0)


def test_subdirectory_with_specs_is_a_warning(spec_dir: Path) -> None:
    write(spec_dir / "nested" / "x.yaml", GPU_SPEC)
    rc, findings = _lint(spec_dir)
    assert rc == 1
    assert _codes(findings)["ignored-subdirectory"]["severity"] == "warning"


def test_symlinked_spec_dir(spec_dir: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(spec_dir)
    rc, findings = _lint(link)
    assert rc == 1
    assert str(spec_dir) in _codes(findings)["symlinked-spec-dir"]["fix"]


def test_single_char_vendor_is_an_error(spec_dir: Path) -> None:
    write(spec_dir / "short.yaml", GPU_SPEC.replace("vendor.com/gpu", "v/gpu"))
    rc, findings = _lint(spec_dir)
    assert rc == 1
    finding = _codes(findings)["single-char-name"]
    assert finding["severity"] == "error"
    assert "panic" in finding["message"]


def test_version_newer_than_needed(spec_dir: Path) -> None:
    write(spec_dir / "new.yaml", GPU_SPEC.replace("0.5.0", "1.0.0").replace("vendor.com", "new.com"))
    rc, findings = _lint(spec_dir)
    finding = _codes(findings)["version-too-new"]
    assert finding["severity"] == "warning"
    assert 'cdiVersion: "0.3.0"' in finding["fix"]
    assert rc == 1


def test_version_needed_by_content_is_fine(spec_dir: Path) -> None:
    spec = "cdiVersion: 0.6.0\nkind: ann.com/x\nannotations: {a: b}\ndevices: [{name: d, containerEdits: {env: [A=1]}}]\n"
    write(spec_dir / "ann.yaml", spec)
    _, findings = _lint(spec_dir)
    assert "version-too-new" not in _codes(findings)


def test_conflict_is_reported_once(spec_dir: Path) -> None:
    write(spec_dir / "copy.yaml", GPU_SPEC)
    rc, findings = _lint(spec_dir)
    conflicts = [f for f in findings if f["code"] == "conflict"]
    assert rc == 1
    assert len(conflicts) == 2  # gpu0 and gpu1, each once


def test_invalid_spec(spec_dir: Path) -> None:
    write(spec_dir / "bad.json", "{oops")
    _, findings = _lint(spec_dir)
    assert _codes(findings)["invalid-spec"]["path"] == str(spec_dir / "bad.json")


@pytest.mark.parametrize(
    ("edits", "code"),
    [
        ('{"deviceNodes": [{"path": "/dev/cdi-test-nothing"}]}', "missing-host-device"),
        ('{"deviceNodes": [{"path": "/etc/passwd"}]}', "not-a-device"),
        ('{"mounts": [{"hostPath": "/cdi-test-missing", "containerPath": "/x"}]}', "missing-mount-source"),
        ('{"hooks": [{"hookName": "createContainer", "path": "/cdi-test-missing-hook"}]}', "missing-hook"),
        ('{"hooks": [{"hookName": "createContainer", "path": "/etc/passwd"}]}', "hook-not-executable"),
        ('{"hooks": [{"hookName": "createContainer", "path": "rel/hook"}]}', "relative-hook-path"),
    ],
)
def test_host_paths(tmp_path: Path, edits: str, code: str) -> None:
    d = tmp_path / "cdi"
    write(
        d / "h.json",
        f'{{"cdiVersion": "0.5.0", "kind": "host.com/xx", "devices": [{{"name": "d", "containerEdits": {edits}}}]}}',
    )
    os.chmod(d, 0o755)
    rc, findings = _lint(d)
    finding = _codes(findings)[code]
    assert finding["device"] == "host.com/xx=d"
    assert rc == 1


def test_minimal_device_node_may_be_missing(tmp_path: Path) -> None:
    d = tmp_path / "cdi"
    node = '{"path": "/dev/cdi-test-nothing", "type": "c", "major": 10, "minor": 1}'
    write(
        d / "h.json",
        f'{{"cdiVersion": "0.5.0", "kind": "host.com/xx", "devices": [{{"name": "d", "containerEdits": {{"deviceNodes": [{node}]}}}}]}}',
    )
    os.chmod(d, 0o755)
    rc, findings = _lint(d)
    assert (rc, findings) == (0, [])


@pytest.mark.parametrize(
    ("target", "mode", "code", "severity"),
    [("dir", 0o777, "world-writable", "error"), ("file", 0o666, "world-writable", "error")],
)
def test_writable_by_non_root(spec_dir: Path, target: str, mode: int, code: str, severity: str) -> None:
    path = spec_dir if target == "dir" else spec_dir / "vendor-gpu.yaml"
    os.chmod(path, mode)
    rc, findings = _lint(spec_dir)
    matching = [f for f in findings if f["code"] == code and f["path"] == str(path)]
    assert matching and matching[0]["severity"] == severity
    assert "chmod go-w" in matching[0]["fix"]
    assert rc == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_owned_by_another_user(spec_dir: Path) -> None:
    os.chown(spec_dir / "vendor-gpu.yaml", 1234, 1234)
    rc, findings = _lint(spec_dir)
    assert _codes(findings)["not-root-owned"]["path"] == str(spec_dir / "vendor-gpu.yaml")
    assert rc == 1


def test_min_severity_filters_output_not_status(spec_dir: Path) -> None:
    write(spec_dir / "README", "hello")
    write(spec_dir / "x.yml", GPU_SPEC)
    result = run_cdi(*dirs_args(spec_dir), "lint", "--min-severity", "warning", "-o", "json")
    codes = [f["code"] for f in json.loads(result.out)]
    assert codes == ["ignored-yml"]
    assert result.rc == 1


def test_missing_dir_is_info(tmp_path: Path) -> None:
    rc, findings = _lint(tmp_path / "absent")
    assert rc == 0
    assert findings[0]["code"] == "missing-spec-dir"


def _hook_script(path: Path, shebang: str) -> str:
    path.write_text(f"{shebang}\nprint('hook')\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("env", "timeout", "shebang", "expected"),
    [
        ('["PATH=/usr/bin:/bin"]', "30", "#!/bin/sh", {}),
        (None, "30", "#!/bin/sh", {"hook-without-env": "error"}),
        ("[]", "30", "#!/bin/sh", {"hook-without-env": "error"}),
        ('["PATH=/bin"]', None, "#!/bin/sh", {"hook-without-timeout": "warning"}),
        ('["PATH=/bin"]', "5", "#!/usr/bin/python3", {"hook-not-isolated": "warning"}),
        ('["PATH=/bin"]', "5", "#!/usr/bin/env python3", {"hook-not-isolated": "warning"}),
        ('["PATH=/bin"]', "5", "#!/usr/bin/python3 -IS", {}),  # cdi-hook --install-launcher
        ('["PATH=/bin"]', "5", "#!/usr/bin/python3 -I", {}),
        (None, None, "#!/usr/bin/python3 -u", {"hook-without-env": "error", "hook-without-timeout": "warning",
                                              "hook-not-isolated": "warning"}),
    ],
)  # fmt: skip
def test_hook_security_findings(
    tmp_path: Path, env: str | None, timeout: str | None, shebang: str, expected: dict[str, str]
) -> None:
    hook: dict[str, Any] = {"hookName": "createContainer", "path": _hook_script(tmp_path / "hook", shebang)}
    if env is not None:
        hook["env"] = json.loads(env)
    if timeout is not None:
        hook["timeout"] = int(timeout)
    d = tmp_path / "cdi"
    edits = {"hooks": [hook]}
    write(d / "h.json", json.dumps(
        {"cdiVersion": "0.5.0", "kind": "host.com/xx", "devices": [{"name": "d", "containerEdits": edits}]}
    ))  # fmt: skip
    os.chmod(d, 0o755)
    rc, findings = _lint(d)
    assert {f["code"]: f["severity"] for f in findings} == expected
    for finding in findings:
        assert finding["device"] == "host.com/xx=d"
    assert rc == (1 if expected else 0)  # warnings fail lint too
    if "hook-without-env" in expected:
        assert "security" in _codes(findings)["hook-without-env"]["message"]
