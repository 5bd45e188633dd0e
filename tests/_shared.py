"""The one way tests find the shared ground truth (``shared/``: conformance cases, research captures).

``$CDIKIT_SHARED`` names it; otherwise the first ``shared/`` holding
``conformance/FORMAT.md`` beside the checkout or in any folder above it (so
``/work/main`` and a worktree ``/work/wt/NAME`` both find ``/work/shared``).
Tests that need it skip with the reason when it is absent; they never fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["SHARED", "needs_shared", "require_shared", "shared_path"]

_REASON = "no shared/ ground-truth folder beside or above the checkout (set CDIKIT_SHARED)"


def _find() -> Path | None:
    env = os.environ.get("CDIKIT_SHARED")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents[1:]:
        candidate = parent / "shared"
        if (candidate / "conformance" / "FORMAT.md").is_file():
            return candidate
    return None


SHARED: Path | None = _find()


def shared_path(*parts: str) -> Path:
    """``shared/<parts>`` (a path that does not exist when the shared folder is absent)."""
    return (SHARED or Path("/nonexistent/shared")).joinpath(*parts)


def require_shared(*parts: str) -> Path:
    """``shared/<parts>``, or skip the calling test saying what is missing."""
    path = shared_path(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: {_REASON}" if SHARED else _REASON)
    return path


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """A ``skipif`` marker for tests that need ``shared/<parts>``."""
    path = shared_path(*parts)
    return pytest.mark.skipif(not path.exists(), reason=f"{path} not found: {_REASON}")
