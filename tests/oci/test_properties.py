"""Property tests: random edits and OCI documents.

* injection raises nothing but InjectionError, and a failure leaves the document untouched;
* what it produces is already in the Go encoding's shape (``go_canonical`` fixed point);
* injecting the same edits twice is stable where the reference is: nodes, mounts,
  net devices, intelRdt and gids do not change again, env gains no new values,
  while hooks and cgroup rules (never de-duplicated) grow by exactly one round.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cdikit.errors import InjectionError
from cdikit.oci import HOOK_NAMES, go_canonical, inject_edits
from cdikit.spec.types import ContainerEdits, DeviceNode, Hook, IntelRdt, Mount, NetDevice

_text = st.text(st.characters(codec="utf-8"), max_size=8)
_names = st.sampled_from(["A", "B", "PATH", "X_1"])
_env = st.one_of(st.builds(lambda n, v: f"{n}={v}", _names, st.sampled_from(["", "1", "a=b"])), _text)
_host_paths = st.sampled_from(
    [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev",
        "/etc/passwd",
        "/dev/cdi-test-absent",
        "rel/none",
        "",
        "/dev/\x00",
    ]
)
_dev_paths = st.one_of(st.sampled_from(["/dev/a", "/dev/b", "/dev/null", "/dev/zero"]), _text)
_numbers = st.integers(-2, 300)
_ids = st.none() | st.integers(0, 2**32 - 1)

_nodes = st.builds(
    DeviceNode,
    path=_dev_paths,
    host_path=st.one_of(st.just(""), _host_paths),
    type=st.sampled_from(["", "b", "c", "p", "u", "x"]),
    major=_numbers,
    minor=_numbers,
    file_mode=st.none() | st.integers(0, 2**32 - 1),
    permissions=st.sampled_from(["", "r", "rw", "rwm", "none", "m"]),
    uid=_ids,
    gid=_ids,
)
_mount_paths = st.sampled_from(["/a", "/a/b", "/a/b/", "/c/d/e", "rel", "//x//y", "/"])
_mounts = st.builds(
    Mount,
    host_path=st.sampled_from(["/h", "", "tmpfs"]),
    container_path=st.one_of(_mount_paths, _text),
    options=st.none() | st.lists(st.sampled_from(["bind", "rbind", "ro", "idmap", "nosuid"]), max_size=3),
    type=st.sampled_from(["", "bind", "tmpfs"]),
)
_hooks = st.builds(
    Hook,
    hook_name=st.one_of(st.sampled_from(sorted(HOOK_NAMES)), _text),
    path=st.sampled_from(["/bin/h", ""]),
    args=st.none() | st.lists(_text, max_size=2),
    env=st.none() | st.lists(_env, max_size=2),
    timeout=st.none() | st.integers(-1, 10),
)
_rdt = st.builds(
    IntelRdt,
    clos_id=_text,
    l3_cache_schema=_text,
    mem_bw_schema=_text,
    schemata=st.none() | st.lists(_text, max_size=2),
    enable_monitoring=st.booleans(),
)
_net = st.builds(
    NetDevice, host_interface_name=st.sampled_from(["eth0", "eth1", ""]), name=st.sampled_from(["n", ""])
)


def _edit_sets(hooks: bool = True) -> st.SearchStrategy[list[ContainerEdits]]:
    one = st.builds(
        ContainerEdits,
        env=st.none() | st.lists(_env, max_size=3),
        device_nodes=st.none() | st.lists(_nodes, max_size=3),
        net_devices=st.none() | st.lists(_net, max_size=2),
        hooks=st.lists(_hooks, max_size=2) if hooks else st.none(),
        mounts=st.none() | st.lists(_mounts, max_size=3),
        intel_rdt=st.none() | _rdt,
        additional_gids=st.none() | st.lists(st.integers(0, 2**32 - 1) | st.sampled_from([0, 5]), max_size=3),
    )
    return st.lists(one, max_size=4)


def _unique_by(key: str) -> Any:
    return lambda items: list({item[key]: item for item in items}.values())


_oci_docs = st.fixed_dictionaries(
    {"ociVersion": st.just("1.2.0")},
    optional={
        "process": st.fixed_dictionaries(
            {
                "user": st.fixed_dictionaries(
                    {"uid": st.integers(0, 2000), "gid": st.integers(0, 2000)},
                    optional={"additionalGids": st.lists(st.integers(0, 9), max_size=3)},
                ),
                "cwd": st.just("/"),
            },
            optional={"env": st.lists(st.sampled_from(["A=0", "B=1", "PATH=/bin", "TERM"]), max_size=4)},
        ),
        "mounts": st.lists(
            st.fixed_dictionaries({"destination": _mount_paths, "source": st.just("s")}), max_size=4
        ).map(_unique_by("destination")),
        "hooks": st.fixed_dictionaries(
            {}, optional={"prestart": st.lists(st.just({"path": "/p"}), max_size=2)}
        ),
        "linux": st.fixed_dictionaries(
            {},
            optional={
                "namespaces": st.lists(st.sampled_from([{"type": "mount"}, {"type": "user"}]), max_size=2),
                "devices": st.lists(
                    st.fixed_dictionaries(
                        {"path": _dev_paths, "type": st.just("c"), "major": st.just(1), "minor": st.just(1)}
                    ),
                    max_size=3,
                ).map(_unique_by("path")),
                "resources": st.fixed_dictionaries(
                    {"devices": st.lists(st.just({"allow": False, "access": "rwm"}), max_size=1)}
                ),
                "netDevices": st.dictionaries(
                    st.sampled_from(["eth0", "eth9"]), st.just({"name": "k"}), max_size=2
                ),
                "intelRdt": st.just({"closID": "old"}),
            },
        ),
    },
)

_oci_docs = _oci_docs.map(go_canonical)  # inputs in the Go encoding, as the corpus has them

_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(oci=_oci_docs, edits=_edit_sets())
def test_only_injection_errors_and_transactional(oci: dict[str, Any], edits: list[ContainerEdits]) -> None:
    snapshot = copy.deepcopy(oci)
    try:
        inject_edits(oci, edits)
    except InjectionError as err:
        event("failed")
        assert str(err).startswith("failed to inject devices: ")
        assert oci == snapshot
        return
    event("injected")
    assert go_canonical(oci) == oci


def section(doc: Any, *path: str) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _count(edits: list[ContainerEdits], field: str) -> int:
    return sum(len(getattr(e, field) or []) for e in edits)


@_settings
@given(oci=_oci_docs, edits=_edit_sets())
def test_injecting_twice_is_stable(oci: dict[str, Any], edits: list[ContainerEdits]) -> None:
    before = copy.deepcopy(oci)
    try:
        inject_edits(oci, edits)
    except InjectionError:
        return
    once = copy.deepcopy(oci)
    inject_edits(oci, edits)  # the host did not change, so this cannot fail now
    twice = oci

    for path in (
        ("mounts",),
        ("linux", "devices"),
        ("linux", "netDevices"),
        ("linux", "intelRdt"),
        ("process", "user"),
        ("root",),
        ("ociVersion",),
    ):
        assert section(twice, *path) == section(once, *path), path
    assert set(section(twice, "process", "env") or []) <= set(section(once, "process", "env") or [])
    hooks_once = sum(len(v) for v in (section(once, "hooks") or {}).values())
    hooks_twice = sum(len(v) for v in (section(twice, "hooks") or {}).values())
    assert hooks_twice - hooks_once == _count(edits, "hooks")
    rules_before = section(before, "linux", "resources", "devices") or []
    rules_once = section(once, "linux", "resources", "devices") or []
    rules_twice = section(twice, "linux", "resources", "devices") or []
    # One more round of the same rules, appended after everything that was there.
    assert rules_twice == rules_once + rules_once[len(rules_before) :]
