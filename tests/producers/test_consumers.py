"""The generated spec is a spec every consumer loads: specfile, registry, injection, runc."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdikit.producers.nvidia.generate import generate
from cdikit.producers.nvidia.nvml import FakeBackend
from cdikit.producers.output import encode
from cdikit.registry import Registry
from cdikit.specfile import read_spec
from tests.producers import fakeroot
from tests.producers.conftest import OptionsFactory, root_options


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("mode", ["nvml", "management", "gds", "imex"])
def test_generated_spec_loads_with_read_spec(
    tmp_path: Path, options: OptionsFactory, backend: FakeBackend, fmt: str, mode: str
) -> None:
    result = generate(options(mode=mode), backend=backend)
    path = tmp_path / f"nvidia.{fmt}"
    path.write_bytes(encode(result.spec, fmt))  # type: ignore[arg-type]
    loaded = read_spec(str(path))
    assert loaded.kind == result.spec.kind
    assert list(loaded.devices) == [d.name for d in result.spec.devices or []]
    assert loaded.spec.cdi_version == result.spec.cdi_version


def test_gpu_and_add_on_specs_coexist_in_one_registry(
    tmp_path: Path, options: OptionsFactory, backend: FakeBackend
) -> None:
    """The reference's gds spec (kind nvidia.com/gpu) conflicts with the GPU spec; ours does not."""
    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    for mode in ("nvml", "gds", "mofed", "gdrcopy", "nvswitch", "imex"):
        result = generate(options(mode=mode), backend=backend)
        (spec_dir / f"nvidia-{mode}.yaml").write_bytes(encode(result.spec, "yaml"))
    reg = Registry([str(spec_dir)], auto_refresh=False)
    try:
        reg.refresh()
        assert reg.get_errors() == {}
        devices = reg.list_devices()
        for name in ("nvidia.com/gpu=all", "nvidia.com/gpu=0", "nvidia.com/gpu=1:1", "nvidia.com/gds=all",
                     "nvidia.com/mofed=all", "nvidia.com/imex-channel=1", f"nvidia.com/gpu={fakeroot.MIG_A}"):  # fmt: skip
            assert name in devices
    finally:
        reg.close()


def test_injection_into_an_oci_spec(tmp_path: Path, options: OptionsFactory, backend: FakeBackend) -> None:
    result = generate(options(), backend=backend)
    (tmp_path / "nvidia.yaml").write_bytes(encode(result.spec, "yaml"))
    reg = Registry([str(tmp_path)], auto_refresh=False)
    try:
        oci: dict[str, object] = {"ociVersion": "1.0.2", "process": {"env": []}, "linux": {}}
        reg.inject_devices(oci, ["nvidia.com/gpu=0"])
    finally:
        reg.close()
    env = oci["process"]["env"]  # type: ignore[index]
    assert "NVIDIA_VISIBLE_DEVICES=void" in env
    devices = {d["path"]: d for d in oci["linux"]["devices"]}  # type: ignore[index]
    assert devices["/dev/nvidia0"]["major"] == 195
    assert "/dev/nvidiactl" in devices and "/dev/dri/card1" in devices
    assert "/dev/nvidia1" not in devices
    mounts = [m["destination"] for m in oci["mounts"]]  # type: ignore[index]
    assert f"/{fakeroot.LIBDIR}/libcuda.so.{fakeroot.VERSION}" in mounts
    assert 44 in oci["process"]["user"]["additionalGids"]  # type: ignore[index]


@pytest.mark.e2e
def test_runc_container_sees_the_gpu(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot, backend: FakeBackend
) -> None:
    """Inject nvidia.com/gpu=0 into a real runc container; device nodes are real char devices."""
    from tests.e2e._support import Bundle, build_rootfs, require_runc, run_runtime, write_wrapper

    require_runc()
    if not nvidia_root.real_nodes:
        pytest.skip("needs mknod for real character devices")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hook = write_wrapper(bin_dir / "cdi-hook", "cdikit.integrations.hooks")

    # busybox has no ldconfig: the ldcache hook is exercised by the hooks' own tests.
    opts = root_options(nvidia_root, hook_path=str(hook), disabled_hooks=("update-ldcache",))
    spec = generate(opts, backend=backend).spec
    # cdi-hook specs run each edits group's hooks as one `cdi-hook chain` (issue 14): runc runs it here.
    assert [(h.args or [])[1] for h in spec.edits.hooks or []] == ["chain"]
    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    (spec_dir / "nvidia.yaml").write_bytes(encode(spec, "yaml"))
    rootfs = build_rootfs(tmp_path / "rootfs-template")
    (tmp_path / "b").mkdir()
    bundle = Bundle(tmp_path / "b", rootfs)
    try:
        lib = f"/{fakeroot.LIBDIR}"
        bundle.set_script(
            "set -e; test -c /dev/nvidia0; test -c /dev/nvidiactl; test -c /dev/dri/card1; "
            f"test ! -e /dev/nvidia1; test -f {lib}/libcuda.so.{fakeroot.VERSION}; "
            f'test "$(readlink {lib}/libcuda.so.1)" = libcuda.so.{fakeroot.VERSION}; '
            f'test "$(readlink {lib}/libcuda.so)" = libcuda.so.1; '
            'test "$(readlink /dev/dri/by-path/pci-0000:41:00.0-card)" = ../card1; '
            'echo "$NVIDIA_VISIBLE_DEVICES"; id -G'
        )
        reg = Registry([str(spec_dir)], auto_refresh=False)
        try:
            cfg = bundle.config
            reg.inject_devices(cfg, ["nvidia.com/gpu=0"])
            bundle.config = cfg
        finally:
            reg.close()
        proc = run_runtime(["runc"], bundle)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        out = proc.stdout.split()
        assert "void" in out and "44" in out
    finally:
        bundle.cleanup()
