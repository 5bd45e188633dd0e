"""Start-up cost of the ``cdi`` command, measured as whole processes.

``cdi devices`` on a small spec dir and ``cdi inject`` of one device, each
against a bare ``python -c pass`` on the same interpreter; median of N runs
(after warm-up), printed with the difference. Target: under 60 ms above the
bare interpreter.

Then side by side (interleaved): the installed ``cdi`` console script listing
one tiny spec against the Go CDI library doing the same (``cdi-gobench
devices DIR``, from ``$CDIKIT_BENCH_GO_BIN``: a few lines over v1.1.0, see
docs/performance.md). Target (issue 14): ``cdi devices`` on a small dir
<= 25 ms whole process, with the default settings (the disk cache, warm after
the first run: the lean path of ``cdikit.cli._lean``); the same without any
disk cache is shown for information.

    .venv/bin/python bench/bench_cli.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPEC = """\
cdiVersion: 0.5.0
kind: vendor.com/gpu
devices:
  - name: gpu0
    containerEdits:
      env: [GPU=0]
      mounts:
        - {hostPath: /tmp, containerPath: /gpu0, options: [bind, ro]}
  - name: gpu1
    containerEdits:
      env: [GPU=1]
containerEdits:
  env: [VENDOR=1]
"""
NIC = '{"cdiVersion": "0.3.0", "kind": "other.org/nic", "devices": [{"name": "eth0", "containerEdits": {"env": ["NIC=1"]}}]}'
OCI = '{"ociVersion": "1.2.0", "process": {"env": ["PATH=/bin"], "cwd": "/"}, "root": {"path": "rootfs"}}'


def _time(argv: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time (ms) of ``argv`` as a fresh process; fails loudly on a non-zero exit."""
    samples = []
    for i in range(runs + 3):
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()}")
        if i >= 3:  # the first runs warm the page cache and .pyc files
            samples.append(elapsed)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, PYTHONPATH=src)
    with tempfile.TemporaryDirectory() as tmp:
        spec_dir = Path(tmp) / "cdi"
        spec_dir.mkdir()
        (spec_dir / "vendor-gpu.yaml").write_text(SPEC)
        (spec_dir / "other-nic.json").write_text(NIC)
        oci = Path(tmp) / "config.json"
        oci.write_text(OCI)
        py = sys.executable
        base = _time([py, "-c", "pass"], args.runs, env)
        rows = [
            ("python -c pass", base),
            ("cdi devices", _time([py, "-m", "cdikit", "-d", str(spec_dir), "devices"], args.runs, env)),
            (
                "cdi inject (1 device)",
                _time(
                    [py, "-m", "cdikit", "-d", str(spec_dir), "inject", str(oci), "vendor.com/gpu=gpu0"],
                    args.runs,
                    env,
                ),
            ),
            (
                "floor: import registry+oci",
                _time([py, "-c", "import cdikit.registry, cdikit.oci, yaml_rs"], args.runs, env),
            ),
            (
                "cdi inject (json spec only)",
                _time(
                    [py, "-m", "cdikit", "-d", str(spec_dir), "inject", str(oci), "other.org/nic=eth0"],
                    args.runs,
                    env,
                ),
            ),
        ]
    print(f"{'command':30} {'median ms':>10} {'above bare':>11}   (median of {args.runs}, {py})")
    for label, ms in rows:
        print(f"{label:30} {ms:10.1f} {ms - base:+11.1f}")
    worst = max(ms for label, ms in rows[1:] if label.startswith("cdi")) - base
    print("floor = importing the library modules every registry user needs; the CLI's own share is the rest")
    print(
        f"target: < 60 ms above bare interpreter -> {'met' if worst < 60 else 'NOT met'} (worst {worst:.1f} ms)"
    )
    side_by_side(args.runs)


def side_by_side(runs: int) -> None:
    from bench._common import (
        ISSUE_FIGURES_MS,
        Case,
        bench_env,
        cdikit_script,
        compile_bytecode,
        go_tool,
        header,
        row,
        time_cases,
    )

    compile_bytecode()
    gobench = go_tool("cdi-gobench")
    from cdikit._isolation import launcher_sys_path
    from cdikit.registry.loader import RACY_WINDOW_NS

    launch = (
        f"import sys; sys.path.extend({launcher_sys_path()!r}); from cdikit.cli import main; sys.exit(main())"
    )
    with tempfile.TemporaryDirectory() as tmp:
        spec_dir = Path(tmp) / "cdi"
        spec_dir.mkdir()
        (spec_dir / "vendor.yaml").write_text(SPEC)
        # The default: a disk cache (warm after one run, once the file is older than the racy window).
        warm = bench_env(CDIKIT_CACHE_DIR=str(Path(tmp) / "cache"))
        cold = bench_env(CDIKIT_CACHE_DIR="off")
        time.sleep(RACY_WINDOW_NS / 1e9 + 0.1)
        subprocess.run(
            [cdikit_script("cdi"), "-d", str(spec_dir), "devices"],
            env=warm,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        argv = [cdikit_script("cdi"), "-d", str(spec_dir), "devices"]
        cases = {
            "cdi": Case(argv, env=warm),
            "cdi no cache": Case(argv, env=cold),
            "cdi -I -S": Case(
                [sys.executable, "-I", "-S", "-c", launch, "-d", str(spec_dir), "devices"], env=warm
            ),
            "bare": Case([sys.executable, "-c", "pass"], env=warm),
            "bare -I -S": Case([sys.executable, "-I", "-S", "-c", "pass"], env=warm),
        }
        if gobench:
            cases["go"] = Case([gobench, "devices", str(spec_dir)], env=warm)
        results = time_cases(cases, runs)
    header(f"cdi devices, one tiny spec (whole processes, ms, median of {runs})")
    go = results.get("go", ISSUE_FIGURES_MS["devices-tiny"])
    note = "" if "go" in results else "*"
    print(
        row(
            "cdi devices (console script, disk cache warm)",
            go,
            results["cdi"],
            "<= 25 ms",
            results["cdi"] <= 25,
            note,
        )
    )
    print(
        row("  same, no disk cache (CDIKIT_CACHE_DIR=off)", go, results["cdi no cache"], "(info)", None, note)
    )
    print(row("  same, python -I -S -m cdikit, cache warm", go, results["cdi -I -S"], "(info)", None, note))
    print(f"  bare python -c pass: {results['bare']:.1f} ms, -I -S: {results['bare -I -S']:.1f} ms")
    if "go" not in results:
        print("  * the issue's figure for the Go library (not measured here)")


if __name__ == "__main__":
    main()
