"""``cdi-runtime create`` changes only what it injects in config.json, and hardens injected hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdikit._rawjson import loads

SHIM = [sys.executable, "-c", "import sys; from cdikit.integrations.runtime import main; sys.exit(main())"]
SPEC = {
    "cdiVersion": "0.6.0",
    "kind": "vendor.com/dev",
    "devices": [{"name": "a", "containerEdits": {"env": ["INJECTED=1"]}}],
    "containerEdits": {
        "hooks": [
            {"hookName": "createContainer", "path": "/usr/bin/cdi-hook", "args": ["cdi-hook", "noop"]},
            {"hookName": "createContainer", "path": "/x", "env": ["A=1"], "timeout": 5},
        ]
    },
}


def _create(tmp_path: Path, fake: Path, config_text: str) -> tuple[subprocess.CompletedProcess[str], str]:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(config_text, encoding="utf-8")
    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    (spec_dir / "dev.json").write_text(json.dumps(SPEC), encoding="utf-8")
    config = tmp_path / "rt.toml"
    # The bundles ask through their env (CDI_DEVICES) and are not privileged: accept that here.
    config.write_text(
        f'runtime = "{fake}"\nspec-dirs = ["{spec_dir}"]\naccept-env-requests-when-unprivileged = true\n',
        encoding="utf-8",
    )
    env = {**os.environ, "CDIKIT_RUNTIME_CONFIG": str(config), "CDIKIT_CACHE_DIR": "off"}
    done = subprocess.run(
        [*SHIM, "create", "--bundle", str(bundle), "c1"], capture_output=True, text=True, env=env, timeout=60
    )
    return done, (bundle / "config.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "extra",
    [
        '"x-vendor": {"ratio": 1e999, "tiny": 2.5e-400, "big": 18446744073709551617, "f": 1.10, "z": -0}',
        '"x-vendor": [1E+2, 0.1000000000000000055511151231257827, "\\u00e9\\ud800"]',
        '"annotations": {"k": "v"}, "x-last": 1e999',
    ],
)
def test_only_injected_members_change(tmp_path: Path, fake_runtime: tuple[Path, Path], extra: str) -> None:
    fake, _ = fake_runtime
    original = (
        '{"ociVersion": "1.0.2", ' + extra + ', "process": {"env": ["CDI_DEVICES=vendor.com/dev=a"], '
        '"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]}, "root": {"path": "rootfs"}}'
    )
    done, written = _create(tmp_path, fake, original)
    assert done.returncode == 7, done.stderr
    assert "Infinity" not in written
    before = json.loads(original, parse_float=str, parse_int=str, parse_constant=str)
    after = json.loads(written, parse_float=str, parse_int=str, parse_constant=str)
    assert list(after) == [*before, "hooks"]  # key order kept, the injected hooks appended
    for key in before:
        if key not in ("process", "hooks"):
            assert after[key] == before[key], key
    assert after["process"]["rlimits"] == before["process"]["rlimits"]
    assert after["process"]["env"] == ["CDI_DEVICES=vendor.com/dev=a", "INJECTED=1"]


def test_injected_hooks_get_an_env_and_a_timeout(tmp_path: Path, fake_runtime: tuple[Path, Path]) -> None:
    fake, _ = fake_runtime
    original = json.dumps(
        {
            "ociVersion": "1.0.2",
            "process": {"env": ["CDI_DEVICES=vendor.com/dev=a", "LD_PRELOAD=/evil.so", "PYTHONPATH=/evil"]},
            "root": {"path": "rootfs"},
            "hooks": {"createContainer": [{"path": "/engine-hook"}]},  # the engine's own: left alone
        }
    )
    done, written = _create(tmp_path, fake, original)
    assert done.returncode == 7, done.stderr
    hooks: list[dict[str, Any]] = loads(written)["hooks"]["createContainer"]
    assert hooks[0] == {"path": "/engine-hook"}
    assert hooks[1]["env"] == ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
    assert hooks[1]["timeout"] == 30
    assert hooks[2]["env"] == ["A=1"] and hooks[2]["timeout"] == 5  # the spec's own values win


def test_absurd_nesting_is_a_clear_error(tmp_path: Path, fake_runtime: tuple[Path, Path]) -> None:
    fake, record = fake_runtime
    deep = (
        '{"process": {"env": ["CDI_DEVICES=vendor.com/dev=a"]}, "x": ' + "[" * 200_000 + "]" * 200_000 + "}"
    )
    done, written = _create(tmp_path, fake, deep)
    assert done.returncode != 0
    assert "is not valid JSON" in done.stderr and "Traceback" not in done.stderr
    assert written == deep  # untouched
    assert not record.exists()  # and the runtime never started
