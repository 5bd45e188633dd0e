"""Benchmark: NVIDIA spec generation on a fake root with 8 GPUs x 7 MIG devices.

    .venv/bin/python bench/bench_nvidia.py [--runs N]

Builds the fake driver root of the tests (driver 580.65.06, real ELF libraries,
character devices via mknod when root, JSON stand-ins otherwise), adds 8 GPUs
each in MIG mode with 7 1g MIG devices (caps minors, DRM nodes, sysfs), then times
``generate()`` + YAML encoding. Prints wall time (min / median over runs), the
Python peak allocation (tracemalloc) of one run, the process max RSS, and the
spec's size. A benchmark, not a test: nothing is asserted.

Then, side by side as whole processes (``--runs`` each, interleaved): ``cdi
generate nvidia --mode management`` against ``nvidia-ctk cdi generate
--mode=management`` on the plain fake root (libnvidia-ml there is a stub
compiled with gcc whose init reports "driver not loaded", as in the
reference harness, so nvidia-ctk's dlopen does not crash). Target (issue 14):
cdikit <= 2x nvidia-ctk. nvidia-ctk comes from ``$CDIKIT_BENCH_GO_BIN``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.producers import fakeroot

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
from cdikit.producers.nvidia.generate import GenerateOptions, generate
from cdikit.producers.nvidia.nvml import FakeBackend
from cdikit.producers.output import encode

GPUS = 8
MIGS = 7


def build(root: Path) -> tuple[fakeroot.FakeRoot, dict[str, object]]:
    fr = fakeroot.build_nvidia_root(root)
    minors: list[str] = []
    gpus = []
    cap = 100
    for g in range(GPUS):
        bus = f"0000:{0x10 + g:02x}:00.0"
        if not (root / f"dev/nvidia{g}").exists():
            fakeroot.make_node(root, f"/dev/nvidia{g}", 195, g, 0o666)
        fakeroot.make_node(root, f"/dev/dri/card{g + 10}", 226, g + 10, 0o660, 44)
        fakeroot.make_node(root, f"/dev/dri/renderD{g + 140}", 226, g + 140, 0o660, 105)
        for name in (f"card{g + 10}", f"renderD{g + 140}"):
            (root / f"sys/bus/pci/devices/{bus}/drm" / name).mkdir(parents=True, exist_ok=True)
        migs = []
        for m in range(MIGS):
            gi = m + 1
            for key in (f"gpu{g}/gi{gi}/access", f"gpu{g}/gi{gi}/ci0/access"):
                minors.append(f"{key} {cap}")
                fakeroot.make_node(root, f"/dev/nvidia-caps/nvidia-cap{cap}", 511, cap, 0o444)
                cap += 1
            migs.append({"index": m, "uuid": f"MIG-{g:08x}-0000-0000-0000-{m:012x}", "gi": gi, "ci": 0,
                         "profile": "1g.10gb+gfx" if m == 0 else "1g.10gb"})  # fmt: skip
        gpus.append({"index": g, "uuid": f"GPU-{g:08x}-1111-2222-3333-444444444444", "minor": g,
                     "pci_bus_id": f"0000{bus}".upper(), "mig_mode": True, "mig_devices": migs})  # fmt: skip
    (root / "proc/driver/nvidia-caps/mig-minors").write_text("\n".join(minors) + "\n")
    return fr, {"driver_version": fakeroot.VERSION, "cuda_version": 13000, "gpus": gpus}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fr, desc = build(Path(tmp) / "root")
        r = str(fr.path)
        opts = GenerateOptions(mode="nvml", driver_root=r, sys_root=r, proc_root=r,
                               hook_path="/usr/bin/cdi-hook", fake_device_nodes=not fr.real_nodes)  # fmt: skip
        backend = FakeBackend(desc)

        def once() -> bytes:
            return encode(generate(opts, backend=backend).spec, "yaml")

        data = once()  # warm caches (imports, dentries)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            once()
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        once()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        spec = generate(opts, backend=backend).spec
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"fake root: {GPUS} GPUs x {MIGS} MIG devices, real device nodes: {fr.real_nodes}, cpu count {os.cpu_count()}"
    )
    print(f"devices in spec: {len(spec.devices or [])}, spec size: {len(data)} bytes (yaml)")
    print(
        f"generate+encode: min {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms over {args.runs} runs"
    )
    print(
        f"peak Python allocation (tracemalloc, one run): {peak / 1024:.0f} KiB; process max RSS: {rss_kib / 1024:.1f} MiB"
    )
    side_by_side(args.runs)
    return 0


_NVML_STUB = """
int nvmlInit(void){return 9;}
int nvmlInit_v2(void){return 9;}
int nvmlInitWithFlags(unsigned int f){(void)f;return 9;}
int nvmlShutdown(void){return 0;}
const char *nvmlErrorString(int r){(void)r;return "Driver Not Loaded";}
"""


def _stub_nvml(root: Path) -> bool:
    """Replace the fake root's libnvidia-ml with a loadable stub (needs gcc); False when impossible."""
    import shutil
    import subprocess

    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return False
    src = root.parent / "nvml-stub.c"
    src.write_text(_NVML_STUB)
    lib = root / fakeroot.LIBDIR / f"libnvidia-ml.so.{fakeroot.VERSION}"
    lib.unlink(missing_ok=True)
    done = subprocess.run([gcc, "-shared", "-fPIC", "-o", str(lib), str(src), "-Wl,-soname,libnvidia-ml.so.1"],
                          capture_output=True, check=False)  # fmt: skip
    return done.returncode == 0


def side_by_side(runs: int) -> None:
    """``cdi generate`` vs ``nvidia-ctk cdi generate``, management mode, whole processes."""
    compile_bytecode()
    nvidia_ctk = go_tool("nvidia-ctk")
    with tempfile.TemporaryDirectory() as tmp:
        fr = fakeroot.build_nvidia_root(Path(tmp) / "root")
        r = str(fr.path)
        if nvidia_ctk and not _stub_nvml(fr.path):
            print("  (no C compiler for the libnvidia-ml stub: nvidia-ctk not run)")
            nvidia_ctk = None
        env = bench_env()
        cases = {
            "cdikit": Case(
                [
                    cdikit_script("cdi"),
                    "generate",
                    "nvidia",
                    "--mode",
                    "management",
                    "--driver-root",
                    r,
                    "--output",
                    f"{tmp}/cdikit.yaml",
                ],
                env=env,
            ),
            "bare": Case([sys.executable, "-c", "pass"], env=env),
        }
        if nvidia_ctk:
            cases["nvidia"] = Case([nvidia_ctk, "cdi", "generate", "--mode=management", f"--driver-root={r}",
                                    f"--output={tmp}/nvidia.yaml"], env=env)  # fmt: skip
        results = time_cases(cases, runs)
    header(f"generate, management mode, fake root (whole processes, ms, median of {runs})")
    go = results.get("nvidia", ISSUE_FIGURES_MS["generate"])
    note = "" if "nvidia" in results else "*"
    print(
        row(
            "cdi generate nvidia --mode management",
            go,
            results["cdikit"],
            "<= 2x",
            results["cdikit"] <= 2 * go,
            note,
        )
    )
    print(f"  bare `python -c pass`: {results['bare']:.1f} ms")
    if "nvidia" not in results:
        print("  * the issue's figure for nvidia-ctk (not measured here)")


if __name__ == "__main__":
    sys.exit(main())
