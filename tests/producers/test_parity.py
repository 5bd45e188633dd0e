"""nvidia-ctk 1.20 parity (issue 16): NVML from the driver root, MIG-enabled ids,
feature flags, CSV options, config search paths, CLI aliases and the toolkit config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cdikit.producers.nvidia import discover
from cdikit.producers.nvidia.generate import DriverNotFoundError, generate
from cdikit.producers.nvidia.nvml import FakeBackend, NvmlError, open_backend
from cdikit.spec.types import Spec
from tests.producers import fakeroot
from tests.producers.conftest import OptionsFactory, root_options


def _names(spec: Spec) -> list[str]:
    return [d.name for d in spec.devices or []]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CDIKIT_NVIDIA_", "NVIDIA_CTK_"))}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cdikit", "generate", "nvidia", *args],
        capture_output=True, text=True, env=full, check=False,
    )  # fmt: skip


def _roots(root: fakeroot.FakeRoot) -> list[str]:
    r = str(root.path)
    return ["--sysfs-root", r, "--procfs-root", r, "--hook-path", "/usr/bin/nvidia-cdi-hook"]


# --------------------------------------------------------------------------- 1. NVML from the driver root


@pytest.fixture
def driver_container(tmp_path: Path) -> fakeroot.FakeRoot:
    return fakeroot.containerised_driver_root(tmp_path / "host")


@pytest.fixture
def no_host_nvml(tmp_path: Path) -> Path:
    """A fake NVML whose host loader has no libnvidia-ml: only a driver root's library loads."""
    return fakeroot.write_nvml(tmp_path / "nvml.json", {**fakeroot.harness_nvml(), "host_library": False})


def test_nvml_library_is_found_inside_the_driver_root(driver_container: fakeroot.FakeRoot) -> None:
    view = root_options(driver_container).host_view()
    lib = discover.nvml_library(view)
    assert lib == f"{driver_container.path}/{fakeroot.LIBDIR}/libnvidia-ml.so.{fakeroot.VERSION}"


def test_containerised_driver_root_loads_its_own_nvml(
    driver_container: fakeroot.FakeRoot, no_host_nvml: Path
) -> None:
    env = {"CDIKIT_FAKE_NVML": str(no_host_nvml)}
    view = root_options(driver_container).host_view()
    backend = open_backend(env, library=discover.nvml_library(view))
    assert isinstance(backend, FakeBackend) and backend.library.startswith(str(driver_container.path))
    proc = _run(["--driver-root", str(driver_container.path), *_roots(driver_container)], env)
    assert proc.returncode == 0, proc.stderr
    assert "0" in [d["name"] for d in yaml.safe_load(proc.stdout)["devices"]]


