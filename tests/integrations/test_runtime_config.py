"""The shim's TOML configuration and runtime lookup."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit.integrations.runtime import _config
from cdikit.integrations.runtime._config import (
    CONFIG_ENV,
    _parse_simple,
    _parse_simple_runtime,
    find_runtime,
    load_config,
    read_runtime_setting,
)
from cdikit.integrations.runtime._errors import ConfigError, ShimError


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setattr(_config, "DEFAULT_CONFIG_PATH", str(tmp_path / "absent.toml"))
    cfg = load_config()
    assert cfg.runtimes == ["runc", "crun"]
    assert cfg.spec_dirs == ["/etc/cdi", "/var/run/cdi"]
    assert cfg.default_kind == "nvidia.com/gpu"
    assert cfg.annotation_prefixes == ["cdi.k8s.io/"]
    assert (cfg.env_var, cfg.nvidia_env_var, cfg.log_file) == ("CDI_DEVICES", "NVIDIA_VISIBLE_DEVICES", "")
    assert cfg.source is None
    # The request policy is secure by default: env requests only from privileged containers.
    assert (cfg.accept_env_unprivileged, cfg.accept_volume_mounts, cfg.allowed_kinds) == (False, False, [])
    assert read_runtime_setting() == ["runc", "crun"]


def test_full_config(tmp_path: Path) -> None:
    path = tmp_path / "rt.toml"
    path.write_text(
        'runtime = "/usr/bin/crun"\nspec-dirs = ["/a", "/b"]\ndefault-kind = "amd.com/gpu"\n'
        'annotation-prefixes = ["x/", "y/"]\nenv-var = "DEVS"\nnvidia-env-var = ""\n'
        'log-file = "/var/log/x.log"\nlog-level = "DEBUG"\n',
        encoding="utf-8",
    )
    cfg = load_config(str(path))
    assert cfg.runtimes == ["/usr/bin/crun"]
    assert cfg.spec_dirs == ["/a", "/b"]
    assert cfg.default_kind == "amd.com/gpu"
    assert cfg.annotation_prefixes == ["x/", "y/"]
    assert cfg.env_var == "DEVS"
    assert cfg.nvidia_env_var == ""
    assert cfg.log_file == "/var/log/x.log"
    assert cfg.log_level == "debug"
    assert cfg.source == str(path)


def test_request_policy_keys(tmp_path: Path) -> None:
    path = tmp_path / "rt.toml"
    path.write_text(
        "accept-env-requests-when-unprivileged = true\naccept-volume-mount-requests = true\n"
        'allowed-kinds = ["nvidia.com/gpu", "example.com/*"]\n',
        encoding="utf-8",
    )
    assert _parse_simple(path.read_text(encoding="utf-8")) is not None  # booleans need no tomllib
    cfg = load_config(str(path))
    assert (cfg.accept_env_unprivileged, cfg.accept_volume_mounts) == (True, True)
    assert cfg.allowed_kinds == ["nvidia.com/gpu", "example.com/*"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("runtime = 3\n", "'runtime' must be a string or a list of strings"),
        ("runtime = []\n", "must name at least one runtime"),
        ('spec-dirs = "/etc/cdi"\n', "'spec-dirs' must be a list of strings"),
        ("log-level = 'loud'\n", "'log-level' must be one of"),
        ("spec_dirs = []\n", "unknown key 'spec_dirs'"),
        ("runtime = \n", "is not valid TOML"),
        ("default-kind = 1\n", "'default-kind' must be a string"),
        ('accept-env-requests-when-unprivileged = "yes"\n', "must be true or false"),
        ("accept-volume-mount-requests = 1\n", "must be true or false"),
        ('allowed-kinds = "nvidia.com/gpu"\n', "'allowed-kinds' must be a list of strings"),
        ('allowed-kinds = ["nvidia.com"]\n', "'allowed-kinds' entry 'nvidia.com' is not a kind"),
        ('allowed-kinds = ["nvidia.com/gpu=0"]\n', "is not a kind"),
        ('allowed-kinds = ["*/gpu"]\n', "is not a kind"),
        ('allowed-kinds = ["nvidia.com/*x"]\n', "is not a kind"),
    ],
)
def test_bad_config(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rt.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(str(path))
    assert info.value.path == str(path)


def test_explicit_missing_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config()
    with pytest.raises(ConfigError, match="does not exist"):
        read_runtime_setting()


@pytest.mark.parametrize(
    ("text", "runtimes"),
    [
        ("", []),
        ('runtime = "/usr/bin/crun"\n', ["/usr/bin/crun"]),
        ("runtime = '/usr/bin/crun'  # comment\n", ["/usr/bin/crun"]),
        ('runtime = ["crun", "runc"]\n', ["crun", "runc"]),
        ('# runtime = "x"\nspec-dirs = ["/a"]\n', []),
        ('spec-dirs = ["/a"]\n[table]\nruntime = "x"\n', None),  # tables: tomllib
        ('"runtime" = "q"\n', None),  # quoted keys: tomllib
        ('runtime = "a#b"\n', None),  # '#' inside the string: leave it to tomllib
        ('runtime = """x"""\n', None),
        ('runtime = "a\\tb"\n', None),
        ("runtime = [\n 'a'\n]\n", None),
    ],
)
def test_simple_reader(text: str, runtimes: list[str] | None) -> None:
    assert _parse_simple_runtime(text) == runtimes


_NAMES = st.text(alphabet="abc/-_.#", min_size=1, max_size=6)


@given(
    st.one_of(_NAMES.map(lambda n: [n]), st.lists(_NAMES, min_size=1, max_size=3)),
    st.booleans(),
    st.sampled_from(["", "  # trailing", "\t"]),
)
def test_simple_reader_agrees_with_tomllib(names: list[str], as_list: bool, trailer: str) -> None:
    quoted = [f'"{n}"' for n in names]
    value = "[" + ", ".join(quoted) + "]" if as_list or len(names) > 1 else quoted[0]
    text = f"# config\nspec-dirs = ['/x']\nruntime = {value}{trailer}\nlog-level = 'info'\n"
    simple = _parse_simple_runtime(text)
    expected = tomllib.loads(text)["runtime"]
    expected = expected if isinstance(expected, list) else [expected]
    if not any("#" in n for n in names):
        assert simple is not None  # plain strings: the fast reader handles them itself
    assert simple is None or simple == expected
    full = _parse_simple(text)
    assert full is None or full == {**tomllib.loads(text), "runtime": full["runtime"]}


def test_find_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    crun = bin_dir / "crun"
    crun.write_text("#!/bin/sh\n", encoding="utf-8")
    crun.chmod(0o755)
    (bin_dir / "runc").write_text("not executable", encoding="utf-8")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_runtime(["runc", "crun"]) == str(crun)
    assert find_runtime([str(crun)]) == str(crun)
    with pytest.raises(ShimError, match="no OCI runtime found: tried runc, crun"):
        find_runtime(["runc", "crun"], self_path=str(crun))  # never itself


def test_read_runtime_setting_uses_tomllib_for_complex_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rt.toml"
    path.write_text('runtime = [\n  "/opt/crun",\n]\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert read_runtime_setting() == ["/opt/crun"]
