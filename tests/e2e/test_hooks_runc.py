"""``cdi-hook`` subcommands as createContainer hooks of real runc containers.

The hooks come from a CDI spec injected by ``cdi-runtime``, and the rootfs is
booby-trapped with absolute and ``..`` symlinks aimed at a host directory:
every effect must land inside the container, and the host directory must stay
exactly as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e._support import Bundle, hooks_device, host_library, run_runtime, snapshot, write_runtime_config

pytestmark = pytest.mark.e2e


def _hook(tool: Path, *args: str) -> dict[str, Any]:
    return {"hookName": "createContainer", "path": str(tool), "args": ["cdi-hook", *args]}


@pytest.fixture
def trapped(bundle: Bundle, tmp_path: Path) -> tuple[Bundle, Path]:
    """The bundle's rootfs with hostile symlinks pointing at a host sentinel dir."""
    sentinel = tmp_path / "host-sentinel"
    sentinel.mkdir()
    (sentinel / "precious").write_text("host data\n", encoding="utf-8")
    os.chmod(sentinel / "precious", 0o644)
    root = bundle.rootfs
    (root / "lib").mkdir(exist_ok=True)
    os.symlink("/", root / "lib" / "up")  # absolute: must mean the container root
    os.symlink("../../../../../../../../" + str(sentinel).lstrip("/"), root / "climb")  # '..' past the root
    os.symlink(str(sentinel), root / "abs-host")  # an absolute host path
    os.symlink(str(sentinel / "precious"), root / "precious-link")
    return bundle, sentinel


def test_hooks_work_inside_the_root_and_never_touch_the_host(
    trapped: tuple[Bundle, Path], tools: dict[str, Path], tmp_path: Path
) -> None:
    bundle, sentinel = trapped
    lib = host_library()
    if lib is None:
        pytest.skip("no libz shared library on this host to feed ldconfig")
    if not os.path.exists("/sbin/ldconfig"):
        pytest.skip("no /sbin/ldconfig on this host")
    root = bundle.rootfs
    (root / "opt/vendor/lib").mkdir(parents=True)
    shutil.copy2(lib, root / "opt/vendor/lib" / lib.name)
    (root / "data").mkdir()
    (root / "data/file").write_text("x\n", encoding="utf-8")
    os.chmod(root / "data/file", 0o644)
    (root / "usr/local/cuda/compat").mkdir(parents=True)
    (root / "usr/local/cuda/compat/libcuda.so.590.44.01").write_bytes(b"not an ELF, never executed")
    # /etc/ld.so.conf.d is itself a trap: an absolute link to the host sentinel.
    os.symlink(str(sentinel), root / "etc/ld.so.conf.d")
    before = snapshot(sentinel)

    hook = tools["cdi-hook"]
    hooks = [
        _hook(hook, "create-symlinks", "--link", "libfoo.so.1::/usr/lib/libfoo.so",
              "--link", "via-abs::/lib/up/escaped-abs", "--link", "via-dotdot::/climb/pwned",
              "--link", "via-host::/abs-host/pwned2", "--link=dots::/../../../../../tmp/dots-link"),
        _hook(hook, "chmod", "--mode", "600", "--path", "/data/file", "--path", "/precious-link",
              "--path", "/does/not/exist"),
        _hook(hook, "enable-cuda-compat", "--host-driver-version=580.65.06"),
        _hook(hook, "update-ldcache", "--folder", "/opt/vendor/lib"),
    ]  # fmt: skip
    config = hooks_device(tmp_path, hooks)
    bundle.set_script(
        "echo HOOKED=$HOOKED;"
        "echo L1=$(readlink /usr/lib/libfoo.so); echo L2=$(readlink /escaped-abs);"
        "echo L3=$(readlink /pwned); echo L4=$(readlink /tmp/dots-link);"
        "echo MODE=$(stat -c %a /data/file);"
        f"echo SONAME=$(readlink /opt/vendor/lib/libz.so.1);"
        "grep -c /opt/vendor/lib/libz.so.1 /etc/ld.so.cache;"
        f"echo DROPIN=$(cat {sentinel}/00-cdikit.conf); echo COMPAT=$(cat {sentinel}/00-cdikit-compat.conf);"
        'echo "CONF=$(cat /etc/ld.so.conf)"',
        env=["CDI_DEVICES=example.com/hooks=all"],
    )

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "HOOKED=1" in out
    assert "L1=libfoo.so.1" in out
    assert "L2=via-abs" in out  # /lib/up -> / resolved to the container root
    assert "L4=dots" in out
    assert "MODE=600" in out
    assert "SONAME=" + lib.name in out  # ldconfig ran on the container's folder
    assert "1" in out  # the cache lists the library
    assert "DROPIN=/opt/vendor/lib" in out  # written through the trap, but inside the root
    assert "COMPAT=/usr/local/cuda/compat" in out  # 590 compat lib, host 580: compat used
    assert "CONF=include /etc/ld.so.conf.d/*.conf" in out
    # '..' past the root and absolute host paths were re-rooted inside the container.
    inner = root / str(sentinel).lstrip("/")
    assert os.readlink(inner / "pwned") == "via-dotdot"
    assert os.readlink(inner / "pwned2") == "via-host"
    assert (inner / "00-cdikit.conf").read_text(encoding="utf-8") == "/opt/vendor/lib\n"
    assert snapshot(sentinel) == before  # the host sentinel is untouched (content, modes, entries)
    assert not Path("/tmp/dots-link").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-symlinks", "--link", "no-separator"], "invalid symlink specification"),
        (["create-symlinks", "--link", "a::b::c"], "invalid symlink specification"),
        (["chmod", "--mode", "9z9", "--path", "/x"], "invalid mode"),
        (["create-symlinks", "--bogus", "x"], "unknown flag --bogus"),
    ],
)
def test_failing_hook_fails_container_creation(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    cfg = bundle.config
    log = tmp_path / "hook-stderr"
    cfg["hooks"] = {"createContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", f'"$0" "$@" 2>{log}', str(tools["cdi-hook"]), *args]}
    ]}  # fmt: skip
    cfg["process"]["args"] = ["/bin/sh", "-c", "echo CONTAINER_RAN"]
    bundle.config = cfg

    done = run_runtime(
        [str(tools["cdi-runtime"])], bundle, config=write_runtime_config(tmp_path / "rt.toml", tmp_path)
    )

    assert done.returncode != 0
    assert "CONTAINER_RAN" not in done.stdout
    assert message in log.read_text(encoding="utf-8")


def test_unknown_hook_does_not_block_the_container(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path
) -> None:
    cfg = bundle.config
    cfg["hooks"] = {"createContainer": [
        {"path": str(tools["cdi-hook"]), "args": ["cdi-hook", "--quiet", "some-future-hook", "--flag", "x"]}
    ]}  # fmt: skip
    cfg["process"]["args"] = ["/bin/sh", "-c", "echo CONTAINER_RAN"]
    bundle.config = cfg

    done = run_runtime(
        [str(tools["cdi-runtime"])], bundle, config=write_runtime_config(tmp_path / "rt.toml", tmp_path)
    )

    assert done.returncode == 0, done.stderr
    assert "CONTAINER_RAN" in done.stdout
