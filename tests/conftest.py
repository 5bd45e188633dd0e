"""Suite-wide settings: hypothesis never fails on timing (tests never assert wall-clock time)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "cdikit", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("cdikit")
