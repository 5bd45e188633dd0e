"""Benchmark: JIT-CDI's price at container start, as whole ``cdi-runtime create`` processes.

    .venv/bin/python bench/bench_jit.py [--runs 20]

Both runs ask for GPU 0 of the fake driver root (tests/producers/fakeroot.py, fake
NVML) through ``NVIDIA_VISIBLE_DEVICES=0`` and exec a no-op runtime:

* **spec file**: ``nvidia.com/gpu=0`` from a spec written beforehand by
  ``cdi generate nvidia`` (the edit cache off, so the spec is parsed each time);
* **JIT-CDI**: ``runtime.nvidia.com/gpu=0``, the spec generated in the shim.

Prints the medians and the ratio JIT / spec file. ``config.json`` is restored
before each run, outside the timing.
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

from tests.producers import fakeroot


def _time(cmd: list[str], env: dict[str, str], config: Path, original: bytes, runs: int) -> float:
    samples = []
    for _ in range(runs):
        config.write_bytes(original)
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        samples.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr}")
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root, env_jit = fakeroot.jit_host(base, hook_path="/usr/bin/cdi-hook")
        env = {**os.environ, **env_jit, "CDIKIT_CACHE_DIR": "off"}
        noop = base / "noop-runtime"
        noop.write_text("#!/bin/sh\nexit 0\n")
        noop.chmod(0o755)
        spec_dir = base / "cdi"
        spec_dir.mkdir()
        r = str(root.path)
        subprocess.run(
            [sys.executable, "-m", "cdikit", "generate", "nvidia", "--driver-root", r, "--sysfs-root", r,
             "--procfs-root", r, "--output", str(spec_dir / "nvidia.yaml"), "--quiet"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        bundle = base / "bundle"
        bundle.mkdir()
        config = bundle / "config.json"
        original = (
            b'{"ociVersion":"1.0.2","process":{"env":["NVIDIA_VISIBLE_DEVICES=0"]},"root":{"path":"rootfs"}}'
        )
        shim = [
            sys.executable,
            "-c",
            "import sys; from cdikit.integrations.runtime import main; sys.exit(main())",
        ]
        cmd = [*shim, "create", "--bundle", str(bundle), "c1"]
        results = {}
        for label, kind in (("spec file", "nvidia.com/gpu"), ("JIT-CDI", "runtime.nvidia.com/gpu")):
            rt = base / f"{kind.replace('/', '_')}.toml"
            rt.write_text(f'runtime = "{noop}"\nspec-dirs = ["{spec_dir}"]\ndefault-kind = "{kind}"\n')
            results[label] = _time(
                cmd, {**env, "CDIKIT_RUNTIME_CONFIG": str(rt)}, config, original, args.runs
            )
            print(f"{label:10s} create: median {results[label]:.1f} ms ({args.runs} runs)")
        print(f"ratio JIT-CDI / spec file: {results['JIT-CDI'] / results['spec file']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
