"""The container-boundary attacks of issue 11, each against real runc and a busybox rootfs.

Every test plants what a hostile image can plant (files, symlinks, its own
process environment), runs a container whose CDI device carries
``cdi-hook`` hooks through ``cdi-runtime``, and checks two things: the host
is untouched, and the hook still did its job inside the container.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests._elfcraft import note_bomb
from tests.e2e._support import Bundle, run_runtime, write_runtime_config, write_spec

pytestmark = pytest.mark.e2e


def _host_library() -> Path:
    for pattern in (
        "/lib/*/libz.so.1.*",
        "/usr/lib/*/libz.so.1.*",
        "/lib64/libz.so.1.*",
        "/usr/lib64/libz.so.1.*",
    ):
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[0])
    pytest.skip("no libz shared library on this host to feed ldconfig")


def _snapshot(path: Path) -> dict[str, tuple[int, bytes | str]]:
    snap: dict[str, tuple[int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            snap[str(p)] = (
                st.st_mode,
                p.read_bytes()
                if p.is_file() and not p.is_symlink()
                else os.readlink(p)
                if p.is_symlink()
                else "",
            )
    return snap


def _run_with_hooks(
    bundle: Bundle,
    tools: dict[str, Path],
    tmp_path: Path,
    hooks: list[dict[str, Any]],
    script: str,
    env: list[str] | None = None,
) -> tuple[int, str, str]:
    spec_dir = tmp_path / "cdi"
    write_spec(spec_dir, "hooks.json", {
        "cdiVersion": "0.5.0", "kind": "example.com/hooks",
        "devices": [{"name": "all", "containerEdits": {"env": ["HOOKED=1"], "hooks": hooks}}],
    })  # fmt: skip
    config = write_runtime_config(tmp_path / "runtime.toml", spec_dir)
    bundle.set_script(script, env=["CDI_DEVICES=example.com/hooks=all", *(env or [])])
    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_ldconfig_cannot_reach_the_host_through_proc(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path
) -> None:
    """An ld.so.conf line and a /var/cache/ldconfig symlink through /proc/1/root (the host root).

    With ``ldconfig -r`` (a chroot, the container's /proc mounted) host
    ldconfig made SONAME links in the host dir the image named and wrote its
    aux cache into another. Confined (namespaces, pivot_root, fresh /proc) both
    names point inside the container; the container's cache is still built.
    """
    if not os.path.exists("/sbin/ldconfig"):
        pytest.skip("no /sbin/ldconfig on this host")
    lib = _host_library()
    host_libs = tmp_path / "host-libs"
    host_libs.mkdir()
    shutil.copy2(lib, host_libs / lib.name)  # a library without its SONAME link: ldconfig would add it
    host_cache = tmp_path / "host-cache"
    host_cache.mkdir()
    before = (_snapshot(host_libs), _snapshot(host_cache))
    root = bundle.rootfs
    (root / "opt/vendor/lib").mkdir(parents=True)
    shutil.copy2(lib, root / "opt/vendor/lib" / lib.name)
    (root / "etc/ld.so.conf").write_text(f"/proc/1/root{host_libs}\ninclude /etc/ld.so.conf.d/*.conf\n")
    (root / "var/cache").mkdir(parents=True)
    os.symlink(f"/proc/1/root{host_cache}", root / "var/cache/ldconfig")
    hook = {"hookName": "createContainer", "path": str(tools["cdi-hook"]),
            "args": ["cdi-hook", "update-ldcache", "--folder", "/opt/vendor/lib"]}  # fmt: skip

    code, out, err = _run_with_hooks(
        bundle,
        tools,
        tmp_path,
        [hook],
        "echo HOOKED=$HOOKED; echo SONAME=$(readlink /opt/vendor/lib/libz.so.1);"
        "grep -c /opt/vendor/lib/libz.so.1 /etc/ld.so.cache",
    )

    assert code == 0, err
    assert (_snapshot(host_libs), _snapshot(host_cache)) == before  # the host is untouched
    assert not (host_libs / "libz.so.1").exists()
    assert not (host_cache / "aux-cache").exists()
    lines = out.splitlines()
    assert "HOOKED=1" in lines
    assert "SONAME=" + lib.name in lines  # ldconfig still ran on the container's folder
    assert "1" in lines  # and the container's cache lists the library


def test_crafted_compat_library_is_read_bounded(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path
) -> None:
    """The issue's 1.3 MB crafted libcuda.so.* (over 60 s, 3 GB RSS unbounded).

    The hook has a 20 s timeout that runc enforces: unbounded it is killed and
    the container fails; bounded it finishes, and the compat decision still
    comes from the file name.
    """
    compat = bundle.rootfs / "usr/local/cuda/compat"
    compat.mkdir(parents=True)
    (compat / "libcuda.so.590.44.01").write_bytes(note_bomb())
    hook = {"hookName": "createContainer", "path": str(tools["cdi-hook"]), "timeout": 20,
            "args": ["cdi-hook", "enable-cuda-compat", "--host-driver-version=580.65.06"]}  # fmt: skip

    code, out, err = _run_with_hooks(
        bundle, tools, tmp_path, [hook], "echo COMPAT=$(cat /etc/ld.so.conf.d/00-cdikit-compat.conf)"
    )

    assert code == 0, err
    assert "COMPAT=/usr/local/cuda/compat" in out.splitlines()
