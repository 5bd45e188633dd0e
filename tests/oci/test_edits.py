"""``inject_edits``: one table row per rule of the reference's ``ContainerEdits.Apply``.

Host devices used: /dev/null (c 1:3, 0666) and /dev/zero (c 1:5, 0666), as
on the reference host (FORMAT.md "Host facts"); rows needing them are skipped
elsewhere.
"""

from __future__ import annotations

import copy
import os
import stat
from typing import Any

import pytest

from cdikit.errors import InjectionError
from cdikit.oci import go_canonical, inject_edits
from cdikit.oci.edits import _depth
from cdikit.spec.types import ContainerEdits, DeviceNode, Hook, IntelRdt, Mount, NetDevice

E = ContainerEdits


def _host_has_null_zero() -> bool:
    try:
        null, zero = os.lstat("/dev/null"), os.lstat("/dev/zero")
    except OSError:
        return False
    return all(
        stat.S_ISCHR(s.st_mode) and stat.S_IMODE(s.st_mode) == 0o666 and os.major(s.st_rdev) == 1
        for s in (null, zero)
    ) and (os.minor(null.st_rdev), os.minor(zero.st_rdev)) == (3, 5)


needs_host = pytest.mark.skipif(not _host_has_null_zero(), reason="host /dev/null, /dev/zero differ")

BASE: dict[str, Any] = {
    "ociVersion": "1.2.0",
    "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
    "root": {"path": "rootfs"},
    "linux": {"namespaces": [{"type": "mount"}]},
}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``base`` deep-copied, with top-level keys replaced (``None`` removes the key)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


