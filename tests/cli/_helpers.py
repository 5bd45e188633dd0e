"""Running the real ``cdi`` command (``python -m cdikit``) in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


@dataclass
class Result:
    rc: int
    out: str
    err: str


Runner = Callable[..., Result]


def run_cdi(
    *args: str, cwd: str | Path | None = None, stdin: str | None = None, env: dict[str, str] | None = None
) -> Result:
    """``python -m cdikit ARGS`` as a real process; never raises on a non-zero exit."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "cdikit", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


GPU_SPEC = """\
cdiVersion: 0.5.0
kind: vendor.com/gpu
devices:
  - name: gpu0
    containerEdits:
      env: [GPU=0]
  - name: gpu1
    containerEdits:
      env: [GPU=1]
containerEdits:
  env: [VENDOR=1]
"""

NIC_SPEC = """\
{"cdiVersion": "0.3.0", "kind": "other.org/nic", "devices": [{"name": "eth0", "containerEdits": {"env": ["NIC=eth0"]}}]}
"""


def make_spec_dir(tmp_path: Path) -> Path:
    """A small spec dir (mode 0755, files 0644, root-owned when tests run as root)."""
    d = tmp_path / "cdi"
    d.mkdir()
    os.chmod(d, 0o755)
    write(d / "vendor-gpu.yaml", GPU_SPEC)
    write(d / "other-nic.json", NIC_SPEC)
    return d


def dirs_args(*dirs: Path | str) -> list[str]:
    out: list[str] = []
    for d in dirs:
        out += ["-d", str(d)]
    return out


def oci_file(tmp_path: Path, text: str = '{"ociVersion": "1.0.0", "process": {"env": ["A=1"]}}') -> Path:
    return write(tmp_path / "config.json", text)


def names_of(rows: Sequence[dict[str, object]]) -> list[object]:
    """Names of the devices the spec dirs provide.

    On-demand kinds are left out: whether one is listed depends on the host
    (the NVIDIA provider is available wherever the driver is loaded).
    """
    return [row["name"] for row in rows if not row.get("onDemand")]


def run_code(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c CODE ARGS`` with cdikit's ``src`` first on the path; never raises on a non-zero exit."""
    full_env = {**os.environ, "PYTHONPATH": SRC, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def default_sigint() -> None:
    """In the child: SIGINT as a terminal gives it, even when the test run ignores it.

    A background job of a non-interactive shell (``cmd &``, nohup, some CI runners)
    starts with SIGINT ignored, and an ignored signal stays ignored across exec: the
    monitor would then never see the test's Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
