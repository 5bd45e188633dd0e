"""Generator behaviour beyond the reference captures: selection, naming, discovery fixes."""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.errors import InvalidNameError
from cdikit.producers.nvidia import discover
from cdikit.producers.nvidia.generate import DriverNotFoundError, GenerateError, generate, resolve_hook_path
from cdikit.producers.nvidia.nvml import FakeBackend, NvmlError
from cdikit.spec.types import Device, Hook, Spec
from tests.producers import fakeroot
from tests.producers.conftest import OptionsFactory, root_options


def _names(spec: Spec) -> list[str]:
    return [d.name for d in spec.devices or []]


def _device(spec: Spec, name: str) -> dict[str, object]:
    import msgspec

    dev = next(d for d in spec.devices or [] if d.name == name)
    return msgspec.to_builtins(dev.edits)  # type: ignore[no-any-return]


def _mount_paths(spec: Spec) -> list[str]:
    return [m.container_path for m in spec.edits.mounts or []]


def _link_args(spec: Spec) -> list[str]:
    return [a for h in spec.edits.hooks or [] for a in h.args or [] if "::" in a]


@pytest.mark.parametrize(
    ("ids", "names"),
    [
        (("all",), ["0", "1:0", "1:1", fakeroot.GPU0_UUID, fakeroot.MIG_B, fakeroot.MIG_A, "all"]),
        (("0",), ["0", fakeroot.GPU0_UUID, "all"]),
        (("1:1",), ["1:1", fakeroot.MIG_B, "all"]),
        ((fakeroot.GPU0_UUID,), ["0", fakeroot.GPU0_UUID, "all"]),
        ((fakeroot.MIG_A,), ["1:0", fakeroot.MIG_A, "all"]),
        ((f"MIG-{fakeroot.GPU1_UUID}/2/0",), ["1:1", fakeroot.MIG_B, "all"]),
        (("0,1:0",), ["0", "1:0", fakeroot.GPU0_UUID, fakeroot.MIG_A, "all"]),
        (("none",), ["none"]),
    ],
)
def test_device_id_selection(
    options: OptionsFactory, backend: FakeBackend, ids: tuple[str, ...], names: list[str]
) -> None:
    ids = tuple(p for i in ids for p in i.split(","))
    spec = generate(options(device_ids=ids), backend=backend).spec
    assert _names(spec) == names


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (("7",), "unknown device id '7'"),
        (("GPU-nope",), "unknown device id"),
        (("0", "none"), "cannot be combined"),  # the reference silently drops the 0
    ],
)
def test_bad_device_ids_are_errors(
    options: OptionsFactory, backend: FakeBackend, ids: tuple[str, ...], message: str
) -> None:
    with pytest.raises(GenerateError, match=message):
        generate(options(device_ids=ids), backend=backend)


