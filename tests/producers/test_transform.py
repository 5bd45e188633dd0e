"""``cdi transform root`` against the reference outputs, and its matching rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cdikit.producers.nvidia.transform import TransformError, transform_root
from cdikit.producers.output import encode
from cdikit.spec import parse_spec
from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, Mount, Spec
from tests._shared import require_shared


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("/opt/fake-tegra-root", "/run/nvidia/driver", "host"), "transform-root-host.yaml"),
        (("/usr/lib/aarch64-linux-gnu", "/usr/lib64", "container"), "transform-root-container.yaml"),
    ],
)
def test_byte_identical_to_reference(args: tuple[str, str, str], expected: str) -> None:
    reference = require_shared("research", "nvidia-outputs")
    spec = parse_spec((reference / "mode-csv.yaml").read_bytes())
    assert spec is not None
    out = transform_root(spec, args[0], args[1], relative_to=args[2])  # type: ignore[arg-type]
    assert encode(out, "yaml") == (reference / expected).read_bytes()


def _spec(node: str, mount: str, hook_path: str, link: str) -> Spec:
    return Spec(
        cdi_version="0.5.0",
        kind="x.com/y",
        devices=[Device(name="d", container_edits=ContainerEdits(device_nodes=[DeviceNode(path=node)]))],
        container_edits=ContainerEdits(
            mounts=[Mount(host_path=mount, container_path=mount)],
            hooks=[Hook(hook_name="createContainer", path=hook_path, args=["h", "--link", link])],
        ),
    )


@pytest.mark.parametrize(
    ("src", "dst", "path", "moved"),
    [
        ("/a", "/b", "/a/x", "/b/x"),
        ("/a", "/b", "/a", "/b"),
        ("/a", "/b", "/ab/x", "/ab/x"),  # whole components only
        ("", "/root", "/dev/x", "/root/dev/x"),  # empty --from matches every absolute path
        ("/", "/root", "/dev/x", "/root/dev/x"),
        ("/a", "", "/a/x", "/x"),
    ],
)
def test_host_paths_move_by_component(src: str, dst: str, path: str, moved: str) -> None:
    out = transform_root(_spec(path, path, path, f"t::{path}"), src, dst)
    assert out.devices is not None and out.container_edits is not None
    assert out.devices[0].edits.device_nodes[0].host_path == moved  # type: ignore[index]
    assert out.devices[0].edits.device_nodes[0].path == path  # type: ignore[index]
    assert out.container_edits.mounts[0].host_path == moved  # type: ignore[index]
    assert out.container_edits.mounts[0].container_path == path  # type: ignore[index]
    hook = out.container_edits.hooks[0]  # type: ignore[index]
    assert hook.path == moved and hook.args == [
        "h",
        "--link",
        f"t::{path}",
    ]  # createContainer args: container side


def test_container_side_moves_create_container_args() -> None:
    out = transform_root(_spec("/a/n", "/a/m", "/a/hook", "/a/t::/a/l"), "/a", "/b", relative_to="container")
    assert out.container_edits is not None
    assert out.container_edits.hooks[0].args == ["h", "--link", "/b/t::/b/l"]  # type: ignore[index]
    assert out.container_edits.hooks[0].path == "/a/hook"  # type: ignore[index]
    assert out.container_edits.mounts[0].container_path == "/b/m"  # type: ignore[index]


def test_bad_relative_to() -> None:
    with pytest.raises(TransformError):
        transform_root(_spec("/a", "/a", "/a", "a::b"), "/a", "/b", relative_to="both")  # type: ignore[arg-type]


def test_cli_transform_root(tmp_path: Path) -> None:
    reference = require_shared("research", "nvidia-outputs")
    out = tmp_path / "moved.yml"
    proc = subprocess.run(
        [sys.executable, "-m", "cdikit", "transform", "root", "--from", "/opt/fake-tegra-root", "--to",
         "/run/nvidia/driver", "--input", str(reference / "mode-csv.yaml"), "--output", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (reference / "transform-root-host.yaml").read_bytes()
    assert not (tmp_path / "moved.yml.yaml").exists()


_component = st.text(alphabet="abcxyz-_.0", min_size=1, max_size=6).filter(lambda c: c not in (".", ".."))
_abs_path = st.lists(_component, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))


@given(_abs_path, _abs_path, st.lists(_component, max_size=3))
def test_transform_round_trips(src: str, dst: str, tail: list[str]) -> None:
    """Moving src -> dst -> src restores every path below src (dst not below src)."""
    assume(not (dst + "/").startswith(src + "/") and not (src + "/").startswith(dst + "/"))
    path = "/".join([src, *tail])
    spec = _spec(path, path, path, f"x::{path}")
    back = transform_root(transform_root(spec, src, dst), dst, src)
    assert back.devices is not None
    # An empty hostPath means "same as path"; the transform writes it out.
    assert back.devices[0].edits.device_nodes[0].host_path == path  # type: ignore[index]
    assert back.container_edits == spec.container_edits
