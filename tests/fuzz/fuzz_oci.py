"""Fuzz harness: applying container edits to an OCI spec (``cdikit.oci.inject_edits``).

Properties, for any JSON-ish OCI document and any valid edits: only
:class:`InjectionError` escapes; on error the document is exactly as before; on
success it is still JSON; the edits (cached spec objects) are never written to.

Input: ``OCI-JSON \\xff EDIT-BYTES`` (the seeds are bare ``config.json`` files);
when the head is no JSON object, the document itself is built from the bytes.
Device nodes are "minimal" (type and major set) or name paths that exist on every
Linux host, so that results do not depend on the machine.
Run: ``python -m tests.fuzz.fuzz_oci WORKDIR tests/fuzz/corpus/oci -max_total_time=60``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec

from cdikit.errors import InjectionError
from cdikit.oci import inject_edits
from cdikit.spec.types import ContainerEdits, DeviceNode, Hook, IntelRdt, Mount, NetDevice
from tests.fuzz._common import Data, KnownBug, only, run_atheris

# Known bugs, reported and pinned in test_regressions.py: unhashable entries of an
# existing process.env / process.user.additionalGids raise TypeError.
KNOWN: tuple[KnownBug, ...] = ()

_PATHS = ("/dev/null", "/dev/zero", "/dev/fuzz0", "/dev/x/../y", "", "/", "//a", "rel", "/dev/tty")
_HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "bogus")
_WORDS = ("A", "B=1", "A=2", "PATH=/x", "=", "", "bind", "rbind", "ro", "idmap", "tmpfs", "user", "c", "b")
_OCI_KEYS = ("process", "linux", "mounts", "hooks", "root", "ociVersion")


def _scalar(d: Data) -> Any:
    return d.choice((None, 0, 1, -1, 2**40, True, "", "x", "/dev/null", 1.5, "user"))


def _junk(d: Data, depth: int) -> Any:
    """Any JSON value, small."""
    pick = d.below(4)
    if depth > 3 or pick == 0:
        return _scalar(d)
    if pick == 1:
        return [_junk(d, depth + 1) for _ in range(d.below(3))]
    return {
        str(d.choice(("type", "path", "destination", "uid", "gid", "env", "k"))): _junk(d, depth + 1)
        for _ in range(d.below(3))
    }


def _shaped(d: Data, depth: int) -> Any:
    """A JSON value that is usually the shape OCI has there, sometimes not."""
    if d.below(4) == 0:
        return _junk(d, depth)
    return {
        key: _junk(d, depth + 1) if d.flag() else _section(d, key, depth + 1)
        for key in _OCI_KEYS[: d.below(len(_OCI_KEYS) + 1)]
    }


def _section(d: Data, key: str, depth: int) -> Any:
    if key == "process":
        return {
            "env": [d.choice(_WORDS) if d.flag() else _junk(d, 3) for _ in range(d.below(4))],
            "user": {
                "uid": _scalar(d),
                "gid": _scalar(d),
                "additionalGids": [
                    d.choice((1, 2, 0, "x")) if d.flag() else _junk(d, 3) for _ in range(d.below(3))
                ],
            },
        }
    if key == "linux":
        return {
            "devices": [
                {"path": d.choice(_PATHS), "type": "c"} if d.flag() else _junk(d, 3)
                for _ in range(d.below(3))
            ],
            "resources": {"devices": [_junk(d, 3) for _ in range(d.below(2))]} if d.flag() else _junk(d, 3),
            "namespaces": [{"type": d.choice(("user", "pid"))} for _ in range(d.below(3))],
            "netDevices": {"eth0": {}} if d.flag() else _junk(d, 3),
        }
    if key == "mounts":
        return [{"destination": d.choice(_PATHS)} if d.flag() else _junk(d, 3) for _ in range(d.below(4))]
    if key == "hooks":
        return {str(d.choice(_HOOKS)): [_junk(d, 3)] if d.flag() else _junk(d, 3) for _ in range(d.below(3))}
    return _junk(d, depth)


def _edits(d: Data) -> list[ContainerEdits]:
    out = []
    for _ in range(d.below(4)):
        nodes = []
        for _ in range(d.below(3)):
            path = str(d.choice(_PATHS))
            if d.flag():  # minimal: no host lookup result matters
                node = DeviceNode(
                    path=path, type=str(d.choice(("c", "b", "p"))), major=1 + d.below(300), minor=d.below(300)
                )
            else:  # filled from the host: only paths with the same answer everywhere
                node = DeviceNode(path=path, host_path=str(d.choice(("", "/dev/null", "/nonexistent"))))
            if d.flag():
                node.file_mode, node.uid, node.gid = d.below(0o7777), d.below(5), d.below(5)
            node.permissions = str(d.choice(("", "rwm", "r", "none")))
            nodes.append(node)
        out.append(
            ContainerEdits(
                env=[str(d.choice(_WORDS)) for _ in range(d.below(3))] or None,
                device_nodes=nodes or None,
                net_devices=[
                    NetDevice(
                        host_interface_name=str(d.choice(("eth0", "ib0"))), name=str(d.choice(("", "n")))
                    )
                    for _ in range(d.below(2))
                ]
                or None,
                hooks=[
                    Hook(
                        hook_name=str(d.choice(_HOOKS)),
                        path="/bin/true",
                        args=["a"] if d.flag() else None,
                        timeout=(None, 0, 5)[d.below(3)],
                    )
                    for _ in range(d.below(3))
                ]
                or None,
                mounts=[
                    Mount(
                        host_path="/h",
                        container_path=str(d.choice(_PATHS)),
                        options=[str(d.choice(_WORDS)) for _ in range(d.below(3))] or None,
                        type=str(d.choice(("", "bind", "tmpfs"))),
                    )
                    for _ in range(d.below(3))
                ]
                or None,
                intel_rdt=IntelRdt(
                    clos_id=str(d.choice(("", "c1"))),
                    schemata=["L3:0=f"] if d.flag() else None,
                    enable_monitoring=d.flag(),
                )
                if d.below(4) == 0
                else None,
                additional_gids=[d.below(4) for _ in range(d.below(3))] or None,
            )
        )
    return out


def one_input(data: bytes) -> None:
    head, sep, tail = data.partition(b"\xff")
    try:
        oci = json.loads(head)
    except (ValueError, RecursionError):
        oci = None
    if not isinstance(oci, dict):
        oci, tail = _shaped(Data(head), 0), (tail if sep else head)
    edits = _edits(Data(tail))
    before = copy.deepcopy(oci)
    edits_before = msgspec.to_builtins(edits)
    with only(InjectionError, data, KNOWN):
        try:
            inject_edits(oci, edits)
        except InjectionError:
            assert oci == before, "inject_edits changed the document on error"
            raise
        finally:
            assert msgspec.to_builtins(edits) == edits_before, "inject_edits wrote to the edits"
        json.dumps(oci)


if __name__ == "__main__":
    run_atheris(one_input)