def test_no_nvml_in_root_nor_on_host_fails_like_nvidia_ctk(
    driver_container: fakeroot.FakeRoot, no_host_nvml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = driver_container.path / fakeroot.LIBDIR
    for p in lib.glob("libnvidia-ml.so*"):
        p.unlink()
    monkeypatch.setenv("CDIKIT_FAKE_NVML", str(no_host_nvml))
    with pytest.raises(DriverNotFoundError, match="NVML Shared Library Not Found"):
        generate(root_options(driver_container))


def test_fake_backend_refuses_a_library_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(NvmlError, match="Shared Library Not Found"):
        FakeBackend(fakeroot.harness_nvml(), library=str(tmp_path / "libnvidia-ml.so.1"))


def test_driver_root_from_the_toolkit_config(
    tmp_path: Path, driver_container: fakeroot.FakeRoot, no_host_nvml: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[nvidia-container-cli]\nroot = "{driver_container.path}"\n')
    env = {"CDIKIT_FAKE_NVML": str(no_host_nvml), "NVIDIA_CTK_CONFIG_FILE_PATH": str(config)}
    proc = _run(_roots(driver_container), env)
    assert proc.returncode == 0, proc.stderr
    mounts = yaml.safe_load(proc.stdout)["containerEdits"]["mounts"]
    assert all(m["hostPath"].startswith(str(driver_container.path)) for m in mounts)
    # --driver-root (and NVIDIA_CTK_DRIVER_ROOT) win over the config file.
    other = fakeroot.build_nvidia_root(tmp_path / "other")
    proc = _run(["--driver-root", str(other.path), *_roots(driver_container)], env)
    assert str(other.path) in proc.stdout and str(driver_container.path) + "/" not in proc.stdout
    # nvidia-ctk's --config variable names the file too.
    proc = _run(
        _roots(driver_container), {**env, "NVIDIA_CTK_CONFIG_FILE_PATH": "", "NVIDIA_CTK_CONFIG": str(config)}
    )
    assert proc.returncode == 0 and str(driver_container.path) in proc.stdout, proc.stderr
    # A broken config is an error naming it (nvidia-ctk would silently use /).
    config.write_text("[nvidia-container-cli\n")
    proc = _run(_roots(driver_container), env)
    assert proc.returncode == 1 and str(config) in proc.stderr


# --------------------------------------------------------------------------- 2. MIG-enabled GPU by id


@pytest.mark.parametrize("ident", ["1", fakeroot.GPU1_UUID])
def test_mig_enabled_gpu_named_explicitly_is_a_full_gpu(
    options: OptionsFactory, backend: FakeBackend, ident: str
) -> None:
    spec = generate(options(device_ids=(ident,)), backend=backend).spec
    assert _names(spec) == ["1", fakeroot.GPU1_UUID, "all"]
    nodes = [n.path for n in spec.devices[0].edits.device_nodes or []]  # type: ignore[index]
    assert nodes == ["/dev/nvidia1"]  # the parent node, no MIG caps


def test_all_still_leaves_mig_enabled_parents_out(options: OptionsFactory, backend: FakeBackend) -> None:
    assert "1" not in _names(generate(options(), backend=backend).spec)


# --------------------------------------------------------------------------- 3. feature flags


def _doc(spec: Spec) -> dict[str, object]:
    return msgspec.to_builtins(spec)  # type: ignore[no-any-return]


def test_no_additional_gids_keeps_the_spec_within_0_5_0(
    options: OptionsFactory, backend: FakeBackend
) -> None:
    default = generate(options(), backend=backend).spec
    assert default.cdi_version == "0.7.0" and "additionalGids" in json.dumps(_doc(default))
    flagged = generate(options(feature_flags=("no-additional-gids-for-device-nodes",)), backend=backend).spec
    assert flagged.cdi_version == "0.5.0" and "additionalGids" not in json.dumps(_doc(flagged))


def test_disable_ipc_discoverer(options: OptionsFactory, backend: FakeBackend) -> None:
    def sockets(flags: tuple[str, ...]) -> list[str]:
        spec = generate(options(feature_flags=flags), backend=backend).spec
        return [m.container_path for m in spec.edits.mounts or [] if "noexec" in (m.options or [])]

    assert sorted(sockets(())) == ["/run/nvidia-persistenced/socket", "/tmp/nvidia-mps"]
    assert sockets(("disable-ipc-discoverer",)) == []


def test_explicit_driver_libraries(
    nvidia_root: fakeroot.FakeRoot, options: OptionsFactory, backend: FakeBackend
) -> None:
    lib = nvidia_root.path / fakeroot.LIBDIR
    fakeroot.make_lib(lib, "libEGL.so.1.1.0", "libEGL.so.1")
    os.symlink("libEGL.so.1.1.0", lib / "libEGL.so")
    target = f"/{fakeroot.LIBDIR}/libEGL.so.1.1.0"

    def mounted(flags: tuple[str, ...]) -> bool:
        spec = generate(options(feature_flags=flags), backend=backend).spec
        return target in [m.container_path for m in spec.edits.mounts or []]

    assert not mounted(())
    assert mounted(("enable-explicit-driver-libraries",))


def test_coherent_split(nvidia_root: fakeroot.FakeRoot, options: OptionsFactory) -> None:
    backend = FakeBackend(fakeroot.coherent_nvml())
    result = generate(options(feature_flags=("enable-coherent-annotations",)), backend=backend)
    assert _names(result.spec) == ["0", "1", fakeroot.GPU0_UUID, fakeroot.GPU1_UUID, "all"]
    assert all(d.annotations is None for d in result.spec.devices or [])  # removed, as nvidia-ctk
    split = {infix: s for infix, s in result.extra_specs}
    assert list(split) == [".coherent", ".noncoherent"]
    assert split[".coherent"].kind == "nvidia.com/gpu.coherent"
    assert _names(split[".coherent"]) == ["0", fakeroot.GPU0_UUID, "all"]
    assert _names(split[".noncoherent"]) == ["1", fakeroot.GPU1_UUID, "all"]
    assert split[".coherent"].cdi_version == "0.7.0"  # a dot in the class needs 0.6.0; gids 0.7.0
    assert split[".coherent"].edits == result.spec.edits
    assert generate(options(), backend=backend).extra_specs == []


def test_coherent_split_files_from_the_cli(
    tmp_path: Path, nvidia_root: fakeroot.FakeRoot, options: OptionsFactory
) -> None:
    nvml = fakeroot.write_nvml(tmp_path / "nvml.json", fakeroot.coherent_nvml())
    out = tmp_path / "cdi" / "nvidia.yaml"
    args = ["--driver-root", str(nvidia_root.path), *_roots(nvidia_root), "--output", str(out)]
    proc = _run([*args, "--feature-flag", "enable-coherent-annotations"], {"CDIKIT_FAKE_NVML": str(nvml)})
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "nvidia.coherent.yaml",
        "nvidia.noncoherent.yaml",
        "nvidia.yaml",
    ]
    assert (
        yaml.safe_load((out.parent / "nvidia.coherent.yaml").read_text())["kind"] == "nvidia.com/gpu.coherent"
    )


def test_unknown_feature_flag_is_a_warning(nvidia_root: fakeroot.FakeRoot, nvml_json: Path) -> None:
    args = ["--driver-root", str(nvidia_root.path), *_roots(nvidia_root)]
    proc = _run([*args, "--feature-flag", "no-such-flag"], {"CDIKIT_FAKE_NVML": str(nvml_json)})
    assert proc.returncode == 0 and "unknown feature flag 'no-such-flag'" in proc.stderr


def test_feature_flags_from_the_nvidia_ctk_environment(
    nvidia_root: fakeroot.FakeRoot, nvml_json: Path
) -> None:
    env = {
        "CDIKIT_FAKE_NVML": str(nvml_json),
        "NVIDIA_CTK_CDI_GENERATE_FEATURE_FLAGS": "no-additional-gids-for-device-nodes,disable-ipc-discoverer",
    }
    proc = _run(["--driver-root", str(nvidia_root.path), *_roots(nvidia_root)], env)
    doc = yaml.safe_load(proc.stdout)
    assert doc["cdiVersion"] == "0.5.0" and "nvidia-persistenced/socket" not in proc.stdout


# --------------------------------------------------------------------------- 3. options and aliases


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        (["--format", "JSON"], lambda out: json.loads(out)["kind"] == "nvidia.com/gpu"),
        (["--nvidia-ctk-path", "/usr/bin/nvidia-ctk"], lambda out: "- hook\n" in out and "nvidia-ctk" in out),
        (["--disable-hooks", "all"], lambda out: "hooks" not in out),
        (["--enable-hooks", "chmod"], lambda out: "- chmod" in out),
        (["--devices", "0"], lambda out: 'name: "1:0"' not in out and 'name: "0"' in out),
        (["--device", fakeroot.MIG_A], lambda out: 'name: "1:0"' in out and 'name: "0"' not in out),
    ],
)
def test_cli_aliases_and_case(
    nvidia_root: fakeroot.FakeRoot, nvml_json: Path, extra: list[str], check: object
) -> None:
    args = ["--driver-root", str(nvidia_root.path), "--sysfs-root", str(nvidia_root.path)]
    args += ["--procfs-root", str(nvidia_root.path)]
    proc = _run([*args, *extra], {"CDIKIT_FAKE_NVML": str(nvml_json)})
    assert proc.returncode == 0, proc.stderr
    assert check(proc.stdout)  # type: ignore[operator]


