"""validate_spec's one-pass check of the common case gives the per-item check's verdict."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdikit.errors import CDIError
from cdikit.spec.types import ContainerEdits, DeviceNode, Hook, IntelRdt, Mount, NetDevice, Spec
from cdikit.validation import rules
from tests.spec.strategies import valid_specs


def _edits(spec: Spec, index: int) -> ContainerEdits:
    devices = spec.devices or []
    if index < len(devices):
        if devices[index].container_edits is None:
            devices[index].container_edits = ContainerEdits()
        return devices[index].container_edits  # type: ignore[return-value]
    if spec.container_edits is None:
        spec.container_edits = ContainerEdits()
    return spec.container_edits


def _append(edits: ContainerEdits, field: str, item: object) -> None:
    setattr(edits, field, [*(getattr(edits, field) or []), item])


# One way to break (or nearly break) a valid spec each: what the full check reports.
_BREAKERS = {
    "none": lambda spec, e: None,
    "node-empty-path": lambda spec, e: _append(e, "device_nodes", DeviceNode(path="")),
    "node-bad-type": lambda spec, e: _append(e, "device_nodes", DeviceNode(path="/d", type="x")),
    "node-bad-permissions": lambda spec, e: _append(
        e, "device_nodes", DeviceNode(path="/d", permissions="rx")
    ),
    "hook-bad-name": lambda spec, e: _append(e, "hooks", Hook(hook_name="start", path="/h")),
    "hook-empty-path": lambda spec, e: _append(e, "hooks", Hook(hook_name="prestart")),
    "hook-bad-env": lambda spec, e: _append(e, "hooks", Hook(hook_name="prestart", path="/h", env=["X"])),
    "bad-env": lambda spec, e: _append(e, "env", "=x"),
    "env-no-equals": lambda spec, e: _append(e, "env", "X"),
    "mount-empty-host": lambda spec, e: _append(e, "mounts", Mount(container_path="/c")),
    "mount-empty-container": lambda spec, e: _append(e, "mounts", Mount(host_path="/h")),
    "rdt-bad": lambda spec, e: setattr(e, "intel_rdt", IntelRdt(clos_id="a/b")),
    "rdt-fine": lambda spec, e: setattr(e, "intel_rdt", IntelRdt(clos_id="c1")),
    "net-dup": lambda spec, e: setattr(e, "net_devices", [NetDevice("a", "x"), NetDevice("a", "y")]),
    "net-fine": lambda spec, e: setattr(e, "net_devices", [NetDevice("a", "x")]),
    "dup-device": lambda spec, e: spec.devices and spec.devices.append(copy.deepcopy(spec.devices[-1])),
    "bad-device-name": lambda spec, e: spec.devices and setattr(spec.devices[0], "name", "-x"),
    "one-char-name": lambda spec, e: spec.devices and setattr(spec.devices[0], "name", "a"),
    "empty-device-edits": lambda spec, e: (
        spec.devices and setattr(spec.devices[0], "container_edits", ContainerEdits())
    ),
    "no-device-edits": lambda spec, e: spec.devices and setattr(spec.devices[0], "container_edits", None),
    "no-devices": lambda spec, e: setattr(spec, "devices", []),
}


def _verdict(spec: Spec) -> str | None:
    try:
        rules.validate_spec(spec, path="p")
    except CDIError as err:
        return f"{type(err).__name__}: {err} [{err.device} {err.field}]"
    return None


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs(), st.lists(st.sampled_from(sorted(_BREAKERS)), max_size=3), st.integers(0, 4))
def test_one_pass_check_gives_the_full_checks_verdict(spec: Spec, breakers: list[str], where: int) -> None:
    spec.cdi_version = "1.1.0"
    for name in breakers:
        _BREAKERS[name](spec, _edits(spec, where))
    fast = _verdict(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rules, "_spec_looks_valid", lambda spec: False)
        full = _verdict(spec)
    assert fast == full


def test_a_realistic_spec_takes_the_one_pass_check() -> None:
    from bench._shapes import nvidia_like_spec

    spec = nvidia_like_spec(1, 8, node_type="c")
    assert rules._spec_looks_valid(spec)
    rules.validate_spec(spec)
