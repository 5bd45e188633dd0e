"""Generated specs against the captured outputs of ``nvidia-ctk cdi generate`` v1.20.

The reference ran on the fake roots of ``make-fake-root.sh`` /
``make-fake-tegra-root.sh`` (at ``/opt/fake-*-root``) and, for nvml mode, with the
harness' fake NVML. We rebuild the same roots in a tmp dir, generate, map our tmp
path back to ``/opt/fake-*-root`` and compare *everything*: device names and
order, nodes, mounts, hooks, env, gids and cdiVersion.

Where cdikit deliberately differs, :data:`DIFFERENCES` says how and why: each entry
rewrites the reference document into what cdikit emits, and the test insists that
each listed difference really changes the reference (so the list cannot go stale).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from cdikit.producers.nvidia.generate import generate
from cdikit.producers.nvidia.nvml import FakeBackend
from cdikit.producers.output import encode
from tests._shared import require_shared
from tests.producers import fakeroot
from tests.producers.conftest import root_options

NVIDIA_ROOT = "/opt/fake-nvidia-root"
TEGRA_ROOT = "/opt/fake-tegra-root"
CSV_DIR = "/etc/nvidia-container-runtime/host-files-for-container.d"

Doc = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    name: str
    reference: str
    root: str  # "nvidia" or "tegra"
    options: dict[str, Any]


SCENARIOS = [
    Scenario("nvml-default", "nvml-harness/nvml-default.yaml", "nvidia", {}),
    Scenario(
        "nvml-type-index-no-all",
        "nvml-harness/nvml-type-index-no-all.yaml",
        "nvidia",
        {"device_name_strategies": ("type-index",), "no_all_device": True},
    ),
    Scenario(
        "nvml-device-ids",
        "nvml-harness/nvml-device-id-0-and-1_1.yaml",
        "nvidia",
        {"device_ids": ("0", "1:1")},
    ),
    Scenario(
        "nvml-device-id-none", "nvml-harness/nvml-device-id-none.yaml", "nvidia", {"device_ids": ("none",)}
    ),
    Scenario(
        "nvml-nvidia-ctk-hook",
        "nvml-harness/nvml-nvidia-ctk-hook-path-ldconfig.yaml",
        "nvidia",
        {
            "hook_path": "/opt/bin/nvidia-ctk",
            "ldconfig_path": "/sbin/ldconfig.real",
            "disabled_hooks": ("update-application-profile",),
        },
    ),
    Scenario("management", "management.yaml", "nvidia", {"mode": "management"}),
    *(
        Scenario(m, f"mode-{m}.yaml", "nvidia", {"mode": m})
        for m in ("gds", "mofed", "gdrcopy", "nvswitch", "imex")
    ),
    Scenario("csv", "mode-csv.yaml", "tegra", {"mode": "csv"}),
]


# ----------------------------------------------------------------------------- differences


def _all_edits(doc: Doc) -> list[Doc]:
    out = [doc.get("containerEdits") or {}]
    out += [d.get("containerEdits") or {} for d in doc.get("devices", [])]
    return out


def _rewrite_link_args(doc: Doc, old: str, new: str) -> None:
    for edits in _all_edits(doc):
        for hook in edits.get("hooks") or []:
            hook["args"] = [a.replace(old, new) if "::" in a else a for a in hook.get("args", [])]


def _safe_hooks(doc: Doc) -> None:
    for edits in _all_edits(doc):
        for hook in edits.get("hooks") or []:
            hook["env"] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", *hook.get("env", [])]
            hook["timeout"] = 30


def _depth_key(path: str) -> tuple[int, str]:
    return (os.path.normpath(path).count("/"), path)


def _add_mps_mount(doc: Doc) -> None:
    mounts = doc["containerEdits"]["mounts"]
    mounts.append(
        {
            "hostPath": f"{NVIDIA_ROOT}/tmp/nvidia-mps",
            "containerPath": "/tmp/nvidia-mps",
            "options": ["nosuid", "nodev", "rbind", "rprivate", "noexec"],
        }
    )
    mounts.sort(key=lambda m: _depth_key(m["containerPath"]))


def _own_kind(doc: Doc) -> None:
    mode = doc["_scenario"]
    doc["kind"] = "nvidia.com/" + {"imex": "imex-channel"}.get(mode, mode)


def _csv_resolve_absolute_link(doc: Doc) -> None:
    chain_hook = doc["containerEdits"]["hooks"][1]
    chain_hook["args"] += [
        "--link",
        "/usr/lib/aarch64-linux-gnu/nvidia/nvidia_icd.json::/etc/vulkan/icd.d/nvidia_icd.json",
    ]


@dataclass(frozen=True)
class Difference:
    name: str
    reason: str
    scenarios: tuple[str, ...]
    rewrite: Callable[[Doc], None]


_NVML_WITH_DRM = ("nvml-default", "nvml-type-index-no-all", "nvml-device-ids", "nvml-nvidia-ctk-hook")
DIFFERENCES = (
    Difference(
        "hooks carry PATH and a timeout",
        "runc gives a hook without env the container's own environment and waits for a hook "
        "forever; cdikit's hooks carry PATH (and the reference's NVIDIA_CTK_DEBUG) as their whole "
        "environment and a 30 s timeout (docs/security.md).",
        (
            "nvml-default",
            "nvml-type-index-no-all",
            "nvml-device-ids",
            "nvml-device-id-none",
            "nvml-nvidia-ctk-hook",
            "management",
            "csv",
        ),
        _safe_hooks,
    ),
    Difference(
        "by-path links at container paths",
        "The reference writes the dev-root *host* path as the link of the /dev/dri/by-path "
        "create-symlinks hook, so with a dev root other than / the link is created at the wrong "
        "place inside the container; cdikit writes the container path.",
        _NVML_WITH_DRM,
        lambda doc: _rewrite_link_args(doc, f"::{NVIDIA_ROOT}/dev/", "::/dev/"),
    ),
    Difference(
        "MPS pipe directory mounted",
        "The reference looks for /tmp/nvidia-mps with a file-only locator, so the MPS pipe "
        "directory is never mounted and MPS clients in the container cannot reach the daemon.",
        (
            "nvml-default",
            "nvml-type-index-no-all",
            "nvml-device-ids",
            "nvml-device-id-none",
            "nvml-nvidia-ctk-hook",
            "management",
        ),
        _add_mps_mount,
    ),
    Difference(
        "add-on modes get their own kind",
        "The reference CLI gives every mode the class 'gpu', so the gds/mofed/gdrcopy/nvswitch "
        "spec's 'all' (and imex's '0', '1') collide with the GPU spec's devices and the registry "
        "drops both; cdikit defaults to nvidia.com/gds, /mofed, /gdrcopy, /nvswitch, /imex-channel.",
        ("gds", "mofed", "gdrcopy", "nvswitch", "imex"),
        _own_kind,
    ),
    Difference(
        "csv symlink chains at container paths",
        "For 'sym' CSV entries the reference uses the driver-root host path as the link path, "
        "which is wrong whenever the driver root is not /; cdikit writes container paths.",
        ("csv",),
        lambda doc: _rewrite_link_args(doc, f"::{TEGRA_ROOT}/", "::/"),
    ),
    Difference(
        "absolute symlinks resolved inside the driver root",
        "etc/vulkan/icd.d/nvidia_icd.json -> /usr/lib/... is resolved by the reference against "
        "the host's / and not found; cdikit resolves it inside the driver root, mounts the "
        "target (already mounted as a 'lib' entry) and recreates the link.",
        ("csv",),
        _csv_resolve_absolute_link,
    ),
)


# ----------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def tegra_root(tmp_path_factory: pytest.TempPathFactory) -> fakeroot.FakeRoot:
    return fakeroot.build_tegra_root(tmp_path_factory.mktemp("tegra") / "root")


def _generate(scenario: Scenario, nvidia_root: fakeroot.FakeRoot, tegra_root: fakeroot.FakeRoot) -> Doc:
    root = nvidia_root if scenario.root == "nvidia" else tegra_root
    opts = dict(scenario.options)
    if scenario.root == "tegra":
        base = f"{root.path}{CSV_DIR}"
        opts["csv_files"] = (f"{base}/devices.csv", f"{base}/drivers.csv")
    backend = FakeBackend(fakeroot.harness_nvml()) if scenario.root == "nvidia" else None
    result = generate(root_options(root, **opts), backend=backend)
    text = encode(result.spec, "yaml").decode()
    doc: Doc = yaml.safe_load(
        text.replace(str(root.path), NVIDIA_ROOT if scenario.root == "nvidia" else TEGRA_ROOT)
    )
    return doc


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_matches_reference_except_listed_differences(
    scenario: Scenario, nvidia_root: fakeroot.FakeRoot, tegra_root: fakeroot.FakeRoot
) -> None:
    reference: Doc = yaml.safe_load(
        require_shared("research", "nvidia-outputs", scenario.reference).read_text()
    )
    expected = copy.deepcopy(reference)
    expected["_scenario"] = scenario.name
    for diff in DIFFERENCES:
        if scenario.name in diff.scenarios:
            before = copy.deepcopy(expected)
            diff.rewrite(expected)
            assert expected != before, f"difference {diff.name!r} does not apply to {scenario.name}"
    del expected["_scenario"]
    got = _generate(scenario, nvidia_root, tegra_root)
    assert [d["name"] for d in got["devices"]] == [d["name"] for d in expected["devices"]]
    assert got == expected


def test_every_difference_has_a_reason_and_a_scenario() -> None:
    names = {s.name for s in SCENARIOS}
    for diff in DIFFERENCES:
        assert len(diff.reason) > 40
        assert diff.scenarios and set(diff.scenarios) <= names


def test_the_fake_roots_use_real_character_devices_when_root(nvidia_root: fakeroot.FakeRoot) -> None:
    # Running as root the comparison covers stat'ed major/minor/mode/gid as well.
    if os.geteuid() != 0:
        pytest.skip("mknod needs root; the JSON stand-ins are tested in test_generate")
    assert nvidia_root.real_nodes