def test_invalid_format_exits_1_like_nvidia_ctk(nvidia_root: fakeroot.FakeRoot, nvml_json: Path) -> None:
    proc = _run(
        ["--driver-root", str(nvidia_root.path), "--format", "xml"], {"CDIKIT_FAKE_NVML": str(nvml_json)}
    )
    assert proc.returncode == 1 and "invalid output format: xml" in proc.stderr


def test_config_search_path_replaces_etc_and_xdg(
    tmp_path: Path, options: OptionsFactory, backend: FakeBackend
) -> None:
    elsewhere = tmp_path / "cfg"
    (elsewhere / "glvnd/egl_vendor.d").mkdir(parents=True)
    (elsewhere / "glvnd/egl_vendor.d/10_nvidia.json").write_text("{}\n")
    spec = generate(options(config_search_paths=(str(elsewhere),)), backend=backend).spec
    by_container = {m.container_path: m.host_path for m in spec.edits.mounts or []}
    assert by_container["/usr/share/glvnd/egl_vendor.d/10_nvidia.json"] == str(
        elsewhere / "glvnd/egl_vendor.d/10_nvidia.json"
    )
    # Only those dirs: the root's own /etc/vulkan ICD is no longer found.
    assert "/etc/vulkan/icd.d/nvidia_icd.json" not in by_container


