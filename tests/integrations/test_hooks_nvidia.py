"""``disable-device-node-modification`` and ``update-application-profile`` (issue 16).

Real device nodes, real mounts (in a private mount namespace made by
``unshare``), real files; both run through the ``cdi-hook`` command line.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.integrations.hooks._appprofile import profile_config
from cdikit.integrations.hooks._devicefiles import modified_params

HOOK = [sys.executable, "-c", "import sys; from cdikit.integrations.hooks import main; sys.exit(main())"]


@pytest.fixture
def rootfs(tmp_path: Path) -> tuple[Path, Path]:
    """(bundle config.json for --container-spec, container rootfs)."""
    root = tmp_path / "rootfs"
    (root / "dev").mkdir(parents=True)
    spec = tmp_path / "config.json"
    spec.write_text(json.dumps({"root": {"path": str(root)}}), encoding="utf-8")
    return spec, root


def _hook(args: list[str], spec: Path) -> subprocess.CompletedProcess[str]:
    # As runc starts a hook of a generated spec: its own small env, no PYTHON* variables.
    return subprocess.run([*HOOK, *args, "--container-spec", str(spec)], capture_output=True, text=True,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, timeout=60, check=False)  # fmt: skip


def _mknod(path: Path, minor: int, major: int = 195) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    except PermissionError:
        pytest.skip("needs mknod (root)")


# --------------------------------------------------------------------------- update-application-profile


@pytest.mark.parametrize(
    ("mask", "text"),
    [
        (0x9, '{"profiles":[{"name":"_container_","settings":["EGLVisibleDGPUDevices",0x9]}],'
              '"rules":[{"pattern":[],"profile":"_container_"}]}'),
        (1 << 63, '{"profiles":[{"name":"_container_","settings":["EGLVisibleDGPUDevices",0x8000000000000000]}],'
                  '"rules":[{"pattern":[],"profile":"_container_"}]}'),
    ],
)  # fmt: skip
def test_profile_config_is_nvidias_byte_for_byte(mask: int, text: str) -> None:
    assert profile_config(mask) == text.encode()


def test_application_profile_masks_the_containers_gpus(rootfs: tuple[Path, Path]) -> None:
    spec, root = rootfs
    _mknod(root / "dev/nvidia0", 0)
    _mknod(root / "dev/nvidia3", 3)
    _mknod(root / "dev/nvidiactl", 255)  # not nvidia<N>
    _mknod(root / "dev/nvidia70", 70)  # minor >= 64: dropped with a warning
    (root / "dev/nvidia5").write_text("")  # not a character device
    os.symlink("/dev/nvidia9", root / "dev/nvidia9")  # a link is not a node either
    done = _hook(["update-application-profile"], spec)
    assert done.returncode == 0, done.stderr
    assert "dropping invalid minor number 70" in done.stderr
    profile = root / "etc/nvidia/nvidia-application-profiles-rc.d/10-container.conf"
    assert profile.read_bytes() == profile_config(0x9)
    assert stat.S_IMODE(profile.stat().st_mode) == 0o444
    assert stat.S_IMODE(profile.parent.stat().st_mode) == 0o555
    assert stat.S_IMODE((root / "etc/nvidia").stat().st_mode) == 0o555
    # Idempotent: a restart of the same container filesystem rewrites the same file.
    _mknod(root / "dev/nvidia1", 1)
    assert _hook(["update-application-profile"], spec).returncode == 0
    assert profile.read_bytes() == profile_config(0xB)


def test_application_profile_without_gpus_writes_nothing(rootfs: tuple[Path, Path]) -> None:
    spec, root = rootfs
    _mknod(root / "dev/nvidiactl", 255)
    assert _hook(["update-application-profile"], spec).returncode == 0
    assert not (root / "etc").exists()
    shutil.rmtree(root / "dev")
    assert _hook(["update-application-profile"], spec).returncode == 0  # no /dev at all


def test_application_profile_stays_inside_the_root(rootfs: tuple[Path, Path], tmp_path: Path) -> None:
    spec, root = rootfs
    host = tmp_path / "host-etc"
    host.mkdir()
    _mknod(root / "dev/nvidia0", 0)
    os.symlink(str(host), root / "etc")  # an image planting /etc -> a host path
    (host / "nvidia").mkdir()
    done = _hook(["update-application-profile"], spec)
    assert done.returncode == 0, done.stderr
    assert not (host / "nvidia/nvidia-application-profiles-rc.d").exists()
    assert (
        root / str(host).lstrip("/") / "nvidia/nvidia-application-profiles-rc.d/10-container.conf"
    ).exists()


# --------------------------------------------------------------------------- disable-device-node-modification


@pytest.mark.parametrize(
    ("text", "result"),
    [
        (b"ResmanDebugLevel: 4294967295\nModifyDeviceFiles: 1\nDeviceFileUID: 0\n",
         b"ResmanDebugLevel: 4294967295\nModifyDeviceFiles: 0\nDeviceFileUID: 0\n"),
        (b"ModifyDeviceFiles: 1", b"ModifyDeviceFiles: 0\n"),  # last line without newline
        (b"ModifyDeviceFiles: 0\n", None),
        (b"DeviceFileUID: 0\n", None),  # no such line: nothing to change
        (b"ModifyDeviceFiles: 2\n", None),
    ],
)  # fmt: skip
def test_modified_params(text: bytes, result: bytes | None) -> None:
    assert modified_params(text) == result


def _in_private_mounts(script: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_params_are_bind_mounted_read_only(rootfs: tuple[Path, Path], tmp_path: Path) -> None:
    spec, root = rootfs
    (root / "proc/driver/nvidia").mkdir(parents=True)
    (root / "proc/driver/nvidia/params").write_text("ModifyDeviceFiles: 1\n")
    (root / "run").mkdir()
    host = tmp_path / "host-params"
    host.write_text("ResmanDebugLevel: 1\nModifyDeviceFiles: 1\n")
    hook = " ".join(f"'{a}'" for a in HOOK)
    done = _in_private_mounts(
        f"{hook} disable-device-node-modification --nvidia-params {host} --container-spec {spec}\n"
        f"cat {root}/proc/driver/nvidia/params\n"
        f"if echo x > {root}/proc/driver/nvidia/params 2>/dev/null; then echo WRITABLE; else echo READONLY; fi\n"
        f"ls -A {root}/run | wc -l\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ResmanDebugLevel: 1", "ModifyDeviceFiles: 0", "READONLY", "0"]
    # Outside the namespace nothing was mounted; the container file is untouched.
    assert (root / "proc/driver/nvidia/params").read_text() == "ModifyDeviceFiles: 1\n"


def test_params_hook_is_a_no_op_without_a_driver(rootfs: tuple[Path, Path], tmp_path: Path) -> None:
    spec, root = rootfs
    done = _hook(["disable-device-node-modification", "--nvidia-params", str(tmp_path / "absent")], spec)
    assert done.returncode == 0 and done.stderr == ""
    assert sorted(p.name for p in root.iterdir()) == ["dev"]


def test_params_target_planted_as_a_symlink_stays_inside(rootfs: tuple[Path, Path], tmp_path: Path) -> None:
    spec, root = rootfs
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    (root / "proc/driver/nvidia").mkdir(parents=True)
    os.symlink(str(victim), root / "proc/driver/nvidia/params")  # absolute: resolved inside the root
    host = tmp_path / "host-params"
    host.write_text("ModifyDeviceFiles: 1\n")
    hook = " ".join(f"'{a}'" for a in HOOK)
    done = _in_private_mounts(
        f"{hook} disable-device-node-modification --nvidia-params {host} --container-spec {spec} || echo FAILED\n"
        f"cat {victim}\n"
    )
    assert "host file" in done.stdout  # the host file was never mounted over
    assert "FAILED" in done.stdout  # the link's target does not exist inside the root


# --------------------------------------------------------------------------- properties

_param_lines = st.lists(
    st.one_of(
        st.sampled_from([b"ModifyDeviceFiles: 0", b"ModifyDeviceFiles: 1", b"DeviceFileMode: 438"]),
        st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
    ),
    max_size=8,
)


@given(_param_lines)
def test_modified_params_only_turns_modification_off(lines: list[bytes]) -> None:
    out = modified_params(b"".join(line + b"\n" for line in lines))
    if out is None:
        return
    new = out.split(b"\n")[:-1]
    assert len(new) == len(lines)
    for before, after in zip(lines, new, strict=True):
        assert after == before or (before, after) == (b"ModifyDeviceFiles: 1", b"ModifyDeviceFiles: 0")
    assert modified_params(out) is None  # applying it twice changes nothing more


@given(st.sets(st.integers(0, 63)))
def test_profile_mask_is_a_hex_literal_of_the_minors(minors: set[int]) -> None:
    mask = sum(1 << m for m in minors)
    text = profile_config(mask).decode()
    literal = text.split('"EGLVisibleDGPUDevices",', 1)[1].split("]", 1)[0]
    assert int(literal, 16) == mask
