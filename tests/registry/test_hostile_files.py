"""What a spec directory holds must never hang ``cdi lint`` (issue 13).

tests/registry/test_registry.py covers the registry's side of FIFOs, device links and
oversized files; this covers lint on the same entries. Real FIFOs and device links.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from cdikit.lint import lint_spec_dirs
from tests.registry.conftest import spec_json, write


def _bounded(fn: Callable[[], object], seconds: float = 30.0) -> object:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) when it does not finish."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # re-raised below, in the test's thread
            box["error"] = err

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s (blocked on a FIFO or an endless file?)"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def _hostile_dir(tmp_path: Path) -> Path:
    d = tmp_path / "cdi"
    write(d / "good.json", spec_json("vendor.com/gpu", ["good"]))
    os.mkfifo(d / "fifo.json")
    (d / "zero.yaml").symlink_to("/dev/zero")
    (d / "null.yaml").symlink_to("/dev/null")
    return d


def test_lint_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    d = _hostile_dir(tmp_path)
    findings = _bounded(lambda: lint_spec_dirs([str(d)]))
    assert isinstance(findings, list)
    assert any(str(d / "fifo.json") in str(f) for f in findings)