# --------------------------------------------------------------------------- 3. csv options


def _tegra(tmp_path: Path, **overrides: object) -> Spec:
    root = fakeroot.build_tegra_root(tmp_path / "tegra")
    backend = overrides.pop("backend", None)
    options = root_options(root, mode="csv", **overrides)
    return generate(options, backend=backend).spec  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("patterns", "dropped"),
    [
        (("**/libcuda.so",), "libcuda.so::"),
        (("/usr/lib/aarch64-linux-gnu/libcuda.so",), "libcuda.so::"),
        (("/etc/vulkan/*/nvidia_icd.json",), "icd.d/nvidia_icd.json"),
        (("/etc/*/nvidia_icd.json",), None),  # Go's * does not cross /
        (("[",), None),  # malformed: matches nothing, as nvidia-ctk
    ],
)
def test_csv_ignore_pattern_drops_sym_entries(
    tmp_path: Path, patterns: tuple[str, ...], dropped: str | None
) -> None:
    baseline = json.dumps(_doc(_tegra(tmp_path / "a")))
    filtered = json.dumps(_doc(_tegra(tmp_path / "b", csv_ignore_patterns=patterns)))
    if dropped is None:
        assert filtered == baseline.replace(str(tmp_path / "a"), str(tmp_path / "b"))
    else:
        assert dropped in baseline and dropped not in filtered


@pytest.mark.parametrize(
    ("gpu_name", "root", "expected"),
    [
        ("Orin (nvgpu)", None, "--cuda-compat-container-root=/usr/local/cuda/compat_orin"),
        ("Orin (nvgpu)", "/opt/compat", "--cuda-compat-container-root=/opt/compat"),
        ("NVIDIA Thor", "/opt/compat", None),
    ],
)
def test_csv_compat_container_root_on_orin(
    tmp_path: Path, gpu_name: str, root: str | None, expected: str | None
) -> None:
    backend = FakeBackend(
        {"cuda_version": 12060, "gpus": [{"uuid": "GPU-0", "name": gpu_name, "pci_bus_id": ""}]}
    )
    spec = _tegra(tmp_path, backend=backend, csv_compat_container_root=root)
    compat = next(h for h in spec.edits.hooks or [] if "enable-cuda-compat" in (h.args or []))
    assert "--host-cuda-version=12.6" in (compat.args or [])
    extra = [a for a in compat.args or [] if a.startswith("--cuda-compat-container-root")]
    assert extra == ([expected] if expected else [])


_segment = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=6)


@given(st.lists(_segment, min_size=1, max_size=4), _segment)
def test_ignore_pattern_double_star_matches_the_file_name_anywhere(dirs: list[str], name: str) -> None:
    from cdikit.producers.nvidia._modes import _ignored

    path = "/" + "/".join([*dirs, name])
    assert _ignored(path, ["**/" + name])
    assert _ignored(path, [path])  # the full path matches itself
    assert not _ignored(path, ["*"])  # Go's * never crosses a /


def test_refresh_keeps_the_coherent_split_files_current(
    tmp_path: Path, options: OptionsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdikit.producers.nvidia.refresh import refresh_once

    nvml = fakeroot.write_nvml(tmp_path / "nvml.json", fakeroot.coherent_nvml())
    monkeypatch.setenv("CDIKIT_FAKE_NVML", str(nvml))
    out = tmp_path / "cdi" / "nvidia.yaml"
    opts = options(feature_flags=("enable-coherent-annotations",))
    assert refresh_once(opts, str(out)).written
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "nvidia.coherent.yaml",
        "nvidia.noncoherent.yaml",
        "nvidia.yaml",
    ]
    assert not refresh_once(opts, str(out)).written  # unchanged: nothing rewritten
    desc = fakeroot.coherent_nvml()
    desc["gpus"][0]["addressing_mode"] = "hmm"  # type: ignore[index]
    fakeroot.write_nvml(nvml, desc)
    assert refresh_once(opts, str(out)).written
    assert sorted(p.name for p in out.parent.iterdir()) == ["nvidia.noncoherent.yaml", "nvidia.yaml"]
    fakeroot.write_nvml(nvml, {"init_error": "Driver Not Loaded"})
    outcome = refresh_once(opts, str(out), remove_when_driver_gone=True)
    assert outcome.removed and list(out.parent.iterdir()) == []
