"""The fast launcher in front of a real runc: the same devices reach the container, cold and warm."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cdikit.integrations.runtime._launcher import install_launcher
from tests.e2e._support import (
    ENV_REQUESTS,
    EXTRA_DEVICES,
    Bundle,
    run_runtime,
    write_runtime_config,
    write_spec,
)

pytestmark = pytest.mark.e2e


def test_launcher_injects_cold_then_from_edit_cache(
    rootfs_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CDIKIT_CACHE_DIR", str(cache))
    spec_dir = tmp_path / "cdi"
    fuse = EXTRA_DEVICES[0]
    write_spec(spec_dir, "e.json", {
        "cdiVersion": "0.5.0", "kind": "example.com/fast", "containerEdits": {"env": ["FAST_COMMON=1"]},
        "devices": [{"name": "d0", "containerEdits": {"env": ["FAST=d0"],
                     "deviceNodes": [{"path": "/dev/fast-fuse", "hostPath": fuse}]}}],
    })  # fmt: skip
    config = write_runtime_config(
        tmp_path / "runtime.toml", spec_dir, **{"log-level": "debug"}, **ENV_REQUESTS
    )
    launcher = install_launcher(str(tmp_path / "bin" / "cdi-runtime-fast"))
    # Spec stamps younger than the racy window are never cached: let the file age once.
    time.sleep(2.1)
    results = []
    for attempt in ("cold", "warm"):
        bundle = Bundle(tmp_path / attempt, rootfs_template)
        try:
            # Opening the node needs the injected cgroup rule (fuse is outside runc's defaults).
            bundle.set_script(
                'test "$FAST" = d0 -a "$FAST_COMMON" = 1 && test -c /dev/fast-fuse && : < /dev/fast-fuse && echo ok',
                env=["CDI_DEVICES=example.com/fast=d0"],
            )
            done = run_runtime([launcher], bundle, config=config)
            results.append((done.returncode, done.stdout.strip(), bundle.config["linux"]["devices"]))
        finally:
            bundle.cleanup()
    assert results[0][0] == 0 and results[0][1].endswith("ok"), results
    assert results[1] == results[0]
    log = config.with_suffix(".log").read_text(encoding="utf-8")
    assert log.count("from the edit cache") == 1  # the warm start skipped the registry
    assert list(cache.glob("runtime-edits-*.marshal"))
    assert os.stat(cache).st_mode & 0o777 == 0o700
