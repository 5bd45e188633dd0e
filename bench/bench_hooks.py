"""Benchmark: the OCI hooks of one GPU container, cdi-hook vs NVIDIA's nvidia-cdi-hook.

    sudo .venv/bin/python bench/bench_hooks.py [--runs 20]

Specs are generated on the fake driver root of the tests (driver 580.65.06,
real ELF libraries, 2 GPUs) in nvml mode (fake NVML) and in management mode,
once for each hook binary: with ``nvidia-cdi-hook`` the spec holds NVIDIA's
hooks one per step (its two NVIDIA-only hooks included), with ``cdi-hook``
each edits group's hooks are one ``cdi-hook chain`` (and a GPU's by-path links
its last step: one process per container). A "container" requesting
GPU 0 runs the spec-level hooks and those of device ``0`` (management mode:
``all``), in order, as whole processes with the OCI state on stdin, against a
fresh container root (a bind mount, as runc's rootfs is: NVIDIA's
update-ldcache pivots into it) holding the driver libraries and ldconfig.

Also one ``create-symlinks`` and one ``update-ldcache`` alone. cdikit's hooks
run through an ``-I -S`` launcher (what ``cdi-hook --install-launcher``
writes) and, for reference, through pip's console script. Target (issue 14):
a GPU container's hooks cost no more than NVIDIA's (ratio <= 1.0).
nvidia-cdi-hook comes from ``$CDIKIT_BENCH_GO_BIN`` (see bench/_common.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    ISSUE_FIGURES_MS,
    Case,
    bench_env,
    compile_bytecode,
    go_tool,
    header,
    row,
    time_cases,
)

_NS_MARK = "_CDIKIT_BENCH_HOOKS_NS"


def _reexec_in_mount_namespace() -> None:
    """Run this benchmark in a private mount namespace (for the rootfs bind mount)."""
    if os.environ.get(_NS_MARK) == "1":
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SystemExit("needs unshare(1) (util-linux)")
    env = {**os.environ, _NS_MARK: "1"}
    os.execve(unshare, [unshare, "-m", "--propagation", "private", sys.executable, *sys.argv], env)


def _hook_launcher(path: Path) -> str:
    """``cdi-hook --install-launcher PATH`` (an isolated ``-I -S`` launcher, named ``cdi-hook``)."""
    from cdikit import _isolation

    return _isolation.install_launcher(str(path), "cdikit.integrations.hooks", "cdi-hook")


def _container_hooks(spec: object, device: str) -> list[tuple[list[str], list[str]]]:
    """(argv, env) of the hooks a container requesting ``device`` runs (argv: path, then args[1:])."""
    hooks = list(spec.edits.hooks or [])  # type: ignore[attr-defined]
    dev = next(d for d in spec.devices or [] if d.name == device)  # type: ignore[attr-defined]
    hooks += dev.edits.hooks or []
    return [
        ([h.path, *(h.args or [])[1:]], list(h.env or [])) for h in hooks if h.hook_name == "createContainer"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (hooks run as root; NVIDIA's update-ldcache pivots into the rootfs)")
        return 1
    _reexec_in_mount_namespace()
    compile_bytecode()
    from tests.producers import fakeroot

    from cdikit.producers.nvidia.generate import GenerateOptions, generate
    from cdikit.producers.nvidia.nvml import FakeBackend

    nvidia_hook = go_tool("nvidia-cdi-hook")
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    with tempfile.TemporaryDirectory(prefix="cdikit-bench-hooks-") as tmp:
        work = Path(tmp)
        fr = fakeroot.build_nvidia_root(work / "driver")
        (work / "bin").mkdir()
        launcher = _hook_launcher(work / "bin" / "cdi-hook")
        console = str(Path(sys.executable).parent / "cdi-hook")
        # The container: a rootfs with the driver's libraries (as the spec's mounts put them) and ldconfig.
        template = work / "rootfs-template"
        libdir = template / fakeroot.LIBDIR
        shutil.copytree(fr.path / fakeroot.LIBDIR, libdir, symlinks=True)
        for d in ("etc", "sbin", "dev/dri", "proc", "usr/bin"):
            (template / d).mkdir(parents=True, exist_ok=True)
        shutil.copy2(ldconfig, template / "sbin" / "ldconfig")
        bundle = work / "bundle"
        rootfs = bundle / "rootfs"
        rootfs.mkdir(parents=True)
        subprocess.run(["mount", "--bind", str(rootfs), str(rootfs)], check=True)
        (bundle / "config.json").write_text(json.dumps({"ociVersion": "1.2.0", "root": {"path": "rootfs"}}))
        state = json.dumps({"ociVersion": "1.2.0", "id": "bench", "status": "creating", "pid": os.getpid(),
                            "bundle": str(bundle)}).encode()  # fmt: skip

        def fresh_rootfs() -> None:
            for child in rootfs.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            shutil.copytree(template, rootfs, symlinks=True, dirs_exist_ok=True)

        def spec(mode: str, hook_path: str) -> object:
            r = str(fr.path)
            opts = GenerateOptions(mode=mode, driver_root=r, sys_root=r, proc_root=r, hook_path=hook_path,
                                   fake_device_nodes=not fr.real_nodes, kernel_release="6.8.0-fake")  # fmt: skip
            return generate(opts, backend=FakeBackend(fakeroot.harness_nvml())).spec

        env = bench_env()

        def container(argvs: list[tuple[list[str], list[str]]]) -> Case:
            # Each hook is its own process, started by a tiny driver that feeds the state, gives the
            # hook only its spec env, and stops at the first failure, as runc does.
            return Case([sys.executable, "-I", "-S", "-c", _DRIVER, json.dumps(argvs)], env=env,
                        before=fresh_rootfs, stdin=state)  # fmt: skip

        results: dict[str, float] = {}
        counts: dict[str, tuple[int, int]] = {}
        for mode, device in (("nvml", "0"), ("management", "all")):
            ours = _container_hooks(spec(mode, launcher), device)
            ours_console = [([console, *a[1:]], env) for a, env in ours]
            cases = {f"{mode} cdikit": container(ours), f"{mode} cdikit console": container(ours_console)}
            theirs: list[tuple[list[str], list[str]]] = []
            if nvidia_hook:
                theirs = _container_hooks(spec(mode, nvidia_hook), device)
                cases[f"{mode} nvidia"] = container(theirs)
            cases[f"{mode} driver"] = container([])  # the driver's own cost, subtracted below
            results.update(time_cases(cases, args.runs))
            counts[mode] = (len(ours), len(theirs))

        hook_env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NVIDIA_CTK_DEBUG=false"]
        link = ["create-symlinks", "--link", "libcuda.so.1::/usr/lib/x86_64-linux-gnu/libcuda.so"]
        ldcache = ["update-ldcache", "--folder", "/usr/lib/x86_64-linux-gnu"]
        cases = {}
        for label, hook_args in (("create-symlinks", link), ("update-ldcache", ldcache)):
            cases[f"{label} cdikit"] = container([([launcher, *hook_args], hook_env)])
            if nvidia_hook:
                cases[f"{label} nvidia"] = container([([nvidia_hook, *hook_args], hook_env)])
        cases["driver"] = container([])
        cases["bare python -I -S"] = Case([sys.executable, "-I", "-S", "-c", "pass"], env=env)
        results.update(time_cases(cases, args.runs))
        subprocess.run(["umount", str(rootfs)], check=False)

    header(
        f"OCI hooks of one container, whole processes (ms, median of {args.runs}; the driver's own cost removed)"
    )
    for mode, key in (("nvml", "hooks-nvml"), ("management", "hooks-management")):
        base = results[f"{mode} driver"]
        ours = results[f"{mode} cdikit"] - base
        go = results[f"{mode} nvidia"] - base if f"{mode} nvidia" in results else ISSUE_FIGURES_MS[key]
        n_ours, n_theirs = counts[mode]
        note = "" if f"{mode} nvidia" in results else "*"
        label = f"{mode}-mode spec, GPU 0 (nvidia {n_theirs or '?'} hooks, cdikit {n_ours})"
        print(row(label, go, ours, "ratio <= 1.0", ours <= go, note))
        console_ms = results[f"{mode} cdikit console"] - base
        print(row("  same, cdi-hook through pip's console script", go, console_ms, "(info)", None, note))
    base = results["driver"]
    for label in ("create-symlinks", "update-ldcache"):
        ours = results[f"{label} cdikit"] - base
        go = results[f"{label} nvidia"] - base if f"{label} nvidia" in results else ISSUE_FIGURES_MS[label]
        note = "" if f"{label} nvidia" in results else "*"
        print(row(f"one {label}", go, ours, "(info)", None, note))
    print(f"  bare python -I -S -c pass: {results['bare python -I -S']:.1f} ms")
    if not nvidia_hook:
        print("  * the issue's figure for nvidia-cdi-hook (not measured here)")
    return 0


# Runs each hook (argv[1] = JSON list of [argv, env]) with the OCI state on stdin and only the
# spec's env, in order; stops at the first failure, as runc does.
_DRIVER = """
import os, subprocess, sys, json
state = sys.stdin.buffer.read()
for argv, env in json.loads(sys.argv[1]):
    env = dict(e.split("=", 1) for e in env)
    r = subprocess.run(argv, input=state, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if r.returncode:
        sys.stderr.buffer.write(r.stderr)
        sys.exit(f"hook {argv} failed")
"""

if __name__ == "__main__":
    raise SystemExit(main())
