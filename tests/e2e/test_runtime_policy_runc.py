"""The shim's request policy against real runc: what the image's env may and may not ask for.

The attack of issue 11: a uid-1000 container without capabilities or annotations sets
``NVIDIA_VISIBLE_DEVICES`` or ``CDI_DEVICES`` in its env (the image controls the env) and gets a
device that bind-mounts the host ``/``. With the default policy it gets nothing and the shim logs why;
annotations (set by the caller, never by the image) still inject, and an allow-list of kinds holds
for every source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e._support import Bundle, run_runtime, write_runtime_config, write_spec

pytestmark = pytest.mark.e2e

SCRIPT = r"""
[ -f /host/etc/hostname ] && echo "HOST_ROOT_VISIBLE"
[ -f /gpu-marker ] && echo "GPU $(cat /gpu-marker)"
[ -f /x-marker ] && echo "X $(cat /x-marker)"
echo "UID $(id -u)"
true
"""


def _specs(spec_dir: Path, marker: Path) -> None:
    mount = lambda host, ctr: {"hostPath": str(host), "containerPath": ctr, "options": ["rbind", "ro"]}  # noqa: E731
    write_spec(spec_dir, "x.json", {
        "cdiVersion": "0.5.0",
        "kind": "vendor.com/host",
        "devices": [
            # What an attacker wants: the host's root file system inside the container.
            {"name": "root", "containerEdits": {"mounts": [mount("/", "/host")]}},
            {"name": "marker", "containerEdits": {"mounts": [mount(marker, "/x-marker")]}},
        ],
    })  # fmt: skip
    write_spec(spec_dir, "gpu.json", {
        "cdiVersion": "0.5.0",
        "kind": "nvidia.com/gpu",
        "devices": [{"name": "all", "containerEdits": {"mounts": [mount(marker, "/gpu-marker")]}}],
    })  # fmt: skip


def _unprivileged(bundle: Bundle, env: list[str], annotations: dict[str, str] | None = None) -> None:
    """uid 1000, no capabilities at all: what a Kubernetes pod or ``docker run --user`` gets at best."""
    bundle.set_script(SCRIPT, env=env)
    cfg = bundle.config
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    cfg["process"]["capabilities"] = {"bounding": [], "effective": [], "permitted": [], "ambient": []}
    cfg["annotations"] = annotations or {}
    bundle.config = cfg


def _setup(tmp_path: Path, **config: Any) -> Path:
    marker = tmp_path / "marker.txt"
    marker.write_text("injected\n", encoding="utf-8")
    spec_dir = tmp_path / "cdi"
    _specs(spec_dir, marker)
    path = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    with path.open("a", encoding="utf-8") as f:
        for key, value in config.items():
            f.write(f"{key} = {json.dumps(value)}\n")
    return path


ATTACKS = [
    ["NVIDIA_VISIBLE_DEVICES=vendor.com/host=root"],
    ["NVIDIA_VISIBLE_DEVICES=vendor.com/host=*"],
    ["NVIDIA_VISIBLE_DEVICES=all"],
    ["CDI_DEVICES=vendor.com/host=root"],
    ["CDI_DEVICES=vendor.com/host=*"],
    ["CUDA_VERSION=12.4"],  # a legacy CUDA image: unset NVIDIA_VISIBLE_DEVICES meant every GPU
]


@pytest.mark.parametrize("env", ATTACKS, ids=[e[0] for e in ATTACKS])
def test_unprivileged_env_requests_get_nothing(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path, env: list[str]
) -> None:
    config = _setup(tmp_path)
    _unprivileged(bundle, env)
    before = bundle.config_path.read_bytes()

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "UID 1000" in out  # the container did run...
    assert "HOST_ROOT_VISIBLE" not in out  # ...without the host's root
    assert not [line for line in out if line.startswith(("GPU ", "X "))]
    assert bundle.config_path.read_bytes() == before  # nothing injected: config.json untouched
    log = config.with_suffix(".log").read_text(encoding="utf-8")
    warning = [line for line in log.splitlines() if "level=warning" in line]
    assert len(warning) == 1, log
    assert "ignoring device requests from the environment of an unprivileged container" in warning[0]
    assert env[0].split("=")[0] in warning[0]
    assert "accept-env-requests-when-unprivileged" in warning[0]


def test_annotation_requests_still_inject(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    config = _setup(tmp_path)
    # The image's env is ignored, the caller's annotation is honoured.
    _unprivileged(bundle, ["CDI_DEVICES=vendor.com/host=root"], {"cdi.k8s.io/test": "vendor.com/host=marker"})

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "X injected" in out
    assert "HOST_ROOT_VISIBLE" not in out


@pytest.mark.parametrize(
    ("caps", "config"),
    [
        (["CAP_SYS_ADMIN"], {}),  # privileged (bounding set): the NVIDIA runtime's rule
        ([], {"accept-env-requests-when-unprivileged": True}),  # an operator's explicit choice
    ],
    ids=["privileged", "accepted-by-config"],
)
def test_env_requests_where_the_policy_allows(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path, caps: list[str], config: dict[str, Any]
) -> None:
    path = _setup(tmp_path, **config)
    _unprivileged(bundle, ["NVIDIA_VISIBLE_DEVICES=all"])
    cfg = bundle.config
    cfg["process"]["capabilities"]["bounding"] = caps  # bounding only: the process still has none
    bundle.config = cfg

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=path)

    assert done.returncode == 0, done.stderr
    assert "GPU injected" in done.stdout.splitlines()


def test_allowed_kinds_hold_for_annotations(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    config = _setup(tmp_path, **{"allowed-kinds": ["nvidia.com/gpu"]})
    _unprivileged(bundle, [], {"cdi.k8s.io/test": "vendor.com/host=root"})
    before = bundle.config_path.read_bytes()

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode != 0
    assert "vendor.com/host=root" in done.stderr and "allowed-kinds" in done.stderr
    assert "UID 1000" not in done.stdout  # runc never started the container
    assert bundle.config_path.read_bytes() == before


def test_volume_mount_requests(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    """The NVIDIA device plugin's volume-mounts strategy, when the operator accepts it."""
    config = _setup(tmp_path, **{"accept-volume-mount-requests": True})
    _unprivileged(bundle, [])
    cfg = bundle.config
    cfg["mounts"].append({"destination": "/var/run/nvidia-container-devices/cdi/vendor.com/host/marker",
                          "source": "/dev/null", "type": "bind", "options": ["rbind", "ro"]})  # fmt: skip
    bundle.config = cfg

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    assert "X injected" in done.stdout.splitlines()
