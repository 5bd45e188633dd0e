"""Producer writes through the registry: target, name rule, versions, validation, mode, removal."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdikit import _atomic
from cdikit.errors import CDIError, InvalidSpecNameError, VersionError, WriteError
from cdikit.registry import Registry
from cdikit.spec import ContainerEdits, Device, Spec, parse_spec, write_spec_file


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


# -- spec names and temporary files (issue 11) ----------------------------------------------------


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x", "../x.json", "sub/x.json", "a/../b", "x\0y", "/etc/x"]
)
def test_names_outside_the_spec_dir_are_refused(tmp_path: Path, name: str) -> None:
    spec_dir = tmp_path / "cdi" / "hi"
    spec_dir.mkdir(parents=True)
    reg = Registry([str(tmp_path / "cdi" / "lo"), str(spec_dir)], auto_refresh=False)
    before = _tree(tmp_path)
    with pytest.raises(InvalidSpecNameError, match="invalid Spec file name"):
        reg.write_spec(_spec(), name)
    with pytest.raises(InvalidSpecNameError, match="invalid Spec file name"):
        reg.remove_spec(name)
    assert _tree(tmp_path) == before  # nothing written, nothing removed


def test_write_spec_file_refuses_a_nul_path_with_a_cdikit_error(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="NUL"):
        write_spec_file(_spec(), f"{tmp_path}/x\0.yaml")


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_writes_leave_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmpfile: bool) -> None:
    monkeypatch.setattr(_atomic, "_USE_O_TMPFILE", tmpfile)
    reg = Registry([str(tmp_path)], auto_refresh=False)
    for i in range(5):
        reg.write_spec(_spec(), f"x{i}.json")
    assert sorted(os.listdir(tmp_path)) == [f"x{i}.json" for i in range(5)]


def test_stale_temp_files_are_removed_live_ones_kept(tmp_path: Path) -> None:
    stale = tmp_path / f"{_atomic.TEMP_PREFIX}x.json.0123456789ab{_atomic.TEMP_SUFFIX}"
    stale.write_text("half a spec")
    live = tmp_path / f"{_atomic.TEMP_PREFIX}y.json.0123456789ab{_atomic.TEMP_SUFFIX}"
    live.write_text("being written")
    foreign = tmp_path / ".x.json.0123456789ab.tmp"  # not ours: never touched
    foreign.write_text("")
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # a live writer holds its lock
        Registry([str(tmp_path)], auto_refresh=False).write_spec(_spec(), "z.json")
        assert sorted(os.listdir(tmp_path)) == sorted([live.name, foreign.name, "z.json"])
    assert _atomic.remove_stale_temp_files(str(tmp_path)) == 1
    assert sorted(os.listdir(tmp_path)) == sorted([foreign.name, "z.json"])


_WRITER = r"""
import sys
from cdikit import _atomic
_atomic._USE_O_TMPFILE = sys.argv[2] == "1"
from cdikit.registry import Registry
from cdikit.spec import ContainerEdits, Device, Spec
devices = [Device(name=f"d{i}", container_edits=ContainerEdits(env=[f"A{i}=" + "x" * 4000])) for i in range(64)]
spec = Spec(cdi_version="0.3.0", kind="vendor.com/device", devices=devices)
reg = Registry([sys.argv[1]], auto_refresh=False)
print("ready", flush=True)
i = 0
while True:
    reg.write_spec(spec, "s.json")
    i += 1
"""


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_sigkill_during_writes_leaves_no_temp_file_after_the_next_write(
    tmp_path: Path, tmpfile: bool
) -> None:
    """A real writer process killed with SIGKILL over and over, at random points of its writes."""
    spec_dir = tmp_path / "cdi"
    spec_dir.mkdir()
    rng = random.Random(11)
    leftovers = 0
    rounds = 0
    # At least 25 kills; for the named temp files, on until one hit a write in progress (a
    # quiet machine writes fast, so a few rounds may all land between writes), at most 300.
    while rounds < 25 or (not tmpfile and leftovers == 0 and rounds < 300):
        rounds += 1
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(spec_dir), "1" if tmpfile else "0"],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        names = os.listdir(spec_dir)
        leftovers += sum(_atomic.is_temp_name(n) for n in names)
        assert all(n.endswith(".json") or _atomic.is_temp_name(n) for n in names), names
        # The scanner never loads a temp file: every loaded spec is complete.
        reg = Registry([str(spec_dir)], auto_refresh=False)
        reg.refresh()
        assert reg.get_errors() == {}
        assert len(reg.list_devices()) in (0, 64)
        reg.close()
    if not tmpfile:
        assert leftovers > 0  # the kills did hit writes in progress: the test can fail
    Registry([str(spec_dir)], auto_refresh=False).write_spec(_spec(), "after.json")
    assert [n for n in os.listdir(spec_dir) if not n.endswith(".json")] == []


def test_nvidia_writer_refuses_a_nul_path_with_a_cdikit_error(tmp_path: Path) -> None:
    from cdikit.producers.output import write_if_changed

    with pytest.raises(WriteError, match="NUL"):
        write_if_changed(f"{tmp_path}/nvidia\0.yaml", b"x")
    assert os.listdir(tmp_path) == []
