"""Producer writes through the registry: target, name rule, versions, validation, mode, removal."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cdikit.errors import CDIError, VersionError, WriteError
from cdikit.registry import Registry
from cdikit.spec import ContainerEdits, Device, Spec, parse_spec


def _spec(version: str = "1.1.0", *, gids: bool = False) -> Spec:
    edits = ContainerEdits(env=["A=1"], additional_gids=[5] if gids else None)
    return Spec(
        cdi_version=version, kind="vendor.com/device", devices=[Device(name="dev0", container_edits=edits)]
    )


def _read_version(path: str) -> str:
    with open(path, "rb") as fh:
        spec = parse_spec(fh.read(), path=path)
    assert spec is not None
    return spec.cdi_version


@pytest.mark.parametrize(
    ("declared", "gids", "version", "written"),
    [
        ("1.1.0", False, "minimum", "0.3.0"),
        ("1.1.0", True, "minimum", "0.7.0"),
        ("0.3.0", True, "minimum", "0.7.0"),
        ("1.1.0", False, "keep", "1.1.0"),
        ("0.5.0", False, "0.8.0", "0.8.0"),
    ],
)
def test_versions(tmp_path: Path, declared: str, gids: bool, version: str, written: str) -> None:
    reg = Registry([str(tmp_path / "lo"), str(tmp_path / "hi")], auto_refresh=False)
    path = reg.write_spec(_spec(declared, gids=gids), "x.yaml", version=version)
    assert path == f"{tmp_path}/hi/x.yaml"
    assert _read_version(path) == written


@pytest.mark.parametrize(
    ("declared", "version", "message"),
    [
        ("0.3.0", "keep", "invalid CDI Spec: the spec version must be at least v0.7.0"),
        ("1.1.0", "0.3.0", "invalid CDI Spec: the spec version must be at least v0.7.0"),
        ("1.1.0", "9.9.9", "invalid CDI Spec: "),
    ],
)
def test_invalid_writes_touch_nothing(tmp_path: Path, declared: str, version: str, message: str) -> None:
    reg = Registry([str(tmp_path / "d")], auto_refresh=False)
    with pytest.raises(VersionError) as info:
        reg.write_spec(_spec(declared, gids=True), "x.json", version=version)
    assert str(info.value).startswith(message)
    assert not (tmp_path / "d").exists()


def test_mode_encoding_and_overwrite(tmp_path: Path) -> None:
    reg = Registry([str(tmp_path)], auto_refresh=False)
    path = reg.write_spec(_spec(), "x.json", version="keep", mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # the reference's mode, on request
    assert Path(path).read_text().startswith('{"cdiVersion":"1.1.0"')
    yaml_path = reg.write_spec(_spec(), "y.yml")
    assert yaml_path.endswith("y.yml.yaml")
    assert Path(yaml_path).read_text().startswith("---\ncdiVersion: 0.3.0\n")
    reg.write_spec(_spec(gids=True), "x.json")
    assert _read_version(path) == "0.7.0"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644  # default: world-readable, whatever the umask
    assert sorted(os.listdir(tmp_path)) == ["x.json", "y.yml.yaml"]  # no temp files left
    reg.remove_spec("y.yml")
    reg.refresh()
    assert reg.list_devices() == ["vendor.com/device=dev0"]


def test_remove(tmp_path: Path) -> None:
    reg = Registry([str(tmp_path)], auto_refresh=False)
    reg.remove_spec("never-written")  # a missing file is fine
    reg.write_spec(_spec(), "gpu")
    assert os.listdir(tmp_path) == ["gpu.yaml"]
    reg.remove_spec("gpu")
    assert os.listdir(tmp_path) == []


def test_no_dirs() -> None:
    reg = Registry([], auto_refresh=False)
    with pytest.raises(WriteError, match=r"^no Spec directories to write to$"):
        reg.write_spec(_spec(), "x")
    with pytest.raises(WriteError, match=r"^no Spec directories to remove from$"):
        reg.remove_spec("x")


def test_remove_failure_is_reported(tmp_path: Path) -> None:
    (tmp_path / "full.json").mkdir()
    (tmp_path / "full.json" / "keep").write_text("")
    reg = Registry([str(tmp_path)], auto_refresh=False)
    with pytest.raises(CDIError, match=r"^remove .*full\.json: directory not empty$"):
        reg.remove_spec("full.json")
