"""The shim in NVIDIA's cdi and jit-cdi modes (issue 16): legacy hook, ``none``, JIT-CDI.

JIT-CDI runs the real generator against the fake driver root and fake NVML of
``tests/producers/fakeroot.py``; the driver root and hook come from the NVIDIA
toolkit's config.toml, as ``nvidia-container-runtime`` reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdikit.integrations.runtime._config import RuntimeConfig
from cdikit.integrations.runtime._errors import ShimError
from cdikit.integrations.runtime._jit import split_jit_requests
from cdikit.integrations.runtime._log import ShimLog
from cdikit.integrations.runtime._requests import DeviceRequests
from cdikit.integrations.runtime._shim import container_requests, inject_bundle
from tests.producers import fakeroot

LEGACY = {
    "path": "/usr/bin/nvidia-container-runtime-hook",
    "args": ["nvidia-container-runtime-hook", "prestart"],
}


def _doc(env: list[str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "ociVersion": "1.0.2",
        "process": {"env": ["PATH=/bin", *env]},
        "root": {"path": "rootfs"},
        "hooks": {"prestart": [dict(LEGACY)]},
        "annotations": annotations or {},
    }


def _cfg(spec_dir: Path, default_kind: str = "nvidia.com/gpu") -> RuntimeConfig:
    cfg = RuntimeConfig()
    cfg.spec_dirs = [str(spec_dir)]
    cfg.default_kind = default_kind
    cfg.accept_env_unprivileged = True  # these bundles ask through NVIDIA_VISIBLE_DEVICES, unprivileged
    return cfg


def _inject(doc: dict[str, Any], cfg: RuntimeConfig) -> list[str]:
    requests = container_requests(doc, cfg)
    return inject_bundle(doc, requests, cfg, ShimLog())


def _gpu_spec(spec_dir: Path) -> None:
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "nvidia.json").write_text(
        json.dumps(
            {
                "cdiVersion": "0.5.0",
                "kind": "nvidia.com/gpu",
                "devices": [{"name": "0", "containerEdits": {"env": ["GPU0=1"]}}],
            }
        )
    )


@pytest.mark.parametrize(
    ("env", "annotations"),
    [
        (["NVIDIA_VISIBLE_DEVICES=0"], None),
        ([], {"cdi.k8s.io/gpu": "nvidia.com/gpu=0"}),  # the legacy hook would add GPU 0 again
        (["CDI_DEVICES=nvidia.com/gpu=0"], None),
    ],
)
def test_legacy_hook_dropped_whenever_devices_are_injected(
    tmp_path: Path, env: list[str], annotations: dict[str, str] | None
) -> None:
    _gpu_spec(tmp_path / "cdi")
    doc = _doc(env, annotations)
    assert _inject(doc, _cfg(tmp_path / "cdi")) == ["nvidia.com/gpu=0"]
    assert doc["hooks"]["prestart"] == []


def test_legacy_hook_kept_when_nothing_is_injected(tmp_path: Path) -> None:
    doc = _doc(["NVIDIA_VISIBLE_DEVICES=void"])
    assert _inject(doc, _cfg(tmp_path / "cdi")) == []
    assert doc["hooks"]["prestart"] == [LEGACY]


def test_none_without_a_none_device_fails_like_nvidia(tmp_path: Path) -> None:
    _gpu_spec(tmp_path / "cdi")
    with pytest.raises(ShimError, match=r"unresolvable CDI devices nvidia\.com/gpu=none"):
        _inject(_doc(["NVIDIA_VISIBLE_DEVICES=none"]), _cfg(tmp_path / "cdi"))


@pytest.mark.parametrize(
    ("names", "result"),
    [
        (["nvidia.com/gpu=0"], None),
        (["runtime.nvidia.com/gpu=0", "runtime.nvidia.com/gpu=GPU-1"], ["0", "GPU-1"]),
        (["runtime.nvidia.com/gpu="], ["none"]),
        (["runtime.nvidia.com/gpu=0", "nvidia.com/gpu=1"], "not supported when requesting other CDI devices"),
    ],
)
def test_split_jit_requests(names: list[str], result: list[str] | str | None) -> None:
    if isinstance(result, str):
        with pytest.raises(ShimError, match=result):
            split_jit_requests(names)
    else:
        assert split_jit_requests(names) == result


# --------------------------------------------------------------------------- JIT-CDI on the fake root


@pytest.fixture
def jit_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> fakeroot.FakeRoot:
    """A containerised driver root named in the toolkit config, fake NVML, no spec files."""
    root, env = fakeroot.jit_host(
        tmp_path,
        hook_path="/usr/bin/nvidia-cdi-hook",
        jit_table='nvcdi-feature-flags = ["no-additional-gids-for-device-nodes"]\n',
    )
    if not root.real_nodes:
        pytest.skip("JIT-CDI stats real device nodes: the fake root needs mknod (run as root)")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return root


def _nodes(doc: dict[str, Any]) -> list[str]:
    return [d["path"] for d in doc.get("linux", {}).get("devices", [])]


@pytest.mark.parametrize(
    ("visible", "names", "nodes"),
    [
        ("0", ["runtime.nvidia.com/gpu=0"], ["/dev/nvidia0", "/dev/dri/card1", "/dev/dri/renderD128"]),
        (fakeroot.GPU0_UUID, ["runtime.nvidia.com/gpu=0"], ["/dev/nvidia0", "/dev/dri/card1", "/dev/dri/renderD128"]),
        ("1:1", ["runtime.nvidia.com/gpu=1:1"], ["/dev/nvidia1", "/dev/nvidia-caps/nvidia-cap30", "/dev/nvidia-caps/nvidia-cap31"]),
        ("1", ["runtime.nvidia.com/gpu=1"], ["/dev/nvidia1"]),  # MIG-enabled GPU named: the full GPU
        ("none", ["runtime.nvidia.com/gpu=none"], []),  # driver files, no GPU (nvidia's jit-cdi)
    ],
)  # fmt: skip
def test_jit_cdi_generates_exactly_the_requested_gpus(
    tmp_path: Path, jit_host: fakeroot.FakeRoot, visible: str, names: list[str], nodes: list[str]
) -> None:
    doc = _doc([f"NVIDIA_VISIBLE_DEVICES={visible}"])
    cfg = _cfg(tmp_path / "no-spec-dir", default_kind="runtime.nvidia.com/gpu")
    assert _inject(doc, cfg) == names
    control = ["/dev/nvidia-modeset", "/dev/nvidia-uvm-tools", "/dev/nvidia-uvm", "/dev/nvidiactl"]
    assert sorted(_nodes(doc)) == sorted(control + nodes)
    mounts = {m["destination"]: m["source"] for m in doc["mounts"] if "source" in m}
    libcuda = f"/{fakeroot.LIBDIR}/libcuda.so.{fakeroot.VERSION}"
    assert mounts[libcuda] == f"{jit_host.path}{libcuda}"  # from the toolkit config's driver root
    assert "NVIDIA_VISIBLE_DEVICES=void" in doc["process"]["env"]
    hooks = doc["hooks"]
    assert hooks["prestart"] == []  # the legacy hook is gone
    assert {h["path"] for h in hooks["createContainer"]} == {"/usr/bin/nvidia-cdi-hook"}
    assert "additionalGids" not in json.dumps(doc)  # the jit-cdi feature flag from config.toml
    assert not (tmp_path / "no-spec-dir").exists()


def test_jit_cdi_add_on_modes_from_the_container_env(tmp_path: Path, jit_host: fakeroot.FakeRoot) -> None:
    doc = _doc(["NVIDIA_VISIBLE_DEVICES=0", "NVIDIA_GDS=enabled", "NVIDIA_IMEX_CHANNELS=1,all"])
    names = _inject(doc, _cfg(tmp_path / "cdi", default_kind="runtime.nvidia.com/gpu"))
    assert names == [
        "runtime.nvidia.com/gpu=0",
        "runtime.nvidia.com/gds=all",
        "runtime.nvidia.com/imex-channel=1",
    ]
    assert {"/dev/nvidia-fs0", "/dev/nvidia-caps-imex-channels/channel1"} <= set(_nodes(doc))


@pytest.mark.parametrize(
    ("visible", "message"),
    [("7", "unknown device id '7'"), ("GPU-nope", "unknown device id")],
)
def test_jit_cdi_failures_name_the_request(
    tmp_path: Path, jit_host: fakeroot.FakeRoot, visible: str, message: str
) -> None:
    doc = _doc([f"NVIDIA_VISIBLE_DEVICES={visible}"])
    with pytest.raises(ShimError, match=f"runtime.nvidia.com/gpu={visible}.*{message}"):
        _inject(doc, _cfg(tmp_path / "cdi", default_kind="runtime.nvidia.com/gpu"))


def test_jit_cdi_without_a_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = fakeroot.write_nvml(tmp_path / "nvml.json", {"init_error": "Driver Not Loaded"})
    monkeypatch.setenv("CDIKIT_FAKE_NVML", str(nvml))
    monkeypatch.setenv("NVIDIA_CTK_CONFIG_FILE_PATH", str(tmp_path / "absent.toml"))
    requests = DeviceRequests(["runtime.nvidia.com/gpu=0"], source="annotations")
    with pytest.raises(ShimError, match="Driver Not Loaded"):
        inject_bundle(_doc([]), requests, _cfg(tmp_path / "cdi"), ShimLog())
