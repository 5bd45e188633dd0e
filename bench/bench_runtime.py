"""Benchmark: what ``cdi-runtime`` adds in front of runc, as whole processes.

    sudo .venv/bin/python bench/bench_runtime.py [--runs 40]

Measures, median of ``--runs`` runs each:

* ``runc run`` of a busybox ``/bin/true``, directly and through ``cdi-runtime``
  with no request and with 8 CDI devices requested (8 device nodes, env, and
  cgroup rules injected; ``config.json`` restored before each run, outside
  the timing);
* the passthrough subcommand ``state`` on a created container, directly and
  through ``cdi-runtime``.

Two shims are timed: the installed console script (pip's wrapper imports
``re``, which alone costs several ms) and a minimal wrapper script, to show
what is cdikit's and what is the launcher's. Bytecode is compiled first, as it
is on an installed system. Targets (issue 5): under 40 ms added on ``run``
with 8 devices, under 15 ms added on passthrough.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _build(work: Path) -> tuple[Path, Path]:
    busybox = next(
        (p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.isfile(p)), shutil.which("busybox")
    )
    assert busybox is not None, "busybox is not installed"
    rootfs = work / "rootfs"
    for d in ("bin", "dev", "proc", "sys", "etc", "tmp"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    (rootfs / "bin" / "true").symlink_to("busybox")
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
        for i, host in enumerate(hosts)
    ]  # fmt: skip
    spec = {"cdiVersion": "0.5.0", "kind": "bench.example.com/dev", "devices": devices,
            "containerEdits": {"env": ["BENCH=1"]}}  # fmt: skip
    (spec_dir / "bench.json").write_text(json.dumps(spec))
    return [f"bench.example.com/dev=dev{i}" for i in range(8)]


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _time(cmd: list[str], runs: int, env: dict[str, str], before: object = None) -> float:
    samples = []
    for _ in range(runs):
        if callable(before):
            before()
        start = time.perf_counter()
        done = subprocess.run(cmd(), env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False)  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd())} failed: {done.stderr.decode()}")  # type: ignore[operator]
    return _median_ms(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("runc") is None:
        print("needs root and runc (apt-get install runc busybox-static)")
        return 1
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    compileall.compile_dir(str(ROOT / "src" / "cdikit"), quiet=1)
    runc = shutil.which("runc")
    assert runc is not None
    with tempfile.TemporaryDirectory(prefix="cdikit-bench-") as tmp:
        work = Path(tmp)
        _, bundle = _build(work)
        names = _spec(work / "cdi")
        state = work / "state"
        config = work / "runtime.toml"
        # The bench asks in the env (CDI_DEVICES) from an unprivileged bundle: accept that.
        config.write_text(
            f'runtime = "{runc}"\nspec-dirs = ["{work / "cdi"}"]\n'
            "accept-env-requests-when-unprivileged = true\n"
        )
        env["CDIKIT_RUNTIME_CONFIG"] = str(config)
        # Timestamps younger than the racy window are never cached: let the spec file age.
        time.sleep(2.1)
        env["CDIKIT_CACHE_DIR"] = str(work / "cache")
        minimal = work / "cdi-runtime-minimal"
        minimal.write_text(f"#!{sys.executable}\nimport sys\nfrom cdikit.integrations.runtime import main\n"
                           "sys.exit(main())\n")  # fmt: skip
        minimal.chmod(0o755)
        from cdikit.integrations.runtime._launcher import install_launcher

        shims = {
            "launcher (-IS)": install_launcher(str(work / "cdi-runtime-launcher")),
            "minimal wrapper": str(minimal),
        }
        script = Path(sys.executable).parent / "cdi-runtime"
        if script.exists():
            shims["console script"] = str(script)
        no_edit_cache = {**env, "CDIKIT_RUNTIME_EDIT_CACHE": "off"}

        base_cfg = json.loads((bundle / "config.json").read_text())
        plain = json.dumps(base_cfg)
        with_devices = dict(base_cfg)
        with_devices["process"] = {**base_cfg["process"], "env": [*base_cfg["process"]["env"],
                                                                  "CDI_DEVICES=" + ",".join(names)]}  # fmt: skip
        requested = json.dumps(with_devices)

        def restore(text: str) -> object:
            return lambda: (bundle / "config.json").write_text(text)

        def run_cmd(prefix: list[str]) -> object:
            return lambda: [
                *prefix,
                "--root",
                str(state),
                "run",
                "--bundle",
                str(bundle),
                f"b-{uuid.uuid4().hex[:10]}",
            ]

        print(f"runc run busybox /bin/true, median of {args.runs} (ms)")
        direct = _time(run_cmd([runc]), args.runs, env, restore(plain))  # type: ignore[arg-type]
        print(f"  {'runc directly:':40}{direct:7.1f}")
        for label, shim in shims.items():
            none = _time(run_cmd([shim]), args.runs, env, restore(plain))  # type: ignore[arg-type]
            eight = _time(run_cmd([shim]), args.runs, env, restore(requested))  # type: ignore[arg-type]
            cold = _time(run_cmd([shim]), args.runs, no_edit_cache, restore(requested))  # type: ignore[arg-type]
            print(f"  {label + ', no request:':40}{none:7.1f}  (+{none - direct:.1f})")
            print(f"  {label + ', 8 devices (edit cache):':40}{eight:7.1f}  (+{eight - direct:.1f})")
            print(f"  {label + ', 8 devices (registry):':40}{cold:7.1f}  (+{cold - direct:.1f})")

        # Passthrough: `state` of a created (not started) container.
        (bundle / "config.json").write_text(plain)
        cfg = json.loads(plain)
        cfg["process"]["args"] = ["/bin/sleep", "600"]
        (work / "rootfs" / "bin" / "sleep").symlink_to("busybox")
        (bundle / "config.json").write_text(json.dumps(cfg))
        cid = f"b-state-{uuid.uuid4().hex[:8]}"
        subprocess.run([runc, "--root", str(state), "create", "--bundle", str(bundle), cid],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # fmt: skip
        try:
            print(f"state (passthrough), median of {args.runs * 2} (ms)")
            direct_state = _time(lambda: [runc, "--root", str(state), "state", cid], args.runs * 2, env)  # type: ignore[arg-type]
            print(f"  {'runc directly:':40}{direct_state:7.1f}")
            for label, shim in shims.items():
                through = _time(lambda s=shim: [s, "--root", str(state), "state", cid], args.runs * 2, env)  # type: ignore[misc]
                print(f"  {label + ':':40}{through:7.1f}  (+{through - direct_state:.1f})")
            bare = _time(lambda: [sys.executable, "-c", "pass"], args.runs * 2, env)  # type: ignore[arg-type]
            print(f"  {'(bare `python -c pass`, for scale):':40}{bare:7.1f}")
        finally:
            subprocess.run(
                [runc, "--root", str(state), "delete", "-f", cid], capture_output=True, check=False
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
