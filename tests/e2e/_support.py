"""Shared helpers of the real-container tests: busybox rootfs, bundles, wrappers, runs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

RUNC = shutil.which("runc")
BUSYBOX = next(
    (p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.isfile(p)), shutil.which("busybox")
)
# Character devices outside runc's built-in allow list (null, zero, full, tty, random, urandom,
# ptmx, pts, tun): opening one inside a container works only with an injected cgroup rule.
EXTRA_DEVICES = [
    d for d in ("/dev/fuse", "/dev/loop-control", "/dev/kmsg", "/dev/vhost-net", "/dev/autofs")
    if os.path.exists(d) and stat.S_ISCHR(os.stat(d).st_mode)
]  # fmt: skip


def host_library() -> Path | None:
    """A real shared library with a SONAME (libz), to feed ldconfig."""
    import glob

    for pattern in (
        "/lib/*/libz.so.1.*",
        "/usr/lib/*/libz.so.1.*",
        "/lib64/libz.so.1.*",
        "/usr/lib64/libz.so.1.*",
    ):
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[0])
    return None


def snapshot(path: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under ``path``: mode and content (file bytes, link target, "" for dirs)."""
    snap: dict[str, tuple[int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                snap[str(p)] = (st.st_mode, os.readlink(p))
            else:
                snap[str(p)] = (st.st_mode, p.read_bytes() if stat.S_ISREG(st.st_mode) else "")
    return snap


def require_runc() -> None:
    """Skip (with the reason) unless real containers can run here."""
    if os.geteuid() != 0:
        pytest.skip("real-container tests need root (device nodes, cgroups, namespaces)")
    if RUNC is None:
        pytest.skip("runc is not installed (Debian package: runc)")
    if BUSYBOX is None:
        pytest.skip("busybox is not installed (Debian package: busybox-static)")
    if len(EXTRA_DEVICES) < 2:
        pytest.skip("needs two host char devices outside runc's default allow list (/dev/fuse, ...)")


def build_rootfs(dest: Path) -> Path:
    """A busybox root filesystem (about 2 MB) at ``dest``."""
    assert BUSYBOX is not None
    for d in ("bin", "dev", "proc", "sys", "etc", "tmp", "run"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":  # a self-link would clobber the binary
            link = dest / "bin" / applet
            if not link.exists():
                link.symlink_to("busybox")
    return dest


def write_wrapper(path: Path, module: str) -> Path:
    """An executable script running ``module``'s ``main()`` with this interpreter.

    Hooks get an empty environment from runc and the shim is started by
    containerd's shim: an absolute interpreter path makes both independent
    of PATH and of how cdikit was installed.
    """
    import cdikit

    # The hook gets an empty environment: pin the import path of this cdikit too.
    src = os.path.dirname(os.path.dirname(os.path.abspath(cdikit.__file__)))
    path.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {src!r})\nfrom {module} import main\n"
        "sys.exit(main())\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


class Bundle:
    """An OCI bundle with its own rootfs copy and runc state dir."""

    def __init__(self, base: Path, rootfs_template: Path) -> None:
        self.dir = base / "bundle"
        self.dir.mkdir(parents=True)
        self.rootfs = base / "rootfs"
        shutil.copytree(rootfs_template, self.rootfs, symlinks=True)
        self.state = base / "runc-state"
        self.id = f"cdikit-e2e-{uuid.uuid4().hex[:12]}"
        assert RUNC is not None
        subprocess.run([RUNC, "spec"], cwd=self.dir, check=True)
        cfg = self.config
        cfg["root"]["path"] = str(self.rootfs)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["/bin/true"]
        self.config = cfg

    @property
    def config_path(self) -> Path:
        return self.dir / "config.json"

    @property
    def config(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.config_path.read_text(encoding="utf-8"))
        return doc

    @config.setter
    def config(self, doc: dict[str, Any]) -> None:
        self.config_path.write_text(json.dumps(doc, indent=2), encoding="utf-8")

    def set_script(self, script: str, *, env: list[str] | None = None) -> None:
        cfg = self.config
        cfg["process"]["args"] = ["/bin/sh", "-c", script]
        cfg["process"]["env"] = cfg["process"]["env"] + list(env or [])
        self.config = cfg

    def cleanup(self) -> None:
        assert RUNC is not None
        subprocess.run(
            [RUNC, "--root", str(self.state), "delete", "-f", self.id], capture_output=True, check=False
        )


def run_runtime(
    runtime: list[str], bundle: Bundle, *, config: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``<runtime> --root STATE run --bundle DIR ID`` with stdin closed."""
    env = dict(os.environ)
    if config is not None:
        env["CDIKIT_RUNTIME_CONFIG"] = str(config)
    return subprocess.run(
        [*runtime, "--root", str(bundle.state), "--log", str(bundle.dir / "runc-log.json"), "--log-format",
         "json", "run", "--bundle", str(bundle.dir), bundle.id],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )  # fmt: skip


def write_spec(spec_dir: Path, name: str, spec: dict[str, Any]) -> Path:
    spec_dir.mkdir(parents=True, exist_ok=True)
    path = spec_dir / name
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


# The runtime config setting that lets an unprivileged test container ask for devices in its env
# (off by default: docs/security.md, "Request policy").
ENV_REQUESTS: dict[str, object] = {"accept-env-requests-when-unprivileged": True}


def write_runtime_config(path: Path, spec_dir: Path, **extra: object) -> Path:
    lines = [
        f"spec-dirs = [{json.dumps(str(spec_dir))}]",
        f"log-file = {json.dumps(str(path.with_suffix('.log')))}",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hooks_device(tmp_path: Path, hooks: list[dict[str, Any]]) -> Path:
    """A spec dir with device ``example.com/hooks=all`` (env ``HOOKED=1`` and ``hooks``); its shim config."""
    spec_dir = tmp_path / "cdi"
    write_spec(spec_dir, "hooks.json", {
        "cdiVersion": "0.5.0", "kind": "example.com/hooks",
        "devices": [{"name": "all", "containerEdits": {"env": ["HOOKED=1"], "hooks": hooks}}],
    })  # fmt: skip
    # The hook tests ask through the container's env (CDI_DEVICES) from unprivileged bundles.
    return write_runtime_config(tmp_path / "runtime.toml", spec_dir, **ENV_REQUESTS)
