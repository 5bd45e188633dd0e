"""Suite-wide settings: hypothesis never fails on timing (tests never assert wall-clock time)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "cdikit", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
# CI explores the same examples every run (a red CI must be reproducible); developers'
# runs keep drawing new ones.
settings.register_profile("ci", parent=settings.get_profile("cdikit"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "cdikit")


@pytest.fixture(autouse=True)
def _private_spec_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the registry's cross-process parse cache out of /var/cache and ~/.cache during tests."""
    monkeypatch.setenv("CDIKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cdikit-cache")))
