"""AMD, Intel and generic generators on fake sysfs/dev trees (same code path as on a host)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdikit.producers import amd, devices, intel
from cdikit.producers.hostfs import HostFS, ProducerError
from cdikit.producers.watch import watch_and_write
from cdikit.spec import parse_spec
from cdikit.spec.types import Spec
from cdikit.validation.rules import validate_spec
from tests._polling import wait_until
from tests.producers import fakesys

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _names(spec: Spec) -> list[str]:
    return [d.name for d in spec.devices or []]


def _paths(spec: Spec, name: str) -> list[str]:
    device = next(d for d in spec.devices or [] if d.name == name)
    return [n.path for n in device.edits.device_nodes or []]


# --- AMD ---------------------------------------------------------------------------------


@pytest.fixture
def amd_root(tmp_path: Path) -> Path:
    """Two MI-class GPUs (the second listed first in PCI order) and one with two partitions."""
    root = tmp_path / "amd"
    fakesys.amd_gpu(
        root, "0000:03:00.0", card=1, render=128, location_id=0x300, unique_id=0xA1B2C3D4E5, node_index=1
    )
    fakesys.amd_gpu(
        root, "0000:83:00.0", card=2, render=129, location_id=0x8300, unique_id=0xF00D, node_index=2
    )
    fakesys.amd_gpu(
        root,
        "0000:c3:00.0",
        card=3,
        render=130,
        location_id=0xC300,
        unique_id=0xBEEF,
        node_index=3,
        partitions=[(4, 131), (5, 132)],
    )
    return root


def test_amd_spec_layout(amd_root: Path) -> None:
    spec = amd.generate(str(amd_root))
    assert spec.kind == "amd.com/gpu"
    assert _names(spec) == ["0", "1", "2", "3", "4", "0xA1B2C3D4E5", "0xF00D", "0xBEEF", "all"]
    assert _paths(spec, "0") == ["/dev/dri/card1", "/dev/dri/renderD128", "/dev/kfd"]
    # Partitions of one device get consecutive indices after the device itself.
    assert _paths(spec, "3") == ["/dev/dri/card4", "/dev/dri/renderD131", "/dev/kfd"]
    assert _paths(spec, "0xBEEF") == [f"/dev/dri/{n}" for n in ("card3", "renderD130", "card4", "renderD131",
                                                                  "card5", "renderD132")] + ["/dev/kfd"]  # fmt: skip
    assert _paths(spec, "all")[-1] == "/dev/kfd" and len(_paths(spec, "all")) == 11
    validate_spec(spec)
    # The host path is recorded because the fake root is not "/".
    node = (spec.devices or [])[0].edits.device_nodes or []
    assert node[0].host_path == str(amd_root / "dev/dri/card1")


@pytest.mark.skipif(not fakesys.IS_ROOT, reason="device numbers need real device nodes (mknod needs root)")
def test_amd_nodes_carry_stat_details_like_amd_ctk(amd_root: Path) -> None:
    spec = amd.generate(str(amd_root))
    first = ((spec.devices or [])[0].edits.device_nodes or [])[0]
    null = os.stat("/dev/null").st_rdev
    assert (first.type, first.major, first.minor) == ("c", os.major(null), os.minor(null))
    assert (first.file_mode, first.uid, first.gid, first.permissions) == (0o660, 0, 0, "rwm")


def test_amd_cdi_version_is_the_minimum_and_round_trips(amd_root: Path) -> None:
    from cdikit.spec.encode import encode_spec

    spec = amd.generate(str(amd_root))
    # Names starting with a digit need 0.5.0 (amd-ctk writes 0.6.0, which podman 4 cannot load).
    assert spec.cdi_version == "0.5.0"
    data = encode_spec(spec, "json")
    reread = parse_spec(data)
    assert reread is not None and encode_spec(reread, "json") == data


def test_amd_index_names_only(amd_root: Path) -> None:
    assert _names(amd.generate(str(amd_root), uuid_names=False)) == ["0", "1", "2", "3", "4", "all"]


def test_amd_skips_gpus_missing_from_the_topology(tmp_path: Path) -> None:
    root = tmp_path / "r"
    fakesys.amd_gpu(root, "0000:03:00.0", card=1, render=128, location_id=0x300, unique_id=1, node_index=1)
    fakesys.amd_gpu(
        root,
        "0000:04:00.0",
        card=2,
        render=129,
        location_id=0x400,
        unique_id=2,
        node_index=2,
        in_topology=False,
    )
    assert _names(amd.generate(str(root), uuid_names=False)) == ["0", "all"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("nothing", "amdgpu driver unavailable"),
        ("driver-only", "no AMD GPUs found"),
    ],
)
def test_amd_errors(tmp_path: Path, setup: str, message: str) -> None:
    if setup == "driver-only":
        (tmp_path / "sys/module/amdgpu/drivers").mkdir(parents=True)
    with pytest.raises(ProducerError, match=message):
        amd.generate(str(tmp_path))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("all", [0, 1, 2, 3, 4]),
        ("ALL", [0, 1, 2, 3, 4]),
        ("0", [0]),
        ("2,0", [0, 2]),
        ("1-3", [1, 2, 3]),
        ("0xa1b2c3d4e5", [0]),
        ("0XA1B2C3D4E5", [0]),
        ("a1b2c3d4e5", [0]),  # more than 8 hex digits: a unique id without 0x
        ("0xbeef", [2, 3, 4]),  # a device's unique id gives its partitions too
        ("0,0xF00D", [0, 1]),
    ],
)
def test_amd_visible_devices(amd_root: Path, value: str, expected: list[int]) -> None:
    gpus = amd.discover(HostFS(str(amd_root)))
    assert amd.parse_visible_devices(value, gpus) == expected


@pytest.mark.parametrize(
    "value", ["5", "3-9", "2-1", "x", "0x1234", "", "-1", "0,,1", "0-99999999999", "\u00b2"]
)
def test_amd_visible_devices_rejects(amd_root: Path, value: str) -> None:
    gpus = amd.discover(HostFS(str(amd_root)))
    with pytest.raises(ProducerError, match="AMD_VISIBLE_DEVICES: no such AMD GPU"):
        amd.parse_visible_devices(value, gpus)


# --- Intel -------------------------------------------------------------------------------


@pytest.fixture
def intel_root(tmp_path: Path) -> Path:
    root = tmp_path / "intel"
    fakesys.intel_gpu(root, "0000:03:00.0", "0x56c0", driver="i915", card=1, render=129)
    fakesys.intel_gpu(root, "0000:00:02.0", "0x4680", driver="xe", card=0, render=128, bypath=False)
    fakesys.intel_gpu(root, "0000:04:00.0", "0x56c1", driver="i915", card=2, render=None)
    fakesys.gaudi(root, "0000:33:00.0", "0x1020", accel=0, uverbs=0)
    fakesys.gaudi(root, "0000:34:00.0", "0x1020", accel=1)
    return root


def test_intel_gpus(intel_root: Path) -> None:
    spec = intel.generate_gpus(str(intel_root))
    assert spec.kind == "intel.com/gpu"
    assert _names(spec) == ["0000-00-02-0-0x4680", "0000-03-00-0-0x56c0", "0000-04-00-0-0x56c1", "all"]
    assert _paths(spec, "0000-03-00-0-0x56c0") == ["/dev/dri/card1", "/dev/dri/renderD129"]
    assert _paths(spec, "0000-04-00-0-0x56c1") == ["/dev/dri/card2"]  # no render node: card only
    device = next(d for d in spec.devices or [] if d.name == "0000-03-00-0-0x56c0")
    assert [m.container_path for m in device.edits.mounts or []] == [
        "/dev/dri/by-path/pci-0000:03:00.0-card",
        "/dev/dri/by-path/pci-0000:03:00.0-render",
    ]
    validate_spec(spec)


def test_intel_classic_naming(intel_root: Path) -> None:
    assert _names(intel.generate_gpus(str(intel_root), naming="classic")) == [
        "card0",
        "card1",
        "card2",
        "all",
    ]
    assert _names(intel.generate_gaudi(str(intel_root), naming="classic")) == ["accel0", "accel1", "all"]


def test_gaudi(intel_root: Path) -> None:
    spec = intel.generate_gaudi(str(intel_root))
    assert _names(spec) == ["0000-33-00-0-0x1020", "0000-34-00-0-0x1020", "all"]
    assert _paths(spec, "0000-33-00-0-0x1020") == [
        "/dev/accel/accel0",
        "/dev/accel/accel_controlD0",
        "/dev/infiniband/uverbs0",
    ]
    assert _paths(spec, "0000-34-00-0-0x1020") == ["/dev/accel/accel1", "/dev/accel/accel_controlD1"]


@pytest.mark.parametrize(("pci", "device_id", "uid"), [
    ("0000:00:02.0", "0x4680", "0000-00-02-0-0x4680"),
    ("0000:03:00.1", "56c0", "0000-03-00-1-0x56c0"),
])  # fmt: skip
def test_intel_uid(pci: str, device_id: str, uid: str) -> None:
    assert intel.device_uid(pci, device_id) == uid


def test_intel_without_devices(tmp_path: Path) -> None:
    with pytest.raises(ProducerError, match=r"no intel\.com/gpu devices found"):
        intel.generate_gpus(str(tmp_path))


# --- generic devices ---------------------------------------------------------------------


def _devroot(tmp_path: Path, *paths: str) -> Path:
    root = tmp_path / "devs"
    for p in paths:
        fakesys.node(root, p)
    return root


def test_devices_globs_groups_and_templates(tmp_path: Path) -> None:
    root = _devroot(
        tmp_path,
        "/dev/ttyUSB0",
        "/dev/ttyUSB10",
        "/dev/ttyUSB2",
        "/dev/fuse",
        "/dev/vfio/vfio",
        "/dev/vfio/12",
    )
    config = devices.parse_config(
        {
            "kind": "example.com/dev",
            "devices": [
                {
                    "name": "usb{digits}",
                    "match": "/dev/ttyUSB*",
                    "containerEdits": {"env": ["PORT={path}#{index}"]},
                },
                {"name": "fuse", "paths": ["/dev/fuse"]},
                {"name": "vfio{digits}", "match": "/dev/vfio/[0-9]*", "with": ["/dev/vfio/vfio"]},
                {"name": "absent", "paths": ["/dev/nope"]},
            ],
            "containerEdits": {"env": ["COMMON=1"]},
        }
    )
    spec = devices.generate(config, str(root))
    assert _names(spec) == ["usb0", "usb2", "usb10", "fuse", "vfio12", "all"]
    usb10 = next(d for d in spec.devices or [] if d.name == "usb10")
    assert usb10.edits.env == ["PORT=/dev/ttyUSB10#2"]
    assert _paths(spec, "vfio12") == ["/dev/vfio/12", "/dev/vfio/vfio"]
    assert len(_paths(spec, "all")) == 6
    assert spec.edits.env == ["COMMON=1"]


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ([], None, "must be a mapping"),
        ({"kind": "x", "devices": [{"name": "a", "paths": ["/dev/a"]}]}, "kind", "vendor.com/class"),
        ({"kind": "-bad.com/x", "devices": [{"name": "a", "paths": ["/dev/a"]}]}, "kind", "invalid kind"),
        ({"kind": "a.com/xx", "devices": []}, "devices", "non-empty"),
        ({"kind": "a.com/xx", "devices": [{"name": "a"}]}, "devices[0]", "exactly one of match or paths"),
        ({"kind": "a.com/xx", "devices": [{"name": "a", "match": "x*"}]}, "devices[0].match", "absolute"),
        ({"kind": "a.com/xx", "devices": [{"name": "a", "paths": ["rel"]}]}, "devices[0].paths", "absolute"),
        (
            {"kind": "a.com/xx", "devices": [{"name": "a", "paths": ["/a"], "extra": 1}]},
            "devices[0].extra",
            "unknown",
        ),
        ({"kind": "a.com/xx", "bogus": 1, "devices": []}, "bogus", "unknown key"),
        (
            {"kind": "a.com/xx", "all": "yes", "devices": [{"name": "a", "paths": ["/a"]}]},
            "all",
            "true or false",
        ),
    ],
)
def test_devices_config_errors(config: Any, field: str | None, message: str) -> None:
    with pytest.raises(ProducerError, match=message) as info:
        devices.parse_config(config, source="x.yaml")
    assert info.value.field == field
    assert info.value.path == "x.yaml"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "{nope}", "match": "/dev/tty*"}, "unknown template field"),
        ({"name": "{base.__class__}", "match": "/dev/tty*"}, "unknown template field"),
        ({"name": "bad name", "match": "/dev/tty*"}, "device name 'bad name'"),
        ({"name": "same", "match": "/dev/tty*"}, "produced twice"),
    ],
)
def test_devices_generation_errors(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    root = _devroot(tmp_path, "/dev/tty0", "/dev/tty1")
    config = devices.parse_config({"kind": "a.com/xx", "devices": [entry]}, source="c.yaml")
    with pytest.raises(ProducerError, match=message):
        devices.generate(config, str(root))


def test_devices_required_companion(tmp_path: Path) -> None:
    root = _devroot(tmp_path, "/dev/dev0", "/dev/dev1", "/dev/dev0-ctl")
    config = devices.parse_config(
        {
            "kind": "a.com/xx",
            "devices": [{"name": "d{digits}", "match": "/dev/dev[0-9]", "with": ["/dev/{base}-ctl"],
                         "required": ["/dev/dev1-ctl"]}],
        }
    )  # fmt: skip
    # dev1's companion is required and missing: dev1 is not offered; dev0 gets its companion.
    spec = devices.generate(config, str(root))
    assert _names(spec) == ["d0", "all"]
    assert _paths(spec, "d0") == ["/dev/dev0", "/dev/dev0-ctl"]


def test_devices_config_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProducerError, match="invalid YAML") as info:
        devices.load_config(str(bad))
    assert info.value.path == str(bad)
    assert "line" in str(info.value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.sets(st.integers(min_value=0, max_value=300), min_size=1, max_size=12))
def test_devices_one_device_per_match(tmp_path_factory: pytest.TempPathFactory, numbers: set[int]) -> None:
    root = tmp_path_factory.mktemp("prop")
    for n in numbers:
        fakesys.node(root, f"/dev/ttyACM{n}")
    config = devices.parse_config(
        {"kind": "a.com/serial", "devices": [{"name": "acm{digits}", "match": "/dev/ttyACM*"}]}
    )
    spec = devices.generate(config, str(root))
    assert _names(spec) == [f"acm{n}" for n in sorted(numbers)] + ["all"]
    assert sorted(_paths(spec, "all")) == sorted(f"/dev/ttyACM{n}" for n in numbers)
    validate_spec(spec)
    reread = parse_spec(_encode(spec))
    assert reread is not None and _encode(reread) == _encode(spec)


def _encode(spec: Spec) -> bytes:
    from cdikit.spec.encode import encode_spec

    return encode_spec(spec, "json")


# --- hot-plug ----------------------------------------------------------------------------


def test_watch_regenerates_on_hotplug(tmp_path: Path) -> None:
    root = _devroot(tmp_path, "/dev/ttyUSB0")
    config = devices.parse_config(
        {"kind": "a.com/serial", "devices": [{"name": "u{digits}", "match": "/dev/ttyUSB*"}]}
    )
    out = tmp_path / "spec.json"
    stop = threading.Event()
    events: list[tuple[bool, str, Exception | None]] = []
    thread = threading.Thread(
        target=watch_and_write,
        args=(lambda: devices.generate(config, str(root)), str(out), [str(root / "dev")]),
        kwargs={"interval": 0.2, "stop": stop, "on_refresh": lambda *e: events.append(e)},
        daemon=True,
    )
    thread.start()
    try:
        wait_until(lambda: out.exists() and "u0" in out.read_text())
        fakesys.node(root, "/dev/ttyUSB1")
        wait_until(lambda: "u1" in out.read_text())
        os.unlink(root / "dev/ttyUSB0")
        os.unlink(root / "dev/ttyUSB1")
        # Every device gone: generation fails, the last good spec stays and the failure is reported.
        wait_until(lambda: any(e[2] is not None for e in events))
        assert "u1" in out.read_text()
    finally:
        stop.set()
        thread.join(10)
    assert events[0][:2] == (True, "start")
    assert oct(out.stat().st_mode & 0o777) == "0o644"


# --- CLI ---------------------------------------------------------------------------------


def _cdi(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-m", "cdikit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_generate_amd_and_intel(amd_root: Path, intel_root: Path, tmp_path: Path) -> None:
    proc = _cdi("generate", "amd", "--root", str(amd_root), "--format", "JSON")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kind"] == "amd.com/gpu"
    out = tmp_path / "intel.yaml"
    proc = _cdi("generate", "intel", "--root", str(intel_root), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stderr and "intel.com/gpu" in out.read_text()
    proc = _cdi("generate", "gaudi", "--root", str(intel_root), "--naming", "classic")
    assert proc.returncode == 0 and "accel0" in proc.stdout


def test_cli_generate_devices(tmp_path: Path) -> None:
    root = _devroot(tmp_path, "/dev/fuse")
    config = tmp_path / "fuse.json"
    config.write_text(
        json.dumps({"kind": "a.com/fuse", "devices": [{"name": "fuse", "paths": ["/dev/fuse"]}]})
    )
    proc = _cdi("generate", "devices", str(config), "--root", str(root), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [d["name"] for d in json.loads(proc.stdout)["devices"]] == ["fuse", "all"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "amd", "--root", "/nonexistent"], "amdgpu driver unavailable"),
        (["generate", "devices", "/nonexistent.yaml"], "cannot read devices config"),
        (["generate", "amd", "--watch"], "--watch needs --output"),
    ],
)
def test_cli_generate_errors(args: list[str], message: str) -> None:
    proc = _cdi(*args)
    assert proc.returncode in (1, 2)
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
