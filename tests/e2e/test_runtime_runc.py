"""``cdi-runtime`` in front of a real runc: each request source reaches a real container."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e._support import EXTRA_DEVICES, RUNC, Bundle, run_runtime, write_runtime_config, write_spec

pytestmark = pytest.mark.e2e

# FUSE and LOOP_CONTROL (usually /dev/fuse 10:229, /dev/loop-control 10:237) are outside runc's built-in
# allow list (null, zero, full, tty, random, urandom, ...): opening them proves
# the device cgroup rule written by the injection is what lets them through.
FUSE = EXTRA_DEVICES[0] if EXTRA_DEVICES else "/dev/fuse"
LOOP_CONTROL = EXTRA_DEVICES[1] if len(EXTRA_DEVICES) > 1 else "/dev/loop-control"

UUID = "GPU-6f1d3c4e-0000-4000-8000-000000000001"


def _specs(spec_dir: Path, host_file: Path, markers: Path) -> None:
    write_spec(
        spec_dir,
        "example.json",
        {
            "cdiVersion": "0.5.0",
            "kind": "example.com/test",
            "containerEdits": {"env": ["EXAMPLE_COMMON=1"]},
            "devices": [
                {
                    "name": "dev0",
                    "containerEdits": {
                        "env": ["VEND=dev0"],
                        "deviceNodes": [
                            {"path": "/dev/cdi-null", "hostPath": "/dev/null"},
                            {"path": "/dev/cdi-fuse", "hostPath": FUSE},
                        ],
                        "mounts": [
                            {
                                "hostPath": str(host_file),
                                "containerPath": "/etc/cdi-mounted.txt",
                                "options": ["rbind", "ro", "nosuid", "nodev"],
                            }
                        ],
                        "hooks": [
                            {
                                "hookName": "createContainer",
                                "path": "/bin/sh",
                                "args": ["sh", "-c", f"cat > {markers}/createContainer.json"],
                            }
                        ],
                    },
                }
            ],
        },
    )
    gpu = lambda node, host: {"path": node, "hostPath": host}  # noqa: E731
    write_spec(
        spec_dir,
        "nvidia.json",
        {
            "cdiVersion": "0.5.0",
            "kind": "nvidia.com/gpu",
            "containerEdits": {
                "env": ["NVIDIA_VISIBLE_DEVICES=void"],
                "deviceNodes": [gpu("/dev/nvidiactl", "/dev/null")],
            },
            "devices": [
                {
                    "name": "0",
                    "containerEdits": {"deviceNodes": [gpu("/dev/nvidia0", FUSE)], "env": ["GPU0=1"]},
                },
                {
                    "name": UUID,
                    "containerEdits": {"deviceNodes": [gpu("/dev/nvidia0", FUSE)], "env": ["GPU0=1"]},
                },
                {
                    "name": "1",
                    "containerEdits": {"deviceNodes": [gpu("/dev/nvidia1", "/dev/zero")], "env": ["GPU1=1"]},
                },
                {"name": "0:1", "containerEdits": {"deviceNodes": [gpu("/dev/nvidia-cap1", "/dev/full")]}},
                {
                    "name": "all",
                    "containerEdits": {
                        "deviceNodes": [gpu("/dev/nvidia0", FUSE), gpu("/dev/nvidia1", "/dev/zero")],
                        "env": ["GPU0=1", "GPU1=1"],
                    },
                },
            ],
        },
    )


SCRIPT = r"""
echo "ENV VEND=$VEND COMMON=$EXAMPLE_COMMON GPU0=$GPU0 GPU1=$GPU1"
for d in /dev/cdi-null /dev/cdi-fuse /dev/nvidiactl /dev/nvidia0 /dev/nvidia1 /dev/nvidia-cap1; do
  [ -c $d ] && echo "NODE $d"
