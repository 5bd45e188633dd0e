"""Waiting in tests for something a background thread or process does."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(cond: Callable[[], object], timeout: float = 15.0) -> None:
    """Poll ``cond`` until it is true; fail the test when ``timeout`` seconds pass first.

    The timeout only bounds a hang: it is generous, and no test asserts how long anything took.
    """
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
