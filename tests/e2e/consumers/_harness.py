"""Driving the real CDI consumers (BuildKit, containerd 2 + crictl, Docker 29 + buildx, and Debian's
podman 4.3.1, containerd 1.6, runc) through ``shared/consumers/run.sh``, each isolated in a private
work dir with its own spec dir.

The consumers are machine-built (never part of the repository): their binaries are found in
``$CDIKIT_CONSUMERS_BIN`` or ``/opt/cdi-consumers/bin``; Debian's ones in ``/usr/bin``. A test
that needs a missing one skips and says which and where it looked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._shared import shared_path
from tests.cli._helpers import SRC, Result, run_cdi

# shared/consumers/run.sh, found the one way every test finds shared/ (tests/_shared.py).
RUN_SH = shared_path("consumers", "run.sh")
BIN = Path(os.environ.get("CDIKIT_CONSUMERS_BIN", "/opt/cdi-consumers/bin"))
TIMEOUT_S = 180

__all__ = [
    "BIN",
    "RUN_SH",
    "Consumers",
    "Result",
    "generate_nvidia",
    "need",
    "run",
    "run_cdi",
    "shim_wrapper",
]


def need(*binaries: str, debian: Sequence[str] = ()) -> None:
    """Skip (with the reason) unless root, run.sh and every named binary are here."""
    if os.geteuid() != 0:
        pytest.skip("consumer tests need root (daemons, mounts, containers)")
    if not RUN_SH.is_file():
        pytest.skip(f"{RUN_SH} not found: no shared/ folder beside or above the checkout (set CDIKIT_SHARED)")
    missing = [b for b in binaries if not (BIN / b).is_file()]
    if missing:
        pytest.skip(
            f"consumer binaries {', '.join(missing)} are not in {BIN} "
            "(build them from their vendored source, see docs/consumers.md; or set CDIKIT_CONSUMERS_BIN)"
        )
    absent = [b for b in debian if shutil.which(b) is None]
    if absent:
        pytest.skip(f"{', '.join(absent)} not installed (Debian packages; .ci/system-deps.txt)")


def run(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: int = TIMEOUT_S,
    stdin: str | None = None,
) -> Result:
    """Run ``argv``; never raises on a non-zero exit."""
    full = dict(os.environ)
    full["PATH"] = f"{BIN}:{full.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
    full.update(env or {})
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, env=full, timeout=timeout, input=stdin, check=False
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Consumers:
    """One private run.sh work dir: daemons, images, spec dirs (``WORK/<daemon>/cdi``)."""

    work: Path
    bin: Path = BIN

    def env(self, **extra: str) -> dict[str, str]:
        return {"WORK": str(self.work), "BIN": str(self.bin), **extra}

    def sh(self, *args: str, **extra: str) -> Result:
        return run([str(RUN_SH), *args], env=self.env(**extra))

    def start(self, daemon: str, **extra: str) -> None:
        result = self.sh("start", daemon, **extra)
        assert result.rc == 0, f"{daemon} did not start:\n{result.out}\n{result.err}"

    def stop(self, daemon: str) -> None:
        self.sh("stop", daemon)

    def spec_dir(self, daemon: str) -> Path:
        path = self.work / daemon / "cdi"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def images(self) -> tuple[Path, Path]:
        busybox, pause = self.work / "images" / "busybox.tar", self.work / "images" / "pause.tar"
        if not (busybox.exists() and pause.exists()):
            result = self.sh("images")
            assert result.rc == 0, result.err
        return busybox, pause

    # ------------------------------------------------------------------ containerd
    @property
    def containerd_sock(self) -> str:
        return str(self.work / "containerd" / "containerd.sock")

    def ctr(self, *args: str) -> Result:
        return run([str(self.bin / "ctr"), "--address", self.containerd_sock, *args])

    def ctr_cdi(self, *args: str) -> Result:
        """``ctr`` in a mount namespace whose /var/run/cdi is containerd's spec dir (ctr's CDI is client side)."""
        return self.sh("ctr-cdi", *args)

    def crictl(self, *args: str) -> Result:
        return run([str(BIN / "crictl"), "--config", str(self.work / "containerd" / "crictl.yaml"), *args])

    def import_images(self) -> None:
        busybox, pause = self.images()
        for ns, tar in (("default", busybox), ("k8s.io", busybox), ("k8s.io", pause)):
            result = self.ctr("-n", ns, "images", "import", str(tar))
            assert result.rc == 0, result.err

    def cri_run(self, name: str, command: str, *, devices: Sequence[str] = (), annotation: str | None = None,
                runtime: str | None = None) -> Result:  # fmt: skip
        """A CRI pod (host network) with one container running ``command``; its log, or the error."""
        logs = self.work / "containerd" / "logs" / name
        logs.mkdir(parents=True, exist_ok=True)
        pod = {
            "metadata": {"name": name, "namespace": "default", "uid": f"{name}-uid", "attempt": 1},
            "log_directory": str(logs),
            "linux": {"security_context": {"namespace_options": {"network": 2}}},
        }
        container: dict[str, object] = {
            "metadata": {"name": name},
            "image": {"image": "docker.io/library/cdi-busybox:local"},
            "command": ["/bin/sh", "-c", command],
            "log_path": f"{name}.log",
            "linux": {},
        }
        if devices:
            container["CDI_devices"] = [{"name": d} for d in devices]
        if annotation:
            container["annotations"] = {"cdi.k8s.io/e2e": annotation}
        pod_file, ctr_file = logs / "pod.json", logs / "ctr.json"
        pod_file.write_text(json.dumps(pod))
        ctr_file.write_text(json.dumps(container))
        runp = self.crictl("runp", *(["--runtime", runtime] if runtime else []), str(pod_file))
        if runp.rc != 0:
            return runp
        pod_id = runp.out.strip()
        try:
            created = self.crictl("create", pod_id, str(ctr_file), str(pod_file))
            if created.rc != 0:
                return created
            cid = created.out.strip()
            started = self.crictl("start", cid)
            if started.rc != 0:
                return started
            for _ in range(100):
                if "CONTAINER_EXITED" in self.crictl("inspect", cid).out:
                    break
                import time

                time.sleep(0.2)
            return self.crictl("logs", cid)
        finally:
            self.crictl("stopp", pod_id)
            self.crictl("rmp", "-f", pod_id)

    # ------------------------------------------------------------------ docker
    def docker(self, *args: str) -> Result:
        return run(
            [str(self.bin / "docker"), "-H", f"unix://{self.work / 'docker.sock'}", *args],
            env={"DOCKER_CONFIG": str(self.docker_config())},
        )

    def docker_config(self) -> Path:
        """A private docker CLI config dir holding cli-plugins/docker-buildx."""
        plugins = self.work / "docker-config" / "cli-plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        link = plugins / "docker-buildx"
        if (self.bin / "docker-buildx").is_file() and not link.exists():
            link.symlink_to(self.bin / "docker-buildx")
        return self.work / "docker-config"

    # ------------------------------------------------------------------ podman
    def podman(self, *args: str, cdi_dir: Path | None = None) -> Result:
        extra = {"CDI_DIR": str(cdi_dir)} if cdi_dir is not None else {}
        return self.sh("podman-cdi", *args, **extra)


def shim_wrapper(path: Path, runtime_config: Path) -> Path:
    """``cdi-runtime`` on this interpreter and source tree, reading ``runtime_config``.

    Engines start the shim with their own environment: the config path is set
    here because the default (/etc/cdikit/runtime.toml) is the host's.
    """
    path.write_text(
        f"#!{sys.executable} -I\nimport os, sys\nos.environ['CDIKIT_RUNTIME_CONFIG'] = {str(runtime_config)!r}\n"
        f"sys.path.insert(0, {SRC!r})\nfrom cdikit.integrations.runtime import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def generate_nvidia(root: Path, output: Path, *extra: str) -> Result:
    """``cdi generate nvidia`` on a fake driver root (tests/producers/fakeroot.py) with fake NVML."""
    from tests.producers.fakeroot import build_nvidia_root, harness_nvml, write_nvml

    driver = root / "driver"
    if not driver.exists():
        build_nvidia_root(driver)
        write_nvml(root / "nvml.json", harness_nvml())
    r = str(driver)
    return run_cdi(
        "generate", "nvidia", "--driver-root", r, "--sysfs-root", r, "--procfs-root", r,
        "--disable-hook", "all", "--output", str(output), *extra,
        env={"CDIKIT_FAKE_NVML": str(root / "nvml.json")},
    )  # fmt: skip
