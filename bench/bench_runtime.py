"""Benchmark: what ``cdi-runtime`` adds in front of runc, side by side with nvidia-container-runtime.

    sudo .venv/bin/python bench/bench_runtime.py [--runs 20]

Whole processes, median of ``--runs`` each, bytecode compiled, real runc and a
busybox bundle:

* ``create`` with 8 CDI devices requested through a ``cdi.k8s.io/`` annotation
  (8 device nodes, env, cgroup rules; ``config.json`` restored and the
  container deleted around each run, outside the timing): runc alone, the
  cdikit launcher with the warm edit cache, cold (edit cache off; the
  registry's disk cache on), coldest (no cache at all), and
  nvidia-container-runtime 1.20.0 in cdi mode over the same spec dir;
* ``run`` of ``/bin/true`` with the same 8 devices, and with no request;
* the passthrough ``state`` of a created container.

Targets (issue 14): passthrough <= +2 ms over runc; run/create with 8 devices
<= +8 ms warm, <= +20 ms cold. nvidia-container-runtime comes from
``$CDIKIT_BENCH_GO_BIN`` (see bench/_common.py); without it the issue's
figures are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
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

DEVICES = 8


def _build(work: Path) -> tuple[Path, Path]:
    busybox = next(
        (p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.isfile(p)), shutil.which("busybox")
    )
    assert busybox is not None, "busybox is not installed"
    rootfs = work / "rootfs"
    for d in ("bin", "dev", "proc", "sys", "etc", "tmp"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    for tool in ("true", "sleep"):
        (rootfs / "bin" / tool).symlink_to("busybox")
    bundle = work / "bundle"
    bundle.mkdir()
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["root"]["path"] = str(rootfs)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    (bundle / "config.json").write_text(json.dumps(cfg, indent=2))
    return rootfs, bundle


def _spec(spec_dir: Path) -> list[str]:
    spec_dir.mkdir()
    hosts = [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/fuse",
        "/dev/null",
    ]
    devices = [
        {"name": f"dev{i}", "containerEdits": {"env": [f"DEV{i}=1"],
         "deviceNodes": [{"path": f"/dev/bench{i}", "hostPath": host}]}}
        for i, host in enumerate(hosts[:DEVICES])
    ]  # fmt: skip
    spec = {"cdiVersion": "0.5.0", "kind": "bench.example.com/dev", "devices": devices,
            "containerEdits": {"env": ["BENCH=1"]}}  # fmt: skip
    (spec_dir / "bench.json").write_text(json.dumps(spec))
    return [f"bench.example.com/dev=dev{i}" for i in range(DEVICES)]


def _nvidia_config(work: Path, runc: str, spec_dir: Path) -> Path:
    path = work / "nvidia-config.toml"
    path.write_text(
        "[nvidia-container-runtime]\n"
        'mode = "cdi"\n'
        f'runtimes = ["{runc}"]\n'
        'log-level = "info"\n'
        "[nvidia-container-runtime.modes.cdi]\n"
        f'spec-dirs = ["{spec_dir}"]\n'
        'annotation-prefixes = ["cdi.k8s.io/"]\n'
        'default-kind = "nvidia.com/gpu"\n'
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    runc = shutil.which("runc")
    if os.geteuid() != 0 or runc is None:
        print("needs root and runc (apt-get install runc busybox-static)")
        return 1
    compile_bytecode()
    nvidia_runtime = go_tool("nvidia-container-runtime")
    runs = args.runs
    with tempfile.TemporaryDirectory(prefix="cdikit-bench-") as tmp:
        work = Path(tmp)
        _, bundle = _build(work)
        spec_dir = work / "cdi"
        names = _spec(spec_dir)
        state = work / "state"
        config = work / "runtime.toml"
        config.write_text(f'runtime = "{runc}"\nspec-dirs = ["{spec_dir}"]\n')
        env = bench_env(CDIKIT_RUNTIME_CONFIG=str(config), CDIKIT_CACHE_DIR=str(work / "cache"))
        if nvidia_runtime:
            env["NVIDIA_CTK_CONFIG_FILE_PATH"] = str(_nvidia_config(work, runc, spec_dir))
        cold_env = {**env, "CDIKIT_RUNTIME_EDIT_CACHE": "off"}
        coldest_env = {**env, "CDIKIT_CACHE_DIR": "off"}
        # Timestamps younger than the racy window are never cached: let the spec file age.
        time.sleep(2.1)
        from cdikit.integrations.runtime._launcher import install_launcher

        launcher = install_launcher(str(work / "cdi-runtime-launcher"))
        console = Path(sys.executable).parent / "cdi-runtime"

        base_cfg = json.loads((bundle / "config.json").read_text())
        plain = json.dumps(base_cfg)
        requested_doc = {**base_cfg, "annotations": {"cdi.k8s.io/bench": ",".join(names)}}
        requested = json.dumps(requested_doc)
        ids: list[str] = []

        def restore(text: str) -> object:
            return lambda: (bundle / "config.json").write_text(text)

        def command(prefix: list[str], sub: str) -> object:
            def argv() -> list[str]:
                ids.append(f"b-{uuid.uuid4().hex[:10]}")
                return [*prefix, "--root", str(state), sub, "--bundle", str(bundle), ids[-1]]

            return argv

        def delete_last() -> None:
            subprocess.run(
                [runc, "--root", str(state), "delete", "-f", ids[-1]], capture_output=True, check=False
            )

        def case(prefix: list[str], sub: str, text: str, run_env: dict[str, str]) -> Case:
            return Case(
                command(prefix, sub),  # type: ignore[arg-type]
                env=run_env,
                before=restore(text),  # type: ignore[arg-type]
                after=delete_last if sub == "create" else None,
            )

        results: dict[str, float] = {}
        for sub in ("create", "run"):
            cases = {
                f"{sub} runc": case([runc], sub, requested, env),
                f"{sub} warm": case([launcher], sub, requested, env),
                f"{sub} cold": case([launcher], sub, requested, cold_env),
                f"{sub} coldest": case([launcher], sub, requested, coldest_env),
                f"{sub} none": case([launcher], sub, plain, env),
            }
            if nvidia_runtime:
                cases[f"{sub} nvidia"] = case([nvidia_runtime], sub, requested, env)
            results.update(time_cases(cases, runs))

        # Passthrough: `state` of a created (not started) container.
        cfg = json.loads(plain)
        cfg["process"]["args"] = ["/bin/sleep", "600"]
        (bundle / "config.json").write_text(json.dumps(cfg))
        cid = f"b-state-{uuid.uuid4().hex[:8]}"
        subprocess.run([runc, "--root", str(state), "create", "--bundle", str(bundle), cid],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # fmt: skip
        try:
            passthrough = {"runc": [runc], "launcher": [launcher]}
            if console.exists():
                passthrough["console"] = [str(console)]
            if nvidia_runtime:
                passthrough["nvidia"] = [nvidia_runtime]
            cases = {
                f"state {k}": Case([*p, "--root", str(state), "state", cid], env=env)
                for k, p in passthrough.items()
            }
            cases["bare python"] = Case([sys.executable, "-c", "pass"], env=env)
            cases["bare python -I -S"] = Case([sys.executable, "-I", "-S", "-c", "pass"], env=env)
            results.update(time_cases(cases, runs * 2))
        finally:
            subprocess.run(
                [runc, "--root", str(state), "delete", "-f", cid], capture_output=True, check=False
            )

    header(
        f"cdi-runtime vs nvidia-container-runtime, added over runc (ms, median of {runs}; state: {runs * 2})"
    )
    for sub in ("create", "run"):
        base = results[f"{sub} runc"]
        print(f"  {sub} directly with runc: {base:.1f} ms")
        key = f"{sub}-8-added"
        nv = results.get(f"{sub} nvidia")
        nv_added = nv - base if nv is not None else ISSUE_FIGURES_MS[key]
        note = "" if nv is not None else "*"
        for label, limit in (("warm", 8.0), ("cold", 20.0), ("coldest", None), ("none", 2.0)):
            added = results[f"{sub} {label}"] - base
            what = {"warm": "edit cache", "cold": "registry + disk cache", "coldest": "no cache",
                    "none": "no request"}[label]  # fmt: skip
            target = f"<= +{limit:.0f} ms" if limit is not None else "(info)"
            met = None if limit is None else added <= limit
            print(
                row(
                    f"{sub}, {DEVICES if label != 'none' else 0} devices, {what}: added",
                    nv_added,
                    added,
                    target,
                    met,
                    note,
                )
            )
    base = results["state runc"]
    nv = results.get("state nvidia")
    nv_added = nv - base if nv is not None else ISSUE_FIGURES_MS["state-added"]
    note = "" if nv is not None else "*"
    print(f"  state directly with runc: {base:.1f} ms")
    added = results["state launcher"] - base
    print(row("state passthrough, launcher: added", nv_added, added, "<= +2 ms", added <= 2.0, note))
    if "state console" in results:
        added = results["state console"] - base
        print(row("state passthrough, console script: added", nv_added, added, "(info)", None, note))
    print(f"  bare interpreter: python -c pass {results['bare python']:.1f} ms, "
          f"python -I -S -c pass {results['bare python -I -S']:.1f} ms")  # fmt: skip
    if nvidia_runtime is None:
        print("  * the issue's figure for nvidia-container-runtime (not measured here)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
