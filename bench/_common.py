"""What the side-by-side benchmarks share: the Go tools, bytecode, and timing whole processes.

The Go tools are never part of cdikit: build them yourself from their public
source (NVIDIA Container Toolkit 1.20.0: ``nvidia-ctk``, ``nvidia-cdi-hook``,
``nvidia-container-runtime``; and ``cdi-gobench``, a few lines over the Go CDI
library v1.1.0, see docs/performance.md) and point ``CDIKIT_BENCH_GO_BIN`` at
the directory holding them (default: ``/opt/nvidia-ctk/bin`` when it exists).
Where one is absent, the benchmarks say so and compare with the figures the
issue measured and with the bare interpreter instead.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
GO_BIN_ENV = "CDIKIT_BENCH_GO_BIN"
_DEFAULT_GO_BIN = "/opt/nvidia-ctk/bin"

# The issue's measurements (2-core machine, medians of 20), for when the Go tools are absent.
ISSUE_FIGURES_MS = {
    "hooks-nvml": 40.0,
    "hooks-management": 20.0,
    "create-symlinks": 5.0,
    "update-ldcache": 16.0,
    "run-8-added": 4.0,
    "create-8-added": 10.0,
    "state-added": 3.0,
    "generate": 13.0,
    "cold-json-1000": 1920.0,
    "cold-yaml-1000": 1670.0,
    "devices-tiny": 2.0,
}


def go_bin_dir() -> Path | None:
    """The directory of the Go tools (``$CDIKIT_BENCH_GO_BIN``, else the default when present)."""
    named = os.environ.get(GO_BIN_ENV)
    if named:
        return Path(named)
    return Path(_DEFAULT_GO_BIN) if os.path.isdir(_DEFAULT_GO_BIN) else None


def go_tool(name: str) -> str | None:
    """The path of Go tool ``name``, or None (printing why) when it is not there."""
    base = go_bin_dir()
    path = base / name if base is not None else None
    if path is not None and os.access(path, os.X_OK):
        return str(path)
    where = f"{GO_BIN_ENV}={base}" if base is not None else f"{GO_BIN_ENV} unset"
    print(f"  ({name} not found ({where}): comparing with the issue's figures instead)")
    return None


def compile_bytecode() -> None:
    """Compile cdikit's bytecode, as an installed package has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], env=env, check=True)


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for timed processes: bytecode may be read, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def cdikit_python() -> str:
    """The interpreter cdikit is installed in (this one)."""
    return sys.executable


def cdikit_script(name: str) -> str:
    """A console script of this environment (``cdi``, ``cdi-hook``, ``cdi-runtime``)."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed in this environment (pip install -e .)")
    return found


class Case:
    """One whole-process command to time: argv (or a function making it), env, stdin, and hooks around it.

    ``before``/``after`` run around each process, outside the timing.
    """

    def __init__(
        self,
        argv: Sequence[str] | Callable[[], Sequence[str]],
        *,
        env: dict[str, str] | None = None,
        before: Callable[[], object] | None = None,
        after: Callable[[], object] | None = None,
        stdin: bytes | None = None,
        cwd: str | None = None,
        executable: str | None = None,
    ) -> None:
        self.argv = argv
        self.env = env
        self.before = before
        self.after = after
        self.stdin = stdin
        self.cwd = cwd
        self.executable = executable

    def once(self, out: IO[bytes]) -> float:
        """Seconds of one run; fails loudly on a non-zero exit."""
        cmd = list(self.argv() if callable(self.argv) else self.argv)
        if self.before is not None:
            self.before()
        out.seek(0)
        out.truncate()
        start = time.perf_counter()
        done = subprocess.run(
            cmd,
            executable=self.executable,
            input=self.stdin,
            stdin=None if self.stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=self.env,
            cwd=self.cwd,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if self.after is not None:
            self.after()
        if done.returncode != 0:
            out.seek(0)
            text = out.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {text}")
        return elapsed


def time_cases(cases: dict[str, Case], runs: int, *, warmup: int = 2) -> dict[str, float]:
    """Median wall time (ms) of each case, run interleaved (one of each per round).

    Interleaving spreads the noise of a busy machine evenly over the cases, so
    their ratios stay meaningful when the absolute figures wobble. Output goes
    to a file, not a pipe: ``runc create`` leaves a child holding its stdio open.
    """
    samples: dict[str, list[float]] = {label: [] for label in cases}
    with tempfile.TemporaryFile() as out:
        for i in range(runs + warmup):
            for label, case in cases.items():
                elapsed = case.once(out)
                if i >= warmup:
                    samples[label].append(elapsed)
    return {label: statistics.median(values) * 1000 for label, values in samples.items()}


def time_process(argv: Sequence[str] | Callable[[], Sequence[str]], runs: int, **kwargs: object) -> float:
    """Median wall time (ms) of one command (see :class:`Case`)."""
    return time_cases({"": Case(argv, **kwargs)}, runs)[""]  # type: ignore[arg-type]


def ratio(ours: float, theirs: float | None) -> str:
    """``ours / theirs`` as text ("-" when there is no reference)."""
    if theirs is None or theirs <= 0:
        return "-"
    return f"{ours / theirs:.2f}x"


def row(label: str, go: float | None, ours: float, target: str, met: bool | None, go_note: str = "") -> str:
    """One table line: label, Go ms, cdikit ms, ratio, target, met?"""
    go_text = f"{go:9.1f}{go_note}" if go is not None else f"{'n/a':>9}"
    verdict = "-" if met is None else ("met" if met else "NOT met")
    return f"{label:52} {go_text:>11} {ours:9.1f} {ratio(ours, go):>8}  {target:>14}  {verdict}"


def header(title: str) -> None:
    print(title)
    print(f"{'work':52} {'Go (ms)':>11} {'cdikit':>9} {'ratio':>8}  {'target':>14}  verdict")
