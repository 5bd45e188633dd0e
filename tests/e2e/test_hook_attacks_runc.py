"""The container-boundary attacks of issue 11, each against real runc and a busybox rootfs.

Every test plants what a hostile image can plant (files, symlinks, its own
process environment), runs a container whose CDI device carries
``cdi-hook`` hooks through ``cdi-runtime``, and checks two things: the host
is untouched, and the hook still did its job inside the container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests._elfcraft import note_bomb
from tests.e2e._support import Bundle, hooks_device, host_library, run_runtime, snapshot

pytestmark = pytest.mark.e2e


def _run_with_hooks(
    bundle: Bundle,
    tools: dict[str, Path],
    tmp_path: Path,
    hooks: list[dict[str, Any]],
    script: str,
    env: list[str] | None = None,
) -> tuple[int, str, str]:
    config = hooks_device(tmp_path, hooks)
    bundle.set_script(script, env=["CDI_DEVICES=example.com/hooks=all", *(env or [])])
    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config, timeout=120)
    return done.returncode, done.stdout, done.stderr


def _plant_python_payload(bundle: Bundle, marker: Path) -> Path:
    """A directory in the image that imports code as soon as a Python interpreter looks at it."""
    evil = bundle.rootfs / "evil"
    evil.mkdir()
    payload = f"open({str(marker)!r}, 'a').write('pwned by the image\\n')\n"
    (evil / "sitecustomize.py").write_text(payload, encoding="utf-8")
    (evil / "usercustomize.py").write_text(payload, encoding="utf-8")
    for module in ("re", "os", "json"):  # shadowing modules the hook imports does not help either
        (evil / f"{module}.py").write_text(
            payload + f"raise ImportError('shadowed {module}')\n", encoding="utf-8"
        )
    return evil


def _preload_library(tmp_path: Path, marker: Path) -> Path | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = tmp_path / "preload.c"
    src.write_text(
        "#include <stdio.h>\n__attribute__((constructor)) static void pwn(void) {"
        f' FILE *f = fopen("{marker}", "a"); if (f) {{ fputs("pwned by LD_PRELOAD\\n", f); fclose(f); }} }}\n',
        encoding="utf-8",
    )
    out = tmp_path / "preload.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True, capture_output=True)
    return out


def test_injected_hook_without_env_does_not_get_the_container_environment(
    bundle: Bundle, tools: dict[str, Path], tmp_path: Path
) -> None:
    """A hand-written spec's hook without env, on a plain (non-isolated) Python hook script.

    runc gives such a hook the container's process environment: the image's
    PYTHONPATH (sitecustomize.py) and LD_PRELOAD ran its code as root on the
    host. Injected by cdi-runtime, the hook gets PATH as its whole environment.
    """
    marker = tmp_path / "host-marker"
    evil = _plant_python_payload(bundle, marker)
    env = [f"PYTHONPATH={evil}", f"PYTHONUSERBASE={evil}", "PYTHONINSPECT=1"]
    preload = _preload_library(tmp_path, marker)
    if preload is not None:
        env.append(f"LD_PRELOAD={preload}")
    hook = {"hookName": "createContainer", "path": str(tools["cdi-hook"]),
            "args": ["cdi-hook", "create-symlinks", "--link", "target::/made-by-hook"]}  # fmt: skip

    code, out, err = _run_with_hooks(
        bundle, tools, tmp_path, [hook], "echo HOOKED=$HOOKED; echo LINK=$(readlink /made-by-hook)", env=env
    )

    assert code == 0, err
    assert not marker.exists(), marker.read_text()
    assert "LINK=target" in out.splitlines()  # the hook still did its work


def test_launcher_ignores_the_container_environment(bundle: Bundle, tmp_path: Path) -> None:
    """A hook that is not injected by cdikit (straight in config.json), without env.

    The hook binary is the isolated launcher (cdi-hook --install-launcher): -I
    ignores PYTHONPATH and the user site, so the image's code never runs.
    """
    from cdikit._isolation import install_launcher
    from tests.e2e._support import RUNC

    launcher = install_launcher(str(tmp_path / "bin" / "cdi-hook"), "cdikit.integrations.hooks", "cdi-hook")
    marker = tmp_path / "host-marker"
    evil = _plant_python_payload(bundle, marker)
    cfg = bundle.config
    cfg["hooks"] = {"createContainer": [
        {"path": launcher, "args": ["cdi-hook", "create-symlinks", "--link", "target::/made-by-hook"]}
    ]}  # fmt: skip
    bundle.config = cfg
    bundle.set_script(
        "echo LINK=$(readlink /made-by-hook)", env=[f"PYTHONPATH={evil}", f"PYTHONUSERBASE={evil}"]
    )
    assert RUNC is not None

    done = run_runtime([RUNC], bundle)

    assert done.returncode == 0, done.stderr
    assert not marker.exists(), marker.read_text()
    assert "LINK=target" in done.stdout.splitlines()


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
    lib = host_library()
    if lib is None:
        pytest.skip("no libz shared library on this host to feed ldconfig")
    host_libs = tmp_path / "host-libs"
    host_libs.mkdir()
    shutil.copy2(lib, host_libs / lib.name)  # a library without its SONAME link: ldconfig would add it
    host_cache = tmp_path / "host-cache"
    host_cache.mkdir()
    before = (snapshot(host_libs), snapshot(host_cache))
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
    assert (snapshot(host_libs), snapshot(host_cache)) == before  # the host is untouched
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


def test_shim_keeps_numbers_runc_accepts(bundle: Bundle, tools: dict[str, Path], tmp_path: Path) -> None:
    """A config.json value runc accepts (1e999 where runc does not look) stays exactly as written.

    Re-encoded with Python's json it became ``Infinity``, which is not JSON:
    runc refused the bundle and the container did not start.
    """
    bundle.set_script("echo HOOKED=$HOOKED", env=["CDI_DEVICES=example.com/hooks=all"])
    text = bundle.config_path.read_text(encoding="utf-8")  # from here on edited as text, never re-encoded
    text = text.replace(
        '"ociVersion"', '"org.example.extension": {"ratio": 1e999, "f": 1.10}, "ociVersion"', 1
    )
    bundle.config_path.write_text(text, encoding="utf-8")
    config = hooks_device(tmp_path, [])

    done = run_runtime([str(tools["cdi-runtime"])], bundle, config=config)

    assert done.returncode == 0, done.stderr
    assert "HOOKED=1" in done.stdout.splitlines()
    written = bundle.config_path.read_text(encoding="utf-8")
    assert '"ratio":1e999' in written and '"f":1.10' in written
