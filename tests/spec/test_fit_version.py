"""``fit_version``: meet an older cdiVersion by dropping additionalGids only."""

from __future__ import annotations

import re

import pytest

from cdikit.errors import VersionError
from cdikit.spec.types import ContainerEdits, Device, DeviceNode, IntelRdt, Spec
from cdikit.spec.version import fit_version, minimum_version, validate_version


def _spec(*, spec_gids: list[int] | None = None, dev_gids: list[int] | None = None, **extra: object) -> Spec:
    node = DeviceNode(path="/dev/x", host_path="/dev/null")  # hostPath: 0.5.0
    device = Device(name="a", container_edits=ContainerEdits(device_nodes=[node], additional_gids=dev_gids))
    return Spec(
        cdi_version="0.7.0",
        kind="vendor.com/cls",
        devices=[device],
        container_edits=ContainerEdits(env=["X=1"], additional_gids=spec_gids),
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("spec", "target", "dropped", "error"),
    [
        (_spec(dev_gids=[44]), "0.5.0", ["device a: dropped additionalGids [44]"], None),
        (_spec(spec_gids=[44, 109], dev_gids=[44]), "0.5.0",
         ["spec: dropped additionalGids [44, 109]", "device a: dropped additionalGids [44]"], None),
        (_spec(dev_gids=[44]), "0.7.0", [], None),  # 0.7.0 has them: nothing dropped
        (_spec(), "0.5.0", [], None),
        (_spec(dev_gids=[44]), "0.4.0", [], "needs cdiVersion 0.5.0"),  # hostPath cannot go
        (_spec(dev_gids=[44], annotations={"a": "b"}), "0.5.0", [], "needs cdiVersion 0.6.0"),
        (_spec(), "0.9.9", [], "invalid version"),
    ],
)  # fmt: skip
def test_fit_version(spec: Spec, target: str, dropped: list[str], error: str | None) -> None:
    if error is not None:
        with pytest.raises(VersionError, match=re.escape(error)):
            fit_version(spec, target)
        return
    messages = fit_version(spec, target)
    assert [m.split(" (")[0] for m in messages] == dropped
    assert all("--group-add" in m for m in messages)
    assert spec.cdi_version == target
    validate_version(spec)
    assert minimum_version(spec) <= target


def test_intel_rdt_is_never_dropped() -> None:
    spec = _spec()
    assert spec.container_edits is not None
    spec.container_edits.intel_rdt = IntelRdt(clos_id="x")
    with pytest.raises(VersionError, match=r"0\.7\.0"):
        fit_version(spec, "0.5.0")
