"""``cdi kube`` without the ``kube`` extra or without a kubeconfig: one line with the fix, exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli._helpers import run_code


def _cdi(*args: str, hide: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # ``sys.modules[name] = None`` makes importing ``name`` fail as if it were not installed.
    code = (
        f"import sys\nfor name in {hide.split()!r}: sys.modules[name] = None\n"
        "from cdikit.cli import main\nsys.exit(main())"
    )
    return run_code(code, *args, env=env)


@pytest.mark.parametrize(
    ("hide", "args"),
    [
        ("grpc", ["kube", "device-plugin"]),
        ("grpc", ["kube", "dra-plugin", "--driver", "d.example.com", "--node-name", "n1"]),
        ("kubernetes", ["kube", "dra-plugin", "--driver", "d.example.com", "--node-name", "n1"]),
    ],
)
def test_missing_kube_extra(tmp_path: Path, hide: str, args: list[str]) -> None:
    done = _cdi(*args, "-d", str(tmp_path), hide=hide)
    assert done.returncode == 2
    assert done.stderr == (
        f"cdi: error: {hide} is not installed; the kube commands need the kube extra: pip install 'cdikit[kube]'\n"
    )


@pytest.mark.parametrize("kubeconfig", [None, "missing.yaml"])
def test_dra_plugin_without_kubeconfig(tmp_path: Path, kubeconfig: str | None) -> None:
    pytest.importorskip("kubernetes")
    args = ["kube", "dra-plugin", "--driver", "d.example.com", "--node-name", "n1", "-d", str(tmp_path)]
    if kubeconfig:
        args += ["--kubeconfig", str(tmp_path / kubeconfig)]
    env = {"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "", "KUBECONFIG": ""}
    done = _cdi(*args, env=env)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("cdi: error: cannot reach the Kubernetes API") and "--kubeconfig" in lines[0]
