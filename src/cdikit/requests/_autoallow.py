"""BuildKit's auto-allow annotation and Go's ``strconv.ParseBool``, importable at no cost.

``cdi devices`` shows for each device whether a build may use it without
``--allow``; its lean path (:mod:`cdikit.cli._lean`) must not pay for the
policy module's imports to tell.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the lean listing path imports this module
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["AUTO_ALLOW_ANNOTATION", "go_parse_bool", "is_auto_allow_value"]

AUTO_ALLOW_ANNOTATION = "org.mobyproject.buildkit.device.autoallow"
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def go_parse_bool(value: str) -> bool:
    """Go's ``strconv.ParseBool``; raises ``ValueError`` on anything else."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"invalid boolean {value!r}")


def is_auto_allow_value(annotations: Mapping[str, str] | None) -> bool:
    """Whether ``annotations`` carry the auto-allow annotation with a true value."""
    if not annotations:
        return False
    value = annotations.get(AUTO_ALLOW_ANNOTATION)
    if value is None:
        return False
    try:
        return go_parse_bool(value)
    except ValueError:
        return False
