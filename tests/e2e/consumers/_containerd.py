"""Staging a real containerd config for run.sh: the file ``cdi configure`` edited, plus the keys
that keep the daemon private (root, state, sockets, CNI, pause image) and the quirks of these VMs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from cdikit.integrations.consumers.configure import _edit_toml

# Debian 12's /etc/containerd/config.toml as shipped by containerd 1.6.20~ds1-1+deb12u3.
DEBIAN_CONFIG = """\
version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
"""


def default_config(containerd: Path) -> str:
    """``containerd config default`` of that binary."""
    return subprocess.run(
        [str(containerd), "config", "default"], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def isolate(path: Path, work: Path) -> None:
    """Add the private paths and VM quirks to the config at ``path`` (in the file's own layout)."""
    import tomllib

    d = work / "containerd"
    for sub in ("root", "state", "opt", "cni-bin", "cni-conf", "logs"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8")
    version = tomllib.loads(text).get("version", 1)
    cri = ("plugins", "io.containerd.grpc.v1.cri")
    images = runtime = cri
    if version >= 3:
        images, runtime = (
            ("plugins", "io.containerd.cri.v1.images"),
            ("plugins", "io.containerd.cri.v1.runtime"),
        )
    edits: list[tuple[tuple[str, ...], str, Any]] = [
        ((), "root", str(d / "root")),
        ((), "state", str(d / "state")),
        (("grpc",), "address", str(d / "containerd.sock")),
        (("ttrpc",), "address", str(d / "containerd.sock.ttrpc")),
        (("debug",), "address", str(d / "debug.sock")),
        (("metrics",), "address", ""),
        (("plugins", "io.containerd.internal.v1.opt"), "path", str(d / "opt")),
        # These VMs lack CAP_SYS_RESOURCE: the pause container's oom_score_adj would be refused.
        (runtime, "restrict_oom_score_adj", True),
        ((*runtime, "cni"), "bin_dir" if version < 3 else "bin_dirs",
         str(d / "cni-bin") if version < 3 else [str(d / "cni-bin")]),
        ((*runtime, "cni"), "conf_dir", str(d / "cni-conf")),
        (cri, "stream_server_address", "127.0.0.1"),
        (cri, "stream_server_port", "0"),
    ]  # fmt: skip
    if version >= 3:
        # containerd 2's own default file names its sockets in the server plugins' sections.
        for server, sock in (
            ("grpc", "containerd.sock"),
            ("ttrpc", "containerd.sock.ttrpc"),
            ("debug", "debug.sock"),
        ):
            edits.append((("plugins", f"io.containerd.server.v1.{server}"), "address", str(d / sock)))
        edits.append(((), "imports", []))
        edits.append(((*images, "pinned_images"), "sandbox", "docker.io/library/cdi-pause:local"))
        edits.append(((), "temp", str(d / "tmp")))
        edits.append(((), "disabled_plugins", ["io.containerd.nri.v1.nri"]))
    else:
        edits.append((cri, "sandbox_image", "docker.io/library/cdi-pause:local"))
    path.write_text(_edit_toml(str(path), text, edits), encoding="utf-8")
