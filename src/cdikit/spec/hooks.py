"""The OCI hook lists a CDI hook may name (``hookName``): the one home of this list.

In the OCI runtime spec's order, which the canonical OCI encoding follows;
validation, injection and the encoders all read it from here. Imports nothing
(the runtime shim applies cached edits without msgspec or typing).
"""

__all__ = ["HOOK_NAMES"]

HOOK_NAMES: tuple[str, ...] = (
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
)
