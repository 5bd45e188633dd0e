"""Validation of CDI specs: the reference's semantic rules and JSON-schema checks."""

from __future__ import annotations

from cdikit.validation.rules import VALID_HOOK_NAMES, validate_edits, validate_spec

__all__ = ["VALID_HOOK_NAMES", "validate_edits", "validate_spec"]
