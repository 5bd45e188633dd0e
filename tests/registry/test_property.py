"""Property: random valid specs written through the registry load back with the same devices."""

from __future__ import annotations

import string
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from cdikit.registry import Registry
from cdikit.spec import ContainerEdits, Device, DeviceNode, Mount, Spec

_ALNUM = string.ascii_letters + string.digits
_name = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(string.ascii_letters),
    st.text(_ALNUM + "_.-", max_size=8),
    st.sampled_from(_ALNUM),
)
_device_name = st.text(_ALNUM, min_size=1, max_size=10)
_env = st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}=[a-z0-9]{0,5}", fullmatch=True), max_size=3)
_path = st.from_regex(r"/dev/[a-z][a-z0-9]{0,8}", fullmatch=True)
_node = st.builds(
    DeviceNode,
    path=_path,
    type=st.sampled_from(["c", "b"]),
    major=st.integers(1, 255),
    minor=st.integers(0, 255),
    permissions=st.sampled_from(["", "rw", "rwm"]),
)
_mount = st.builds(
    Mount,
    host_path=_path,
    container_path=_path,
    options=st.one_of(st.none(), st.lists(st.sampled_from(["ro", "bind", "nosuid"]), min_size=1, max_size=2)),
)
_edits = st.builds(
    ContainerEdits,
    env=st.one_of(st.none(), _env.filter(bool)),
    device_nodes=st.one_of(st.none(), st.lists(_node, min_size=1, max_size=2)),
    mounts=st.one_of(st.none(), st.lists(_mount, min_size=1, max_size=2)),
    additional_gids=st.one_of(st.none(), st.lists(st.integers(1, 65535), min_size=1, max_size=2)),
).filter(lambda e: not e.is_empty())


@st.composite
def _specs(draw: st.DrawFn) -> Spec:
    names = draw(st.lists(_device_name, min_size=1, max_size=4, unique=True))
    devices = [Device(name=n, container_edits=draw(_edits)) for n in names]
    kind = f"{draw(_name)}/{draw(_name)}"
    return Spec(cdi_version="1.1.0", kind=kind, devices=devices)


@settings(max_examples=60, deadline=None)
@given(spec=_specs(), fmt=st.sampled_from(["json", "yaml"]))
def test_written_specs_load_back(spec: Spec, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry([tmp], auto_refresh=False)
        reg.write_spec(spec, f"spec.{fmt}")
        reg.refresh()
        got = reg.devices()
        assert sorted(got) == sorted(f"{spec.kind}={d.name}" for d in spec.devices or ())
        for device in spec.devices or ():
            assert got[f"{spec.kind}={device.name}"].device == device