PROC_1000 = {"user": {"uid": 1000, "gid": 2000}, "args": ["sh"], "cwd": "/"}
NULL_DEV = {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438}
NULL_RULE = {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
FUSE_DEV = {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}


def stale_null(minor: int) -> dict[str, Any]:
    """A /dev/null entry with other numbers than the host's, which injecting /dev/null replaces."""
    return {"path": "/dev/null", "type": "c", "major": 9, "minor": minor}


ZERO_DEV = {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5, "fileMode": 438}
ZERO_RULE = {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"}


def linux(**extra: Any) -> dict[str, Any]:
    return {"namespaces": [{"type": "mount"}], **extra}


def proc(**extra: Any) -> dict[str, Any]:
    return {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/", **extra}


# (id, input OCI, edit sets, expected OCI)
ENV_CASES = [
    (
        "append-new",
        with_(BASE, process=proc(env=["PATH=/bin"])),
        [E(env=["A=1"])],
        with_(BASE, process=proc(env=["PATH=/bin", "A=1"])),
    ),
    (
        "existing-name-value-not-replaced",
        with_(BASE, process=proc(env=["A=0"])),
        [E(env=["A=1"])],
        with_(BASE, process=proc(env=["A=0", "A=1"])),
    ),
    (
        "existing-identical-appended",
        with_(BASE, process=proc(env=["A=1"])),
        [E(env=["A=1"])],
        with_(BASE, process=proc(env=["A=1", "A=1"])),
    ),
    (
        "bare-name-replaced-in-place",
        with_(BASE, process=proc(env=["A", "B=2"])),
        [E(env=["A=1"])],
        with_(BASE, process=proc(env=["A=1", "B=2"])),
    ),
    (
        "last-bare-duplicate-replaced",
        with_(BASE, process=proc(env=["A", "A"])),
        [E(env=["A=1"])],
        with_(BASE, process=proc(env=["A", "A=1"])),
    ),
    (
        "cdi-duplicates-replace-in-place",
        BASE,
        [E(env=["A=1", "B=1"]), E(env=["A=2"])],
        with_(BASE, process=proc(env=["A=2", "B=1"])),
    ),
    ("value-with-equals", BASE, [E(env=["A=b=c"]), E(env=["A=d"])], with_(BASE, process=proc(env=["A=d"]))),
    (
        "no-process-created",
        with_(BASE, process=None),
        [E(env=["A=1"])],
        with_(BASE, process={"user": {"uid": 0, "gid": 0}, "cwd": "", "env": ["A=1"]}),
    ),
    (
        "process-env-null",
        with_(BASE, process=proc(env=None)),
        [E(env=["A=1"])],
        with_(BASE, process=proc(env=["A=1"])),
    ),
    ("empty-env-edit-no-process", with_(BASE, process=None), [E(env=[])], with_(BASE, process=None)),
]

NODE_CASES = [
    (
        "filled-from-host",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/null")])],
        with_(BASE, linux=linux(devices=[NULL_DEV], resources={"devices": [NULL_RULE]})),
    ),
    (
        "no-linux-created",
        with_(BASE, linux=None),
        [E(device_nodes=[DeviceNode(path="/dev/null")])],
        with_(BASE, linux={"devices": [NULL_DEV], "resources": {"devices": [NULL_RULE]}}),
    ),
    (
        "hostpath-differs",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/x", host_path="/dev/zero")])],
        with_(
            BASE, linux=linux(devices=[{**ZERO_DEV, "path": "/dev/x"}], resources={"devices": [ZERO_RULE]})
        ),
    ),
    (
        "permissions-r",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/null", permissions="r")])],
        with_(BASE, linux=linux(devices=[NULL_DEV], resources={"devices": [{**NULL_RULE, "access": "r"}]})),
    ),
    (
        "permissions-none-no-access",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/null", permissions="none")])],
        with_(
            BASE,
            linux=linux(
                devices=[NULL_DEV],
                resources={"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3}]},
            ),
        ),
    ),
    (
        "uid-gid-from-process",
        with_(BASE, process=PROC_1000),
        [E(device_nodes=[DeviceNode(path="/dev/null")])],
        with_(
            BASE,
            process=PROC_1000,
            linux=linux(devices=[{**NULL_DEV, "uid": 1000, "gid": 2000}], resources={"devices": [NULL_RULE]}),
        ),
    ),
    (
        "explicit-zero-kept",
        with_(BASE, process=PROC_1000),
        [E(device_nodes=[DeviceNode(path="/dev/null", uid=0, gid=0, file_mode=0)])],
        with_(
            BASE,
            process=PROC_1000,
            linux=linux(
                devices=[{**NULL_DEV, "fileMode": 0, "uid": 0, "gid": 0}], resources={"devices": [NULL_RULE]}
            ),
        ),
    ),
    (
        "process-created-by-env-uid-0",
        with_(BASE, process=None),
        [E(env=["A=1"], device_nodes=[DeviceNode(path="/dev/null")])],
        with_(
            BASE,
            process={"user": {"uid": 0, "gid": 0}, "cwd": "", "env": ["A=1"]},
            linux=linux(devices=[NULL_DEV], resources={"devices": [NULL_RULE]}),
        ),
    ),
    (
        "replaced-device-moves-to-end",
        with_(BASE, linux=linux(devices=[stale_null(9), FUSE_DEV])),
        [E(device_nodes=[DeviceNode(path="/dev/null")])],
        with_(BASE, linux=linux(devices=[FUSE_DEV, NULL_DEV], resources={"devices": [NULL_RULE]})),
    ),
    (
        "duplicate-existing-second-replaced-in-place",
        with_(BASE, linux=linux(devices=[stale_null(1), FUSE_DEV, stale_null(2)])),
        [E(device_nodes=[DeviceNode(path="/dev/null")])],
        with_(BASE, linux=linux(devices=[FUSE_DEV, NULL_DEV], resources={"devices": [NULL_RULE]})),
    ),
    (
        "same-path-twice-rules-not-deduplicated",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/null")]), E(device_nodes=[DeviceNode(path="/dev/null")])],
        with_(BASE, linux=linux(devices=[NULL_DEV], resources={"devices": [NULL_RULE, NULL_RULE]})),
    ),
    (
        "existing-rules-kept",
        with_(
            BASE,
            linux=linux(resources={"devices": [{"allow": False, "access": "rwm"}], "memory": {"limit": 1}}),
        ),
        [E(device_nodes=[DeviceNode(path="/dev/zero")])],
        with_(
            BASE,
            linux=linux(
                devices=[ZERO_DEV],
                resources={"devices": [{"allow": False, "access": "rwm"}, ZERO_RULE], "memory": {"limit": 1}},
            ),
        ),
    ),
    (
        "fifo-minimal-no-rule",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/cdi-test-nope", type="p")])],
        with_(
            BASE, linux=linux(devices=[{"path": "/dev/cdi-test-nope", "type": "p", "major": 0, "minor": 0}])
        ),
    ),
    (
        "type-u-with-major-no-rule",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/null", type="u", major=7)])],
        with_(
            BASE,
            linux=linux(
                devices=[{"path": "/dev/null", "type": "u", "major": 7, "minor": 0, "fileMode": 438}]
            ),
        ),
    ),
    (
        "minimal-contradicting-host-kept",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/null", type="c", major=42, minor=1)])],
        with_(
            BASE,
            linux=linux(
                devices=[{"path": "/dev/null", "type": "c", "major": 42, "minor": 1, "fileMode": 438}],
                resources={
                    "devices": [{"allow": True, "type": "c", "major": 42, "minor": 1, "access": "rwm"}]
                },
            ),
        ),
    ),
    (
        "major-0-host-minor-overwrites",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/null", type="c", minor=77)])],
        with_(BASE, linux=linux(devices=[NULL_DEV], resources={"devices": [NULL_RULE]})),
    ),
    (
        "minimal-missing-host-no-filemode",
        BASE,
        [E(device_nodes=[DeviceNode(path="/dev/cdi-test-x", type="b", major=8, minor=1)])],
        with_(
            BASE,
            linux=linux(
                devices=[{"path": "/dev/cdi-test-x", "type": "b", "major": 8, "minor": 1}],
                resources={
                    "devices": [{"allow": True, "type": "b", "major": 8, "minor": 1, "access": "rwm"}]
                },
            ),
        ),
    ),
]

NET_CASES = [
    (
        "basic-no-linux",
        with_(BASE, linux=None),
        [E(net_devices=[NetDevice(host_interface_name="eth0", name="ctr0")])],
        with_(BASE, linux={"netDevices": {"eth0": {"name": "ctr0"}}}),
    ),
    (
        "later-overwrites-existing-kept",
        with_(BASE, linux=linux(netDevices={"eth0": {"name": "old"}, "eth9": {"name": "k"}})),
        [
            E(net_devices=[NetDevice(host_interface_name="eth0", name="a")]),
            E(net_devices=[NetDevice(host_interface_name="eth0", name="b")]),
        ],
        with_(BASE, linux=linux(netDevices={"eth0": {"name": "b"}, "eth9": {"name": "k"}})),
    ),
]

MOUNTS_AT = [
    {"destination": "/a/b/c", "source": "x"},
    {"destination": "/data/", "source": "y"},
    {"destination": "/p", "source": "z"},
]
MOUNT_CASES = [
    (
        "simple-no-mounts-key",
        BASE,
        [E(mounts=[Mount(host_path="/h", container_path="/c", options=["ro"], type="bind")])],
        with_(BASE, mounts=[{"destination": "/c", "type": "bind", "source": "/h", "options": ["ro"]}]),
    ),
    (
        "all-mounts-sorted-stably",
        with_(BASE, mounts=MOUNTS_AT),
        [E(mounts=[Mount(host_path="/h", container_path="/q")])],
        with_(BASE, mounts=[MOUNTS_AT[1], MOUNTS_AT[2], {"destination": "/q", "source": "/h"}, MOUNTS_AT[0]]),
    ),
    (
        "exact-destination-replaced",
        with_(BASE, mounts=MOUNTS_AT),
        [E(mounts=[Mount(host_path="/h", container_path="/p")])],
        with_(BASE, mounts=[MOUNTS_AT[1], {"destination": "/p", "source": "/h"}, MOUNTS_AT[0]]),
    ),
    (
        "trailing-slash-no-match",
        with_(BASE, mounts=MOUNTS_AT),
        [E(mounts=[Mount(host_path="/h", container_path="/data")])],
        with_(
            BASE, mounts=[MOUNTS_AT[1], MOUNTS_AT[2], {"destination": "/data", "source": "/h"}, MOUNTS_AT[0]]
        ),
    ),
    (
        "no-mount-edits-no-sort",
        with_(BASE, mounts=MOUNTS_AT),
        [E(env=["A=1"])],
        with_(BASE, mounts=MOUNTS_AT, process=proc(env=["A=1"])),
    ),
    (
        "same-destination-twice-last-wins",
        BASE,
        [
            E(mounts=[Mount(host_path="/1", container_path="/m")]),
            E(mounts=[Mount(host_path="/2", container_path="/m")]),
        ],
        with_(BASE, mounts=[{"destination": "/m", "source": "/2"}]),
    ),
]

USERNS = linux(namespaces=[{"type": "user"}, {"type": "mount"}])
IDMAP_CASES = [
    (
        "bind-gets-idmap",
        with_(BASE, linux=USERNS),
        [E(mounts=[Mount(host_path="/h", container_path="/c", options=["bind", "ro"])])],
        with_(
            BASE,
            linux=USERNS,
            mounts=[{"destination": "/c", "source": "/h", "options": ["bind", "ro", "idmap"]}],
        ),
    ),
    (
        "rbind-gets-ridmap",
        with_(BASE, linux=USERNS),
        [E(mounts=[Mount(host_path="/h", container_path="/c", options=["rbind"])])],
        with_(
            BASE, linux=USERNS, mounts=[{"destination": "/c", "source": "/h", "options": ["rbind", "ridmap"]}]
        ),
    ),
    (
        "already-idmapped-untouched",
        with_(BASE, linux=USERNS),
        [E(mounts=[Mount(host_path="/h", container_path="/c", options=["bind", "idmap"])])],
        with_(
            BASE, linux=USERNS, mounts=[{"destination": "/c", "source": "/h", "options": ["bind", "idmap"]}]
        ),
    ),
    (
        "not-a-bind-untouched",
        with_(BASE, linux=USERNS),
        [E(mounts=[Mount(host_path="tmpfs", container_path="/t", type="tmpfs")])],
        with_(BASE, linux=USERNS, mounts=[{"destination": "/t", "type": "tmpfs", "source": "tmpfs"}]),
    ),
    (
        "no-user-namespace-untouched",
        BASE,
        [E(mounts=[Mount(host_path="/h", container_path="/c", options=["bind"])])],
        with_(BASE, mounts=[{"destination": "/c", "source": "/h", "options": ["bind"]}]),
    ),
]

HOOK_CASES = [
    (
        "every-kind",
        with_(BASE, hooks={"prestart": [{"path": "/old"}]}),
        [
            E(
                hooks=[
                    Hook(hook_name=n, path=f"/{n}")
                    for n in (
                        "prestart",
                        "createRuntime",
                        "createContainer",
                        "startContainer",
                        "poststart",
                        "poststop",
                    )
                ]
            )
        ],
        with_(
            BASE,
            hooks={
                "prestart": [{"path": "/old"}, {"path": "/prestart"}],
                **{
                    n: [{"path": f"/{n}"}]
                    for n in ("createRuntime", "createContainer", "startContainer", "poststart", "poststop")
                },
            },
        ),
    ),
    (
        "fields-and-duplicates",
        BASE,
        [
            E(hooks=[Hook(hook_name="poststop", path="/h", args=["h", "-v"], env=["X=1"], timeout=0)]),
            E(hooks=[Hook(hook_name="poststop", path="/h", args=[], env=[])]),
        ],
        with_(
            BASE,
            hooks={
                "poststop": [
                    {"path": "/h", "args": ["h", "-v"], "env": ["X=1"], "timeout": 0},
                    {"path": "/h"},
                ]
            },
        ),
    ),
]

RDT_CASES = [
    (
        "replaces-existing",
        with_(BASE, linux=linux(intelRdt={"closID": "old", "l3CacheSchema": "L3:0=f"})),
        [E(intel_rdt=IntelRdt(clos_id="new"))],
        with_(BASE, linux=linux(intelRdt={"closID": "new"})),
    ),
    (
        "last-non-null-wins",
        BASE,
        [E(intel_rdt=IntelRdt(clos_id="a")), E(intel_rdt=IntelRdt(mem_bw_schema="MB:0=20")), E(env=["A=1"])],
        with_(BASE, process=proc(env=["A=1"]), linux=linux(intelRdt={"memBwSchema": "MB:0=20"})),
    ),
    ("empty-object", with_(BASE, linux=None), [E(intel_rdt=IntelRdt())], with_(BASE, linux={"intelRdt": {}})),
    (
        "full",
        BASE,
        [
            E(
                intel_rdt=IntelRdt(
                    clos_id="c",
                    l3_cache_schema="L3:0=f",
                    mem_bw_schema="MB:0=1",
                    schemata=["L2:0=3"],
                    enable_monitoring=True,
                )
            )
        ],
        with_(
            BASE,
            linux=linux(
                intelRdt={
                    "closID": "c",
                    "l3CacheSchema": "L3:0=f",
                    "memBwSchema": "MB:0=1",
                    "schemata": ["L2:0=3"],
                    "enableMonitoring": True,
                }
            ),
        ),
    ),
]

GID_CASES = [
    (
        "zero-skipped-duplicates-dropped",
        with_(BASE, process=proc(user={"uid": 0, "gid": 0, "additionalGids": [5]})),
        [E(additional_gids=[0, 5, 7]), E(additional_gids=[7, 8])],
        with_(BASE, process=proc(user={"uid": 0, "gid": 0, "additionalGids": [5, 7, 8]})),
    ),
    ("only-zero-no-process", with_(BASE, process=None), [E(additional_gids=[0])], with_(BASE, process=None)),
    (
        "process-created",
        with_(BASE, process=None),
        [E(additional_gids=[4294967295])],
        with_(BASE, process={"user": {"uid": 0, "gid": 0, "additionalGids": [4294967295]}, "cwd": ""}),
    ),
]

ALL = ENV_CASES + NODE_CASES + NET_CASES + MOUNT_CASES + IDMAP_CASES + HOOK_CASES + RDT_CASES + GID_CASES


@needs_host
@pytest.mark.parametrize(("oci", "edits", "expected"), [c[1:] for c in ALL], ids=[c[0] for c in ALL])
def test_apply(oci: dict[str, Any], edits: list[ContainerEdits], expected: dict[str, Any]) -> None:
    doc = copy.deepcopy(oci)
    inject_edits(doc, edits)
    assert doc == expected
    assert go_canonical(doc) == doc  # created sections have the Go encoding's shape


# (id, edits, inner error text)
ERROR_CASES = [
    (
        "missing-host",
        [E(env=["A=1"], device_nodes=[DeviceNode(path="/dev/null"), DeviceNode(path="/dev/cdi-test-gone")])],
        'failed to stat CDI host device "/dev/cdi-test-gone": no such file or directory',
    ),
    (
        "directory",
        [E(device_nodes=[DeviceNode(path="/dev")])],
        'failed to stat CDI host device "/dev": not a device node',
    ),
    (
        "type-mismatch",
        [E(device_nodes=[DeviceNode(path="/dev/null", type="b")])],
        'CDI device ("/dev/null", "/dev/null"), host type mismatch (b, c)',
    ),
    (
        "u-never-matches",
        [E(device_nodes=[DeviceNode(path="/x", host_path="/dev/null", type="u")])],
        'CDI device ("/x", "/dev/null"), host type mismatch (u, c)',
    ),
    (
        "unknown-hook",
        [
            E(
                mounts=[Mount(host_path="/h", container_path="/c")],
                hooks=[Hook(hook_name="preStart", path="/h")],
            )
        ],
        'unknown hook name "preStart"',
    ),
    (
        "nul-byte",
        [E(device_nodes=[DeviceNode(path="/dev/\x00")])],
        'failed to stat CDI host device "/dev/\\x00": invalid argument',
    ),
]


@needs_host
@pytest.mark.parametrize(("edits", "inner"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_failure_is_transactional(edits: list[ContainerEdits], inner: str) -> None:
    doc = with_(
        BASE,
        mounts=[{"destination": "/z/y", "source": "a"}, {"destination": "/c", "source": "b"}],
        hooks={"prestart": [{"path": "/p"}]},
    )
    snapshot = copy.deepcopy(doc)
    nested = {key: doc[key] for key in doc}
    with pytest.raises(InjectionError) as info:
        inject_edits(doc, edits)
    assert str(info.value) == "failed to inject devices: " + inner
    assert doc == snapshot
    assert all(doc[key] is nested[key] for key in doc)  # nothing replaced, nothing mutated


@needs_host
def test_edits_and_input_never_aliased_or_mutated() -> None:
    node = DeviceNode(path="/dev/null")
    mount = Mount(host_path="/h", container_path="/c", options=["ro"])
    hook = Hook(hook_name="prestart", path="/h", args=["a"])
    edits = [E(device_nodes=[node], mounts=[mount], hooks=[hook], env=["A=1"])]
    original = copy.deepcopy(BASE)
    source = copy.deepcopy(BASE)
    inner = {key: copy.deepcopy(value) for key, value in source.items()}
    doc = dict(source)
    inject_edits(doc, edits)
    assert source == original and all(source[k] == inner[k] for k in source)
    # The reference writes host-filled values back into the cached spec; cdikit does not.
    assert node == DeviceNode(path="/dev/null")
    doc["mounts"][0]["options"].append("rw")
    doc["hooks"]["prestart"][0]["args"].append("b")
    assert mount.options == ["ro"] and hook.args == ["a"]


def test_no_edits_changes_nothing() -> None:
    doc = copy.deepcopy(BASE)
    inject_edits(doc, [])
    inject_edits(doc, [E(), E(env=[], mounts=[])])
    assert doc == BASE


@pytest.mark.parametrize(
    ("destination", "depth"),
    [
        ("/", 1),
        ("/a", 1),
        ("/a/b", 2),
        ("/a/b/", 2),
        ("rel", 0),
        ("", 0),
        ("//x//y", 2),
        ("/a/../b", 1),
        ("/a/./b/.", 2),
        ("a/b", 1),
        ("../..", 1),
        ("///x", 1),
    ],
)
def test_mount_depth_is_go_filepath_clean(destination: str, depth: int) -> None:
    assert _depth(destination) == depth


@pytest.mark.parametrize(
    "bad",
    [
        {"process": []},
        {"process": {"env": "A=1"}},
        {"linux": {"devices": [1]}},
        {"mounts": {}},
        {"mounts": [{"destination": 3}]},
        {"hooks": {"prestart": {}}},
    ],
)
def test_malformed_oci_sections_raise_injection_error(bad: dict[str, Any]) -> None:
    edits = [
        E(
            env=["A=1"],
            device_nodes=[DeviceNode(path="/x", type="p")],
            mounts=[Mount(host_path="/h", container_path="/c")],
            hooks=[Hook(hook_name="prestart", path="/h")],
        )
    ]
    doc = copy.deepcopy(bad)
    with pytest.raises(InjectionError, match="invalid OCI spec"):
        inject_edits(doc, edits)
    assert doc == bad
