"""``cdi-hook``: argument parsing, the OCI state on stdin, and each subcommand on a real rootfs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdikit._rootfs import ContainerRoot
from cdikit.integrations.hooks import HookError, parse_hook_args
from cdikit.integrations.hooks._chmod import chmod_paths, parse_mode
from cdikit.integrations.hooks._cudacompat import compat_decision, enable_cuda_compat
from cdikit.integrations.hooks._state import container_root_from_state
from cdikit.integrations.hooks._symlinks import create_symlinks, parse_link_spec
from tests._elfcraft import elf_with_note, notes_of

HOOK = [sys.executable, "-c", "import sys; from cdikit.integrations.hooks import main; sys.exit(main())"]


def _hook(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOOK, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "command", "options", "debug", "quiet"),
    [
        (["create-symlinks", "--link", "a::b", "--link=c::d"], "create-symlinks", {"link": ["a::b", "c::d"]},
         False, False),
        (["--debug", "chmod", "--mode", "755", "--path", "/x", "-path", "/y"], "chmod",
         {"mode": ["755"], "path": ["/x", "/y"]}, True, False),
        (["--quiet", "update-ldcache", "--folder", "/a", "--ldconfig-path=/sbin/ldconfig"], "update-ldcache",
         {"folder": ["/a"], "ldconfig-path": ["/sbin/ldconfig"]}, False, True),
        (["hook", "enable-cuda-compat", "--host-driver-version=580.1", "--host-driver-version", "590.2"],
         "enable-cuda-compat", {"host-driver-version": ["590.2"]}, False, False),  # last one wins
        (["future-hook", "--anything", "x"], "future-hook", {}, False, False),
        ([], None, {}, False, False),
        (["chmod", "--debug", "--mode", "1"], "chmod", {"mode": ["1"]}, True, False),
    ],
)  # fmt: skip
def test_parse_hook_args(
    args: list[str], command: str | None, options: dict[str, list[str]], debug: bool, quiet: bool
) -> None:
    parsed = parse_hook_args(args)
    assert parsed.command == command
    assert parsed.options == options
    assert (parsed.debug, parsed.quiet) == (debug, quiet)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["chmod", "--bogus", "1"], "unknown flag --bogus"),
        (["chmod", "--mode"], "needs a value"),
        (["create-symlinks", "stray"], "unexpected argument"),
    ],
)
def test_parse_hook_args_errors(args: list[str], message: str) -> None:
    with pytest.raises(HookError, match=message):
        parse_hook_args(args)


@pytest.mark.parametrize(
    ("spec", "result"),
    [
        ("a::b", ("a", "b")),
        ("/lib/x.so.1::/usr/lib/x.so", ("/lib/x.so.1", "/usr/lib/x.so")),
        ("../a::b", ("../a", "b")),
    ],
)
def test_parse_link_spec(spec: str, result: tuple[str, str]) -> None:
    assert parse_link_spec(spec) == result


@pytest.mark.parametrize("spec", ["a", "a::", "::b", "a::b::c", ""])
def test_parse_link_spec_refuses(spec: str) -> None:
    with pytest.raises(HookError, match="invalid symlink specification"):
        parse_link_spec(spec)


@pytest.mark.parametrize(
    ("text", "mode"), [("755", 0o755), ("0644", 0o644), ("0o600", 0o600), ("4755", 0o4755)]
)
def test_parse_mode(text: str, mode: int) -> None:
    assert parse_mode(text) == mode


@pytest.mark.parametrize("text", ["9", "rwx", "", "77777"])
def test_parse_mode_refuses(text: str) -> None:
    with pytest.raises(HookError, match="invalid mode"):
        parse_mode(text)


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, Path, str]:
    """(bundle dir, rootfs, OCI state JSON for runc)."""
    bundle = tmp_path / "bundle"
    root = bundle / "rootfs"
    (root / "etc").mkdir(parents=True)
    (bundle / "config.json").write_text(json.dumps({"root": {"path": "rootfs"}}), encoding="utf-8")
    state = json.dumps(
        {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 1, "bundle": str(bundle)}
    )
    return bundle, root, state


def test_state_root_forms(bundle: tuple[Path, Path, str], tmp_path: Path) -> None:
    bdir, root, state = bundle
    assert container_root_from_state(state.encode()) == str(root)
    assert (
        container_root_from_state(json.dumps({"bundle": str(bdir), "root": "/crun/root"}).encode())
        == "/crun/root"
    )
    (bdir / "config.json").write_text(json.dumps({"root": {"path": "/abs/rootfs"}}), encoding="utf-8")
    assert container_root_from_state(state.encode()) == "/abs/rootfs"
    for bad, message in [(b"{", "not valid JSON"), (b"[]", "not a JSON object"), (b"{}", "no bundle")]:
        with pytest.raises(HookError, match=message):
            container_root_from_state(bad)


def test_create_symlinks_cli(bundle: tuple[Path, Path, str]) -> None:
    _, root, state = bundle
    os.symlink("/", root / "up")
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/libold.so").write_text("", encoding="utf-8")  # a file: replaced by the link
    os.symlink("keep", root / "same")
    before = os.lstat(root / "same").st_ino
    done = _hook(["create-symlinks", "--link", "libfoo.so.1::/usr/lib/libfoo.so", "--link",
                  "libnew.so::/usr/lib/libold.so", "--link", "x::/up/up/new/dir/link", "--link", "keep::/same"],
                 state)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert os.readlink(root / "usr/lib/libfoo.so") == "libfoo.so.1"
    assert os.readlink(root / "usr/lib/libold.so") == "libnew.so"
    assert os.readlink(root / "new/dir/link") == "x"
    assert oct((root / "new").stat().st_mode & 0o777) == oct(0o755)
    assert os.lstat(root / "same").st_ino == before  # already right: left alone
    assert not [p for p in os.listdir(root / "usr/lib") if ".cdi-hook-" in p]  # no temp links left


def test_create_symlinks_cannot_replace_a_directory(bundle: tuple[Path, Path, str]) -> None:
    _, root, state = bundle
    (root / "dir").mkdir()
    (root / "dir" / "f").write_text("", encoding="utf-8")
    done = _hook(["create-symlinks", "--link", "x::/dir"], state)
    assert done.returncode == 1
    assert "cannot create symlink /dir -> x" in done.stderr
    assert (root / "dir" / "f").exists()


def test_chmod_cli_and_hostile_links(bundle: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, root, state = bundle
    host_file = tmp_path / "host-file"
    host_file.write_text("", encoding="utf-8")
    host_file.chmod(0o644)
    (root / "dev").mkdir()
    (root / "dev" / "thing").write_text("", encoding="utf-8")
    (root / "dev" / "thing").chmod(0o600)
    os.symlink(str(host_file), root / "dev" / "host-link")  # would chmod the host file if followed naively
    os.symlink("../../../../../../.." + str(host_file), root / "dev" / "dots-link")
    done = _hook(["chmod", "--mode", "0666", "--path", "/dev/thing", "--path", "/dev/host-link",
                  "--path", "/dev/dots-link", "--path", "/missing"], state)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (root / "dev" / "thing").stat().st_mode & 0o777 == 0o666
    assert host_file.stat().st_mode & 0o777 == 0o644


def test_chmod_requires_mode_and_path(bundle: tuple[Path, Path, str]) -> None:
    _, _, state = bundle
    assert "--mode is required" in _hook(["chmod", "--path", "/x"], state).stderr
    assert "--path is required" in _hook(["chmod", "--mode", "644"], state).stderr


def test_chmod_reports_changes(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("", encoding="utf-8")
    (tmp_path / "a").chmod(0o600)
    (tmp_path / "b").write_text("", encoding="utf-8")
    (tmp_path / "b").chmod(0o644)
    with ContainerRoot(str(tmp_path)) as root:
        assert chmod_paths(root, 0o644, ["/a", "/b", "/a"]) == ["/a"]


def test_unknown_hook_warns_and_succeeds() -> None:
    done = _hook(["some-new-hook", "--x", "1"])
    assert done.returncode == 0
    assert "unsupported hook 'some-new-hook'" in done.stderr
    quiet = _hook(["--quiet", "some-new-hook"])
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_bad_state_fails(bundle: tuple[Path, Path, str]) -> None:
    done = _hook(["create-symlinks", "--link", "a::/b"], "not json")
    assert done.returncode == 1
    assert "OCI state on stdin is not valid JSON" in done.stderr


def test_container_spec_flag(bundle: tuple[Path, Path, str]) -> None:
    bdir, root, _ = bundle
    done = _hook(["create-symlinks", "--container-spec", str(bdir / "config.json"), "--link", "t::/l"])
    assert done.returncode == 0, done.stderr
    assert os.readlink(root / "l") == "t"


def test_update_ldcache_refuses_host_root() -> None:
    from cdikit.integrations.hooks._ldcache import update_ldcache

    with ContainerRoot("/") as root, pytest.raises(HookError, match="host root"):
        update_ldcache(root, ["/usr/lib"])


def test_read_elf_notes() -> None:
    data = elf_with_note(b'{"driver": [535, 550, 590]}')
    assert notes_of(data) == [("NVIDIA", 1, b'{"driver": [535, 550, 590]}')]
    assert notes_of(b"not an elf") == []
    assert notes_of(data[:80]) == []  # truncated: no crash


@pytest.mark.parametrize(
    ("compat", "note", "driver", "cuda", "use"),
    [
        ("590.44.01", None, "580.65.06", None, True),  # older host major
        ("590.44.01", None, "590.10.01", None, False),  # same major
        ("590.44.01", None, "595.1", None, False),
        ("590.44.01", None, "580.65.06", "12.8", False),  # no note + host CUDA given: don't
        ("590.44.01", {"driver": [535, 550, 580, 590]}, "580.65.06", None, True),
        ("590.44.01", {"driver": [535, 550, 590]}, "580.65.06", None, False),  # host branch not listed
        ("590.44.01", {"driver": [535, 550, 590]}, "590.44.01", None, False),  # not newer
        ("590.44.01", {"cuda": "13.1"}, None, "12.8", True),
        ("590.44.01", {"cuda": "13.1"}, None, "13.1", False),
        ("garbage", None, "580", None, False),
    ],
)
def test_compat_decision(compat: str, note: dict[str, object] | None, driver: str | None, cuda: str | None,
                         use: bool) -> None:  # fmt: skip
    assert compat_decision(compat, note, driver, cuda) is use


def test_enable_cuda_compat_reads_the_note_without_running_anything(tmp_path: Path) -> None:
    compat = tmp_path / "usr/local/cuda/compat"
    compat.mkdir(parents=True)
    lib = compat / "libcuda.so.590.44.01"
    lib.write_bytes(elf_with_note(b'{"driver": [535, 550, 590]}'))
    lib.chmod(0o644)  # not even executable: it is only read
    drop_in = tmp_path / "etc/ld.so.conf.d/00-cdikit-compat.conf"
    with ContainerRoot(str(tmp_path)) as root:
        assert enable_cuda_compat(root, host_driver_version="580.65.06") is False  # 580 not in the note
        assert not drop_in.exists()
        lib.write_bytes(elf_with_note(b'{"driver": [535, 550, 580, 590]}'))
        assert enable_cuda_compat(root, host_driver_version="580.65.06") is True
    assert drop_in.read_text(encoding="utf-8") == "/usr/local/cuda/compat\n"


def test_enable_cuda_compat_ambiguous_or_absent(tmp_path: Path) -> None:
    with ContainerRoot(str(tmp_path)) as root:
        assert enable_cuda_compat(root, host_driver_version="580.1") is False  # no compat dir
        compat = tmp_path / "usr/local/cuda/compat"
        compat.mkdir(parents=True)
        (compat / "libcuda.so.590.1").write_bytes(b"")
        (compat / "libcuda.so.591.1").write_bytes(b"")
        assert enable_cuda_compat(root, host_driver_version="580.1") is False  # two candidates
        (compat / "libcuda.so.591.1").unlink()
        os.symlink("/etc/passwd", compat / "libcuda.so.599.1")  # a link is not a candidate
        assert enable_cuda_compat(root, host_driver_version="580.1") is True


def test_enable_cuda_compat_flooded_directory_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdikit.integrations.hooks import _cudacompat

    monkeypatch.setattr(_cudacompat, "_MAX_ENTRIES", 50)
    compat = tmp_path / "usr/local/cuda/compat"
    compat.mkdir(parents=True)
    (compat / "libcuda.so.590.1").write_bytes(b"")
    for i in range(60):  # the image fills the directory: nothing is decided from it
        (compat / f"junk{i}").write_bytes(b"")
    with ContainerRoot(str(tmp_path)) as root:
        assert enable_cuda_compat(root, host_driver_version="580.1") is False


def test_create_symlinks_library_dedupes(tmp_path: Path) -> None:
    with ContainerRoot(str(tmp_path)) as root:
        create_symlinks(root, ["a::/x", "a::/x"])
    assert os.readlink(tmp_path / "x") == "a"