@pytest.mark.parametrize(
    ("strategies", "names"),
    [
        (("index",), ["0", "1:0", "1:1", "all"]),
        (("type-index",), ["all", "gpu0", "mig1:0", "mig1:1"]),
        (("uuid",), [fakeroot.GPU0_UUID, fakeroot.MIG_B, fakeroot.MIG_A, "all"]),
    ],
)
def test_name_strategies(
    options: OptionsFactory, backend: FakeBackend, strategies: tuple[str, ...], names: list[str]
) -> None:
    assert _names(generate(options(device_name_strategies=strategies), backend=backend).spec) == names


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("mode", "foo", GenerateError),
        ("device_name_strategies", ("foo",), GenerateError),
        ("vendor", "-bad", InvalidNameError),
        ("class_", "bad/class", InvalidNameError),
        ("spec_version", "0.3.0", GenerateError),  # content needs 0.7.0
        ("spec_version", "9.9.9", GenerateError),
        ("enabled_hooks", ("all",), GenerateError),
    ],
)
def test_invalid_options(
    options: OptionsFactory, backend: FakeBackend, field: str, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        generate(options(**{field: value}), backend=backend)


def test_explicit_spec_version_above_minimum_is_kept(options: OptionsFactory, backend: FakeBackend) -> None:
    assert generate(options(spec_version="1.0.0"), backend=backend).spec.cdi_version == "1.0.0"
    assert generate(options(), backend=backend).spec.cdi_version == "0.7.0"


def test_spec_version_050_drops_additional_gids_with_a_warning(
    options: OptionsFactory, backend: FakeBackend
) -> None:
    """podman 4.3 loads cdiVersion 0.5.0 at most: the DRM nodes' group is the one thing given up."""
    from cdikit.spec.version import validate_version

    full = generate(options(), backend=backend)
    assert full.spec.cdi_version == "0.7.0" and not full.warnings
    fitted = generate(options(spec_version="0.5.0"), backend=backend)
    assert fitted.spec.cdi_version == "0.5.0"
    validate_version(fitted.spec)
    assert fitted.warnings and all(
        "dropped additionalGids" in w and "--group-add" in w for w in fitted.warnings
    )
    edits = [fitted.spec.container_edits] + [d.container_edits for d in fitted.spec.devices or ()]
    assert not any(e is not None and e.additional_gids for e in edits)
    # everything else is unchanged
    full_nodes = [[n.path for n in (d.container_edits.device_nodes or [])] for d in full.spec.devices or ()]
    fit_nodes = [[n.path for n in (d.container_edits.device_nodes or [])] for d in fitted.spec.devices or ()]
    assert full_nodes == fit_nodes


def test_default_hook_is_cdikit_with_every_hook(options: OptionsFactory, backend: FakeBackend) -> None:
    spec = generate(options(hook_path=None, chain_hooks=False), backend=backend).spec
    hooks = spec.edits.hooks or []
    assert hooks and all(os.path.basename(h.path) == "cdi-hook" for h in hooks)
    assert [h.args[1] for h in hooks if h.args] == [
        "create-symlinks",
        "create-symlinks",
        "enable-cuda-compat",
        "update-ldcache",
        "disable-device-node-modification",  # cdi-hook implements these two too (issue 16)
        "update-application-profile",
    ]


def _own_node_link_hooks(device: Device) -> bool:
    """Whether every hook of ``device`` only creates symlinks to the device's own nodes."""
    edits = device.edits
    nodes = {n.path for n in edits.device_nodes or []}
    links = [a for h in edits.hooks or [] for a in (h.args or [])[2:] if a != "--link"]
    return bool(edits.hooks) and all(
        (h.args or [])[1] == "create-symlinks" for h in edits.hooks or []
    ) and all(posixpath.normpath(posixpath.join(posixpath.dirname(v.split("::")[1]), v.split("::")[0])) in nodes
              for v in links)  # fmt: skip


def test_cdi_hook_specs_chain_each_group_of_hooks(options: OptionsFactory, backend: FakeBackend) -> None:
    """One `cdi-hook chain` per edits group, with the steps of the unchained spec in order.

    Devices whose hooks only link to their own nodes (the DRM by-path links) lose them to one
    `create-symlinks --if-target-exists` step, last in the spec's chain.
    """
    separate = generate(options(hook_path="/usr/bin/cdi-hook", chain_hooks=False), backend=backend).spec
    chained = generate(options(hook_path="/usr/bin/cdi-hook"), backend=backend).spec
    hoisted = [d for d in separate.devices or [] if _own_node_link_hooks(d)]
    assert {d.name for d in hoisted} == {"0", fakeroot.GPU0_UUID, "all"}
    links = [a for d in hoisted for h in d.edits.hooks or [] for a in (h.args or [])[2:] if a != "--link"]
    first = (separate.edits.hooks or [])[0]
    step = Hook(hook_name=first.hook_name, path=first.path, env=first.env, timeout=first.timeout,
                args=["cdi-hook", "create-symlinks", "--if-target-exists",
                      *[a for v in dict.fromkeys(links) for a in ("--link", v)]])  # fmt: skip
    groups = [(separate.edits, chained.edits, [step])] + [
        (a.edits, b.edits, []) for a, b in zip(separate.devices or [], chained.devices or [], strict=True)
    ]
    assert any(len(a.hooks or []) > 1 for a, _, _ in groups)
    for before, after, added in groups:
        hooks = [h for h in before.hooks or [] if not any(before is d.edits for d in hoisted)] + added
        if len(hooks) < 2:
            assert (after.hooks or []) == hooks
            continue
        assert len(after.hooks or []) == 1
        (chain,) = after.hooks or []
        assert (chain.hook_name, chain.path, chain.env) == (hooks[0].hook_name, hooks[0].path, hooks[0].env)
        steps = [a for h in hooks for a in ("--", *(h.args or [])[1:])][1:]
        assert chain.args == ["cdi-hook", "chain", *steps]
        assert chain.timeout == sum(h.timeout or 0 for h in hooks)
        # everything else is untouched
        assert (after.env, after.mounts, after.device_nodes) == (
            before.env,
            before.mounts,
            before.device_nodes,
        )


def _container_hooks(spec: Spec, names: list[str]) -> list[list[str]]:
    """The hook command lines (args[1:]) a container requesting ``names`` runs, in the Go library's order."""
    hooks = list(spec.edits.hooks or [])
    for name in names:
        hooks += next(d for d in spec.devices or [] if d.name == name).edits.hooks or []
    return [(h.args or [])[1:] for h in hooks]


@pytest.mark.parametrize(
    "names",
    [
        ["0"],
        [fakeroot.GPU0_UUID],
        ["1:0"],
        ["all"],
        ["1:1", "0"],
        ["0", fakeroot.GPU0_UUID],
        [fakeroot.MIG_A],
    ],
)
def test_hoisted_links_have_the_effect_of_the_device_hooks(
    options: OptionsFactory, backend: FakeBackend, tmp_path: Path, names: list[str]
) -> None:
    """Whatever the container requests, the chained spec's links are the unchained spec's.

    Each container root holds the requested devices' nodes (as runc creates them before
    createContainer hooks); the symlink steps of both specs run through cdi-hook itself.
    """
    from cdikit.integrations.hooks import chain_steps, main

    separate = generate(options(hook_path="/usr/bin/cdi-hook", chain_hooks=False), backend=backend).spec
    chained = generate(options(hook_path="/usr/bin/cdi-hook"), backend=backend).spec
    trees = []
    for label, spec in (("separate", separate), ("chained", chained)):
        root = tmp_path / label / "rootfs"
        for name in names:
            for node in next(d for d in spec.devices or [] if d.name == name).edits.device_nodes or []:
                (root / node.path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
                (root / node.path.lstrip("/")).touch()
        config = tmp_path / label / "config.json"
        config.write_text(json.dumps({"root": {"path": "rootfs"}}), encoding="utf-8")
        for args in _container_hooks(spec, names):
            for step in chain_steps(args) or [args]:
                if step[0] == "create-symlinks":
                    assert main([*step, "--container-spec", str(config)]) == 0
        trees.append(sorted((str(p.relative_to(root)), os.readlink(p) if p.is_symlink() else "")
                            for p in root.rglob("*")))  # fmt: skip
    assert trees[0] == trees[1]
    by_path = [p for p, _ in trees[1] if "by-path" in p]
    assert bool(by_path) == any(n in ("0", fakeroot.GPU0_UUID, "all") for n in names)


def test_nvidia_hook_specs_are_never_chained(options: OptionsFactory, backend: FakeBackend) -> None:
    spec = generate(options(), backend=backend).spec
    assert len(spec.edits.hooks or []) > 1
    assert all((h.args or [])[1] != "chain" for h in spec.edits.hooks or [])


def test_resolve_hook_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    assert resolve_hook_path("/opt/x/cdi-hook") == "/opt/x/cdi-hook"
    # Nothing beside the program or the interpreter: PATH, then /usr/bin.
    program, interpreter = tmp_path / "prog", tmp_path / "python"
    (program / "bin").mkdir(parents=True)
    (interpreter / "bin").mkdir(parents=True)
    monkeypatch.setattr(sys, "argv", [str(program / "bin" / "cdi")])
    monkeypatch.setattr(sys, "executable", str(interpreter / "bin" / "python3"))
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    monkeypatch.setenv("PATH", str(path_dir))
    assert resolve_hook_path(None) == "/usr/bin/cdi-hook"
    for where in (path_dir, interpreter / "bin", program / "bin"):
        # Each found place beats the ones before it: PATH < the interpreter's bin < the program's dir.
        (where / "cdi-hook").write_text("#!/bin/sh\n")
        (where / "cdi-hook").chmod(0o755)
        assert resolve_hook_path(None) == str(where / "cdi-hook")


def test_chmod_hook_only_when_enabled(options: OptionsFactory, backend: FakeBackend) -> None:
    spec = generate(options(enabled_hooks=("chmod",)), backend=backend).spec
    gpu0 = _device(spec, "0")
    assert any(h["args"][1:] == ["chmod", "--mode", "755", "--path", "/dev/dri"] for h in gpu0["hooks"])  # type: ignore[index, union-attr]
    mig = _device(spec, "1:0")
    assert any("/dev/nvidia-caps" in h["args"] for h in mig["hooks"])  # type: ignore[index, union-attr, operator]
    assert "hooks" not in _device(generate(options(), backend=backend).spec, "1:0")


def test_disable_all_hooks(options: OptionsFactory, backend: FakeBackend) -> None:
    spec = generate(options(disabled_hooks=("all",)), backend=backend).spec
    assert spec.edits.hooks is None
    assert all(d.edits.hooks is None for d in spec.devices or [])


def test_mig_profile_with_graphics_gets_drm(tmp_path: Path, nvidia_root: fakeroot.FakeRoot) -> None:
    desc = fakeroot.harness_nvml()
    gpu1 = desc["gpus"][1]  # type: ignore[index]
    gpu1["pci_bus_id"] = "00000000:41:00.0"
    gpu1["mig_devices"][0]["profile"] = "1g.24gb+gfx"
    spec = generate(root_options(nvidia_root), backend=FakeBackend(desc)).spec
    paths = [n["path"] for n in _device(spec, "1:0")["deviceNodes"]]  # type: ignore[union-attr]
    assert "/dev/dri/card1" in paths
    assert "/dev/dri/card1" not in [n["path"] for n in _device(spec, "1:1")["deviceNodes"]]  # type: ignore[union-attr]


def test_missing_mig_minors_names_the_file(nvidia_root: fakeroot.FakeRoot, backend: FakeBackend) -> None:
    os.unlink(nvidia_root.path / "proc/driver/nvidia-caps/mig-minors")
    with pytest.raises(GenerateError, match="mig-minors"):
        generate(root_options(nvidia_root), backend=backend)
    # Without MIG devices selected the file is not needed.
    assert _names(generate(root_options(nvidia_root, device_ids=("0",)), backend=backend).spec)[0] == "0"


def test_dgx_display_is_skipped(nvidia_root: fakeroot.FakeRoot) -> None:
    desc = fakeroot.harness_nvml()
    desc["gpus"].append({"index": 2, "uuid": "GPU-dddd", "minor": 9, "name": "DGX Display"})  # type: ignore[attr-defined]
    spec = generate(root_options(nvidia_root), backend=FakeBackend(desc)).spec
    assert "2" not in _names(spec) and "GPU-dddd" not in _names(spec)


def test_nvml_failure_is_driver_not_found(
    nvidia_root: fakeroot.FakeRoot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "nvml.json"
    bad.write_text(json.dumps({"init_error": "Driver Not Loaded"}))
    monkeypatch.setenv("CDIKIT_FAKE_NVML", str(bad))
    with pytest.raises(DriverNotFoundError, match="Driver Not Loaded"):
        generate(root_options(nvidia_root))
    # management mode does not need NVML: the version comes from libcuda's file name.
    result = generate(root_options(nvidia_root, mode="management"))
    assert result.driver_version == fakeroot.VERSION


def test_fake_nvml_selected_by_environment(
    nvidia_root: fakeroot.FakeRoot, nvml_json: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDIKIT_FAKE_NVML", str(nvml_json))
    result = generate(root_options(nvidia_root, mode="auto"))
    assert result.mode == "nvml"
    assert fakeroot.GPU0_UUID in _names(result.spec)


def test_soname_only_install_is_found(nvidia_root: fakeroot.FakeRoot, backend: FakeBackend) -> None:
    """A distro that ships libGLX_nvidia only as .so.0 (negativo17): the reference misses it."""
    lib = nvidia_root.path / fakeroot.LIBDIR
    os.unlink(lib / "libGLX_nvidia.so.0")
    os.rename(lib / f"libGLX_nvidia.so.{fakeroot.VERSION}", lib / "libGLX_nvidia.so.0")
    spec = generate(root_options(nvidia_root), backend=backend).spec
    assert f"/{fakeroot.LIBDIR}/libGLX_nvidia.so.0" in _mount_paths(spec)
    assert f"libGLX_nvidia.so.0::/{fakeroot.LIBDIR}/libGLX_indirect.so.0" in _link_args(spec)


def test_absolute_symlink_resolved_inside_driver_root(
    nvidia_root: fakeroot.FakeRoot, backend: FakeBackend
) -> None:
    """libcuda found through an absolute link: resolved in the root, mounted at its own path."""
    lib = nvidia_root.path / fakeroot.LIBDIR
    real = nvidia_root.path / "opt/nvidia/lib"
    real.mkdir(parents=True)
    name = f"libnvidia-encode.so.{fakeroot.VERSION}"
    os.rename(lib / name, real / name)
    os.symlink(f"/opt/nvidia/lib/{name}", lib / name)
    spec = generate(root_options(nvidia_root), backend=backend).spec
    mount = next(m for m in spec.edits.mounts or [] if m.container_path.endswith(name))
    assert mount.container_path == f"/opt/nvidia/lib/{name}"
    assert mount.host_path == f"{nvidia_root.path}/opt/nvidia/lib/{name}"


def test_container_paths_never_contain_the_driver_root(
    nvidia_root: fakeroot.FakeRoot, backend: FakeBackend
) -> None:
    spec = generate(root_options(nvidia_root), backend=backend).spec
    root = str(nvidia_root.path)
    edits = [spec.edits, *(d.edits for d in spec.devices or [])]
    for e in edits:
        assert all(not n.path.startswith(root) for n in e.device_nodes or [])
        assert all(not m.container_path.startswith(root) for m in e.mounts or [])
        assert all(root not in a.split("::")[-1] for h in e.hooks or [] for a in h.args or [])
        assert all(m.host_path.startswith(root) for m in e.mounts or [])


def test_missing_files_reported_once(options: OptionsFactory, backend: FakeBackend) -> None:
    missing = generate(options(), backend=backend).missing
    assert len(missing) == len(set(missing))
    assert "nvidia-xconfig" in missing and "/run/nvidia-fabricmanager/socket" in missing


def test_regular_files_stand_in_for_device_nodes(tmp_path: Path, backend: FakeBackend) -> None:
    """Without mknod rights, JSON stand-ins give the same stat'ed identity."""
    root = fakeroot.build_nvidia_root(tmp_path / "root")
    for rel in ("dev/nvidia0", "dev/dri/card1"):
        p = root.path / rel
        os.unlink(p)
        fakeroot._write(
            p,
            json.dumps(
                {
                    "major": 195 if "nvidia" in rel else 226,
                    "minor": 0 if "nvidia" in rel else 1,
                    "mode": 0o660 if "card" in rel else 0o666,
                    "gid": 44 if "card" in rel else 0,
                }
            ),
        )
    with_fake = generate(root_options(root, fake_device_nodes=True), backend=backend).spec
    nodes = {n["path"]: n for n in _device(with_fake, "0")["deviceNodes"]}  # type: ignore[union-attr]
    assert nodes["/dev/nvidia0"]["major"] == 195 and nodes["/dev/dri/card1"]["gid"] == 44
    # A regular file is not a device node otherwise (as the reference).
    with pytest.raises(GenerateError, match="/dev/nvidia0 not found"):
        generate(root_options(root, fake_device_nodes=False), backend=backend)


def test_library_search_path_limits_lookup(options: OptionsFactory, backend: FakeBackend) -> None:
    with pytest.raises(DriverNotFoundError):
        # NVML gives the version but no library is found there: libcuda dir missing entirely
        generate(
            options(library_search_paths=("/nonexistent",), mode="management"),
            backend=FakeBackend({"driver_version": ""}),
        )
    spec = generate(options(library_search_paths=(f"/{fakeroot.LIBDIR}",)), backend=backend).spec
    assert f"/{fakeroot.LIBDIR}/libcuda.so.{fakeroot.VERSION}" in _mount_paths(spec)


def test_split_dev_root(tmp_path: Path, backend: FakeBackend) -> None:
    root = fakeroot.build_nvidia_root(tmp_path / "root")
    devroot = tmp_path / "devroot"
    devroot.mkdir()
    os.rename(root.path / "dev", devroot / "dev")
    spec = generate(root_options(root, dev_root=str(devroot)), backend=backend).spec
    node = next(n for n in spec.edits.device_nodes or [] if n.path == "/dev/nvidiactl")
    assert node.host_path == f"{devroot}/dev/nvidiactl"
    assert any(
        "::/dev/dri/by-path/pci-0000:41:00.0-card" in a
        for h in _device(spec, "0")["hooks"]
        for a in h["args"]
    )  # type: ignore[union-attr, index]


def test_wsl_mode(tmp_path: Path) -> None:
    root = tmp_path / "wsl"
    store = root / "usr/lib/wsl/drivers/nv_dispi.inf_amd64_1234"
    for name in (
        "libcuda.so.1.1",
        "libcuda_loader.so",
        "libnvidia-ml.so.1",
        "nvcubins.bin",
        "nvidia-smi",
        "extra.dll",
    ):
        fakeroot._write(store / name, b"x")
    fakeroot._write(root / "usr/lib/wsl/lib/libdxcore.so", fakeroot.elf_with_soname("libdxcore.so"))
    real = fakeroot.make_node(root, "/dev/dxg", 10, 63, 0o666)
    opts = root_options(fakeroot.FakeRoot(root, real), mode="auto")
    result = generate(opts, backend=None)
    assert result.mode == "wsl"
    assert _names(result.spec) == ["all"]
    mounts = _mount_paths(result.spec)
    store_rel = "/" + store.relative_to(root).as_posix()
    assert "/usr/lib/wsl/lib/libdxcore.so" in mounts
    assert f"{store_rel}/extra.dll" in mounts
    assert f"{store_rel}/nvidia-smi::/usr/bin/nvidia-smi" in _link_args(result.spec)


def test_imex_channel_ids(options: OptionsFactory) -> None:
    assert _names(generate(options(mode="imex", device_ids=("channel1",))).spec) == ["1", "all"]
    with pytest.raises(GenerateError, match="does not exist"):
        generate(options(mode="imex", device_ids=("5",)))
    with pytest.raises(GenerateError, match="invalid IMEX channel"):
        generate(options(mode="imex", device_ids=(str(2**20),)))


def test_gated_mode_without_nodes_fails(tmp_path: Path) -> None:
    root = fakeroot.FakeRoot(tmp_path, True)
    (tmp_path / "dev").mkdir()
    with pytest.raises(GenerateError, match="no devices"):
        generate(root_options(root, mode="gdrcopy"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00000000:41:00.0", "0000:41:00.0"),
        ("0000:0A:00.0", "0000:0a:00.0"),
        ("0001:41:00.0", "0001:41:00.0"),
        ("", ""),
    ],
)
def test_normalize_bus_id(raw: str, expected: str) -> None:
    assert discover.normalize_bus_id(raw) == expected


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFF), st.integers(0, 0x1F), st.integers(0, 7))
def test_normalize_bus_id_property(domain: int, bus: int, dev: int, fn: int) -> None:
    nvml = f"{domain:08X}:{bus:02X}:{dev:02X}.{fn}"
    assert discover.normalize_bus_id(nvml) == f"{domain:04x}:{bus:02x}:{dev:02x}.{fn}"


@pytest.mark.parametrize(
    "description",
    [{"gpus": [{"index": 0}]}, {"gpus": [{"uuid": "GPU-x", "mig_devices": [{"uuid": "MIG-y"}]}]}],
)
def test_fake_backend_rejects_incomplete_descriptions(description: dict[str, object]) -> None:
    with pytest.raises(NvmlError, match=r"gpus\[0\]"):
        FakeBackend(description).gpus()


def test_binary_behind_alternatives_link_is_mounted_at_its_path(
    nvidia_root: fakeroot.FakeRoot, backend: FakeBackend
) -> None:
    """Debian: /usr/bin/nvidia-smi -> /etc/alternatives/... -> /usr/lib/nvidia/current/nvidia-smi."""
    r = nvidia_root.path
    os.unlink(r / "usr/bin/nvidia-smi")
    fakeroot._write(r / "usr/lib/nvidia/current/nvidia-smi", "#!/bin/sh\n", 0o755)
    (r / "etc/alternatives").mkdir(parents=True)
    os.symlink("/usr/lib/nvidia/current/nvidia-smi", r / "etc/alternatives/nvidia--nvidia-smi")
    os.symlink("/etc/alternatives/nvidia--nvidia-smi", r / "usr/bin/nvidia-smi")
    spec = generate(root_options(nvidia_root), backend=backend).spec
    mount = next(m for m in spec.edits.mounts or [] if m.container_path.endswith("/nvidia-smi"))
    assert mount.container_path == "/usr/bin/nvidia-smi"
    assert mount.host_path == f"{r}/usr/lib/nvidia/current/nvidia-smi"


@pytest.mark.parametrize("source", ["ld.so.cache", "ld.so.conf"])
def test_libraries_outside_standard_dirs(
    nvidia_root: fakeroot.FakeRoot, backend: FakeBackend, source: str
) -> None:
    """Libraries only in /var/lib/nvidia/lib64 (rootfs-2 of the reference tests)."""
    import shutil
    import subprocess

    r = nvidia_root.path
    shutil.move(r / fakeroot.LIBDIR, r / "var/lib/nvidia/lib64")
    (r / "etc/ld.so.conf.d/nvidia.conf").write_text("/var/lib/nvidia/lib64\n")
    if source == "ld.so.cache":
        ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
        if not os.path.exists(ldconfig):
            pytest.skip("ldconfig not available to build a cache")
        subprocess.run([ldconfig, "-r", str(r)], check=True, capture_output=True)
        os.unlink(r / "etc/ld.so.conf.d/nvidia.conf")  # only the cache knows the dir now
    spec = generate(root_options(nvidia_root), backend=backend).spec
    assert f"/var/lib/nvidia/lib64/libcuda.so.{fakeroot.VERSION}" in _mount_paths(spec)
    assert "NVIDIA_CTK_LIBCUDA_DIR=/var/lib/nvidia/lib64" in (spec.edits.env or [])


@pytest.mark.parametrize("content", [b"", b"glibc-ld.so.cache1.1", b"ld.so-1.7.0\0\0\0\0\0" + b"\xff" * 64])
def test_unreadable_ld_so_cache_gives_no_dirs(tmp_path: Path, content: bytes) -> None:
    from cdikit.producers.nvidia._ldcache import ld_so_cache_dirs

    p = tmp_path / "ld.so.cache"
    p.write_bytes(content)
    assert ld_so_cache_dirs(str(p)) == []
    assert ld_so_cache_dirs(str(tmp_path / "missing")) == []
