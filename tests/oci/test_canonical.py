"""``go_canonical``: the runtime-spec v1.3.0 Go struct re-encoding of a config.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdikit.oci import go_canonical
from tests.conformance._case import DEFAULT_ROOT

# (id, raw input, canonical output)
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("empty", {}, {"ociVersion": ""}),
    (
        "unknown-dropped-keys-folded",
        {
            "ociVersion": "1.0.2",
            "x-unknown": {"a": 1},
            "Hostname": "h",
            "process": {"env": ["B=2"], "futureField": True},
        },
        {
            "ociVersion": "1.0.2",
            "hostname": "h",
            "process": {"user": {"uid": 0, "gid": 0}, "env": ["B=2"], "cwd": ""},
        },
    ),
    (
        "exact-key-preferred-over-folded",
        {"HOSTNAME": "a", "hostname": "b"},
        {"ociVersion": "", "hostname": "b"},
    ),
    (
        "omitempty-zeros-dropped",
        {"hostname": "", "mounts": [], "annotations": {}, "process": None},
        {"ociVersion": ""},
    ),
    (
        "null-keeps-non-pointer-zero",
        {"ociVersion": None, "process": {"user": None, "cwd": None}},
        {"ociVersion": "", "process": {"user": {"uid": 0, "gid": 0}, "cwd": ""}},
    ),
    (
        "device-always-numbers",
        {"linux": {"devices": [{"path": "/dev/f", "type": "p"}, {"Path": "/x", "fileMode": 0}]}},
        {
            "ociVersion": "",
            "linux": {
                "devices": [
                    {"path": "/dev/f", "type": "p", "major": 0, "minor": 0},
                    {"path": "/x", "type": "", "major": 0, "minor": 0, "fileMode": 0},
                ]
            },
        },
    ),
    (
        "cgroup-rule-always-allow-pointers-kept",
        {"linux": {"resources": {"devices": [{}, {"major": 0, "access": ""}]}}},
        {
            "ociVersion": "",
            "linux": {"resources": {"devices": [{"allow": False}, {"allow": False, "major": 0}]}},
        },
    ),
    (
        "mount-and-hook-required-keys",
        {"mounts": [{"source": "s"}], "hooks": {"poststop": [{"timeout": 0}]}},
        {
            "ociVersion": "",
            "mounts": [{"destination": "", "source": "s"}],
            "hooks": {"poststop": [{"path": "", "timeout": 0}]},
        },
    ),
    (
        "empty-pointer-structs-kept",
        {"hooks": {}, "linux": {"intelRdt": {}, "netDevices": {"e": {}}}},
        {"ociVersion": "", "hooks": {}, "linux": {"intelRdt": {}, "netDevices": {"e": {}}}},
    ),
    (
        "map-keys-not-folded",
        {"annotations": {"K": "v"}, "linux": {"netDevices": {"Eth0": {"NAME": "n"}}}},
        {"ociVersion": "", "annotations": {"K": "v"}, "linux": {"netDevices": {"Eth0": {"name": "n"}}}},
    ),
    (
        "opaque-sections-passed-through",
        {
            "linux": {
                "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "x": 1},
                "resources": {"memory": {"limit": 5}},
            },
            "windows": {},
        },
        {
            "ociVersion": "",
            "linux": {
                "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "x": 1},
                "resources": {"memory": {"limit": 5}},
            },
            "windows": {},
        },
    ),
]


@pytest.mark.parametrize(("raw", "canonical"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_go_canonical(raw: dict[str, Any], canonical: dict[str, Any]) -> None:
    snapshot = json.dumps(raw, sort_keys=True)
    assert go_canonical(raw) == canonical
    assert json.dumps(raw, sort_keys=True) == snapshot  # input untouched
    assert go_canonical(canonical) == canonical  # idempotent


def _corpus_documents() -> list[tuple[str, dict[str, Any]]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    for group in ("inject", "cache"):
        for case in sorted((DEFAULT_ROOT / group).glob("*/args.json")):
            args = json.loads(case.read_text())
            oci_path = case.parent / "oci.json"
            if oci_path.is_file() and args.get("ociCanonical") is not False:
                docs.append((f"{group}/{case.parent.name}/oci.json", json.loads(oci_path.read_text())))
            expected = json.loads((case.parent / "expected.json").read_text())
            if expected.get("oci"):
                docs.append((f"{group}/{case.parent.name}/expected", expected["oci"]))
    return docs


DOCS = _corpus_documents()


@pytest.mark.skipif(not DOCS, reason="conformance corpus not present")
def test_corpus_documents_are_fixed_points() -> None:
    changed = [name for name, doc in DOCS if go_canonical(doc) != doc]
    assert not changed
    assert len(DOCS) > 300


def test_noncanonical_corpus_input() -> None:
    case = DEFAULT_ROOT / "inject" / "oci-noncanonical-input"
    if not case.is_dir():
        pytest.skip("conformance corpus not present")
    raw = json.loads((case / "oci.json").read_text())
    assert go_canonical(raw) == {
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "env": ["B=2"], "cwd": ""},
        "hostname": "h",
    }
    assert Path(case).is_dir()