done
[ -c /dev/cdi-fuse ] && (exec 3<>/dev/cdi-fuse) && echo "OPEN /dev/cdi-fuse"
[ -c /dev/nvidia0 ] && (exec 3<>/dev/nvidia0) && echo "OPEN /dev/nvidia0"
(exec 3<>/dev/not-allowed) 2>/dev/null || echo "DENIED /dev/not-allowed"
[ -f /etc/cdi-mounted.txt ] && echo "MOUNT $(cat /etc/cdi-mounted.txt)"
true
"""

# (case id, annotations, env, extra config, expected env line, expected nodes)
CASES: list[tuple[str, dict[str, str], list[str], dict[str, Any], str, set[str]]] = [
    ("annotation", {"cdi.k8s.io/e2e": "example.com/test=dev0"}, [], {},
     "VEND=dev0 COMMON=1 GPU0= GPU1=", {"/dev/cdi-null", "/dev/cdi-fuse"}),
    ("annotation-custom-prefix", {"devices.example.org/req": "example.com/test=dev0"}, [],
     {"annotation-prefixes": ["devices.example.org/"]},
     "VEND=dev0 COMMON=1 GPU0= GPU1=", {"/dev/cdi-null", "/dev/cdi-fuse"}),
    ("cdi-env", {}, ["CDI_DEVICES=example.com/test=dev0"], {},
     "VEND=dev0 COMMON=1 GPU0= GPU1=", {"/dev/cdi-null", "/dev/cdi-fuse"}),
    ("cdi-env-custom-name", {}, ["MY_DEVICES=nvidia.com/gpu=1"], {"env-var": "MY_DEVICES"},
     "VEND= COMMON= GPU0= GPU1=1", {"/dev/nvidiactl", "/dev/nvidia1"}),
    ("nvidia-index", {}, ["NVIDIA_VISIBLE_DEVICES=0"], {},
     "VEND= COMMON= GPU0=1 GPU1=", {"/dev/nvidiactl", "/dev/nvidia0"}),
    ("nvidia-uuid", {}, [f"NVIDIA_VISIBLE_DEVICES={UUID}"], {},
     "VEND= COMMON= GPU0=1 GPU1=", {"/dev/nvidiactl", "/dev/nvidia0"}),
    ("nvidia-mig", {}, ["NVIDIA_VISIBLE_DEVICES=0:1"], {},
     "VEND= COMMON= GPU0= GPU1=", {"/dev/nvidiactl", "/dev/nvidia-cap1"}),
    ("nvidia-list", {}, ["NVIDIA_VISIBLE_DEVICES=0,1"], {},
     "VEND= COMMON= GPU0=1 GPU1=1", {"/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia1"}),
    ("nvidia-all", {}, ["NVIDIA_VISIBLE_DEVICES=all"], {},
     "VEND= COMMON= GPU0=1 GPU1=1", {"/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia1"}),
    ("nvidia-qualified", {}, ["NVIDIA_VISIBLE_DEVICES=example.com/test=dev0"], {},
     "VEND=dev0 COMMON=1 GPU0= GPU1=", {"/dev/cdi-null", "/dev/cdi-fuse"}),
    ("nvidia-void", {}, ["NVIDIA_VISIBLE_DEVICES=void"], {},
     "VEND= COMMON= GPU0= GPU1=", set()),
]  # fmt: skip


def _not_allowed_node(bundle: Bundle) -> None:
    """A device node in the OCI spec with no cgroup allow rule."""
    st = os.stat(LOOP_CONTROL)
    cfg = bundle.config
    cfg["linux"].setdefault("devices", []).append(
        {"path": "/dev/not-allowed", "type": "c", "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
         "fileMode": 0o666, "uid": 0, "gid": 0}
    )  # fmt: skip
    bundle.config = cfg


def _privileged(bundle: Bundle) -> None:
    """CAP_SYS_ADMIN in the bounding set: the shim then honours env requests (the default policy)."""
    cfg = bundle.config
    cfg["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    bundle.config = cfg


def _toml_value(value: Any) -> str:
    return json.dumps(value)


@pytest.mark.parametrize(("annotations", "env", "extra", "want_env", "want_nodes"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_request_sources_reach_the_container(
    bundle: Bundle,
    tools: dict[str, Path],
    tmp_path: Path,
    annotations: dict[str, str],
    env: list[str],
    extra: dict[str, Any],
    want_env: str,
    want_nodes: set[str],
) -> None:
    host_file = tmp_path / "host-file.txt"
    host_file.write_text("hello-from-host\n", encoding="utf-8")
    markers = tmp_path / "markers"
    markers.mkdir()
    spec_dir = tmp_path / "cdi"
    _specs(spec_dir, host_file, markers)
    config = tmp_path / "runtime.toml"
    write_runtime_config(config, spec_dir)
    with config.open("a", encoding="utf-8") as f:
        for key, value in extra.items():
            f.write(f"{key} = {_toml_value(value)}\n")
    bundle.set_script(SCRIPT, env=env)
    _privileged(bundle)  # env requests need it (tests/e2e/test_runtime_policy_runc.py: without)
    _not_allowed_node(bundle)
    cfg = bundle.config
    cfg["annotations"] = annotations
    bundle.config = cfg
    before = bundle.config_path.read_bytes()

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert f"ENV {want_env}" in out
    assert {line[5:] for line in out if line.startswith("NODE ")} == want_nodes
    assert "DENIED /dev/not-allowed" in out  # the device cgroup is enforced...
    for node in ("/dev/cdi-fuse", "/dev/nvidia0"):  # ...and the injected rules let ours through
        assert (f"OPEN {node}" in out) == (node in want_nodes)
    dev0 = "/dev/cdi-fuse" in want_nodes
    assert ("MOUNT hello-from-host" in out) == dev0
    marker = markers / "createContainer.json"
    assert marker.exists() == dev0
    if dev0:
        assert json.loads(marker.read_text(encoding="utf-8"))["id"] == bundle.id
    if not want_nodes:
        assert bundle.config_path.read_bytes() == before  # nothing requested: file untouched
    assert done.stderr == ""


def test_unresolvable_request_fails_before_runc(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path
) -> None:
    spec_dir = tmp_path / "cdi"
    _specs(spec_dir, tmp_path / "f", tmp_path)
    config = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    marker = tmp_path / "prestart-ran"
    bundle.set_script("echo CONTAINER_RAN", env=["CDI_DEVICES=example.com/test=dev0,example.com/test=nope"])
    _privileged(bundle)
    cfg = bundle.config
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]}]}
    bundle.config = cfg
    os.chmod(bundle.config_path, 0o640)
    before = bundle.config_path.read_bytes()
    stamp = os.stat(bundle.config_path)

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode != 0
    assert "example.com/test=nope" in done.stderr
    assert "unresolvable" in done.stderr
    assert "CONTAINER_RAN" not in done.stdout
    assert not marker.exists()  # runc never started: not even its first hook ran
    assert bundle.config_path.read_bytes() == before
    assert os.stat(bundle.config_path).st_ino == stamp.st_ino
    assert not (bundle.state / bundle.id).exists()
    # The engine's --log file carries the reason in runc's JSON log format.
    lines = (bundle.dir / "runc-log.json").read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    assert last["level"] == "error" and "example.com/test=nope" in last["msg"]


def test_injection_keeps_config_mode(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    spec_dir = tmp_path / "cdi"
    _specs(spec_dir, tmp_path / "f", tmp_path)
    (tmp_path / "f").write_text("x\n", encoding="utf-8")
    config = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    bundle.set_script("true", env=["NVIDIA_VISIBLE_DEVICES=1"])
    _privileged(bundle)
    os.chmod(bundle.config_path, 0o640)

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    assert os.stat(bundle.config_path).st_mode & 0o7777 == 0o640
    injected = bundle.config
    assert [d["path"] for d in injected["linux"]["devices"]] == ["/dev/nvidiactl", "/dev/nvidia1"]
    assert "GPU1=1" in injected["process"]["env"]


def test_broken_bundle_config_fails_cleanly(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    config = write_runtime_config(tmp_path / "runtime.toml", tmp_path / "cdi")
    broken = '{"process": {"env": ["CDI_DEVICES=example.com/test=dev0"]'
    bundle.config_path.write_text(broken, encoding="utf-8")

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 1
    assert "config.json is not valid JSON" in done.stderr
    assert bundle.config_path.read_text(encoding="utf-8") == broken


def test_passthrough_lifecycle(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    """create (injecting), then state/start/delete pass straight through to runc."""
    spec_dir = tmp_path / "cdi"
    _specs(spec_dir, tmp_path / "f", tmp_path)
    config = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    bundle.set_script("sleep 30", env=["NVIDIA_VISIBLE_DEVICES=1"])
    _privileged(bundle)
    env = {**os.environ, "CDIKIT_RUNTIME_CONFIG": str(config)}
    shim = str(tools["cdi-runtime"])
    root = ["--root", str(bundle.state)]

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        # Files, not pipes: the created container inherits runc's stdio and keeps it open.
        with (tmp_path / "out").open("w+") as out, (tmp_path / "err").open("w+") as err:
            done = subprocess.run([shim, *root, *args], stdout=out, stderr=err, env=env,
                                  stdin=subprocess.DEVNULL, timeout=60, check=False)  # fmt: skip
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(done.args, done.returncode, out.read(), err.read())

    created = call("create", "--bundle", str(bundle.dir), bundle.id)
    assert created.returncode == 0, created.stderr
    state = call("state", bundle.id)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["status"] == "created"
    assert call("start", bundle.id).returncode == 0
    assert json.loads(call("state", bundle.id).stdout)["status"] == "running"
    assert call("kill", bundle.id, "KILL").returncode == 0
    assert call("delete", "--force", bundle.id).returncode == 0
    missing = call("state", bundle.id)
    assert missing.returncode != 0 and "does not exist" in missing.stderr  # runc's own error, passed through


def test_shim_uses_configured_runtime_path(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    """`runtime` in the config picks the real runtime; the argv reaches it unchanged."""
    seen = tmp_path / "argv.json"
    fake = tmp_path / "fake-runc"
    fake.write_text(f'#!/bin/sh\nprintf \'%s\\n\' "$@" > {seen}\nexec {RUNC} "$@"\n', encoding="utf-8")
    fake.chmod(0o755)
    config = write_runtime_config(tmp_path / "runtime.toml", tmp_path / "cdi", runtime=str(fake))

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    args = seen.read_text(encoding="utf-8").splitlines()
    assert args == ["--root", str(bundle.state), "--log", str(bundle.dir / "runc-log.json"), "--log-format",
                    "json", "run", "--bundle", str(bundle.dir), bundle.id]  # fmt: skip


def test_nvidia_none_without_a_none_device_fails_like_nvidia(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path
) -> None:
    """nvidia's runtime fails the create: "unresolvable CDI devices nvidia.com/gpu=none"."""
    spec_dir = tmp_path / "cdi"
    _specs(spec_dir, tmp_path / "host-file.txt", tmp_path)
    config = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    bundle.set_script(SCRIPT, env=["NVIDIA_VISIBLE_DEVICES=none"])
    _privileged(bundle)
    before = bundle.config_path.read_bytes()
    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)
    assert done.returncode == 1
    assert "unresolvable CDI devices nvidia.com/gpu=none" in done.stderr
    assert bundle.config_path.read_bytes() == before
