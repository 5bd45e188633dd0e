"""``cdi-hook``: argument parsing, the OCI state on stdin, and each subcommand on a real rootfs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdikit._rootfs import ContainerRoot
from cdikit.integrations.hooks import HookError, parse_hook_args
from cdikit.integrations.hooks._chmod import chmod_paths, parse_mode
from cdikit.integrations.hooks._cudacompat import compat_decision, decode_compat_note, enable_cuda_compat
from cdikit.integrations.hooks._state import container_root_from_state
from cdikit.integrations.hooks._symlinks import create_symlinks, parse_link_spec
from tests._elfcraft import elf_with_note, in_memfd, notes_of

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
        (["create-symlinks", "--if-target-exists", "--link", "a::b"], "create-symlinks",
         {"if-target-exists": ["true"], "link": ["a::b"]}, False, False),  # a switch takes no value
        (["create-symlinks", "--if-target-exists=F", "--link", "a::b", "-if-target-exists=1"], "create-symlinks",
         {"if-target-exists": ["true"], "link": ["a::b"]}, False, False),  # Go's bools, last one wins
        (["create-symlinks", "--if-target-exists=false"], "create-symlinks", {"if-target-exists": ["false"]},
         False, False),
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
        (["create-symlinks", "--if-target-exists", "a::b"], "unexpected argument 'a::b'"),
        (["create-symlinks", "--if-target-exists=yes"], "takes true or false"),
        (["chmod", "--if-target-exists"], "unknown flag --if-target-exists"),
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
    os.symlink("stale", root / "other")  # another target: replaced
    before = os.lstat(root / "same").st_ino
    done = _hook(["create-symlinks", "--link", "libfoo.so.1::/usr/lib/libfoo.so", "--link",
                  "libnew.so::/usr/lib/libold.so", "--link", "x::/up/up/new/dir/link", "--link", "keep::/same",
                  "--link", "fresh::/other"], state)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert os.readlink(root / "usr/lib/libfoo.so") == "libfoo.so.1"
    assert os.readlink(root / "usr/lib/libold.so") == "libnew.so"
    assert os.readlink(root / "new/dir/link") == "x"
    assert oct((root / "new").stat().st_mode & 0o777) == oct(0o755)
    assert os.lstat(root / "same").st_ino == before  # already right: left alone
    assert os.readlink(root / "other") == "fresh"
    assert not [p for p in os.listdir(root / "usr/lib") if ".cdi-hook-" in p]  # no temp links left


@pytest.mark.parametrize(
    ("entries", "link", "made"),
    [
        ({"dev/dri/card1": ""}, "../card1::/dev/dri/by-path/pci-card", True),  # by-path made on the way
        ({"dev/dri/card2": ""}, "../card1::/dev/dri/by-path/pci-card", False),
        ({}, "../card1::/dev/dri/by-path/pci-card", False),
        ({"dev/dri/card1": ""}, "/dev/dri/card1::/dev/by-abs", True),
        ({"dev/dri/card1": ""}, "card1::/dev/dri/same-dir", True),
        ({"dev/dri/card1": ""}, "../../../../../dev/dri/card1::/dev/dri/x/up", True),  # .. stops at the root
        ({"dev/dri/card1": ""}, "../card1::/dev/dri/new/../by-path/l", True),  # as open_parent makes it
        ({"dev/dri/card1": "", "dev/alias": "->dri"}, "card1::/dev/alias/l", True),  # the link's dir resolved
        ({"dev/dri/card1": "", "dev/alias": "->dri"}, "../card1::/dev/alias/sub/l", True),
        # .. from the link's directory as the kernel takes it, not lexically (/dev/alias/.. is /dev/dri)
        ({"dev/dri/card1": "", "dev/dri/sub/f": "", "dev/alias": "->dri/sub"}, "../card1::/dev/alias/l", True),
        ({"dev/card1": "", "dev/dri/sub/f": "", "dev/alias": "->dri/sub"}, "../card1::/dev/alias/l", False),
        ({"dev/dri/card1": "", "dev/dri/l1": "->card1"}, "l1::/dev/dri/l2", True),  # followed, as test -e
        ({"dev/dri/dangling": "->nothing"}, "dangling::/dev/dri/l2", False),
        ({"dev/dri/loop": "->loop"}, "loop::/dev/dri/l2", False),
        ({"dev/dri": "->/etc"}, "../dri/passwd::/dev/l", False),  # the host's /etc/passwd is not the root's
        ({"dev/dri/card1": ""}, "card1/x::/dev/dri/l", False),  # not a directory
    ],
)  # fmt: skip
def test_create_symlinks_if_target_exists(
    tmp_path: Path, entries: dict[str, str], link: str, made: bool
) -> None:
    """Only links whose target exists in the container, as ``test -e`` would see it from the link."""
    root = tmp_path / "rootfs"
    root.mkdir()
    for name, value in entries.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if value.startswith("->"):
            path.symlink_to(value[2:])
        else:
            path.write_text(value, encoding="utf-8")
    target, where = parse_link_spec(link)
    for resolver in ("openat2", "walk"):
        with ContainerRoot(str(root), resolver=resolver) as croot:
            create_symlinks(croot, [link], if_target_exists=True)
        placed = root / where.lstrip("/")
        assert os.path.islink(placed) == made, resolver
        if made:
            assert os.readlink(placed) == target
            placed.unlink()
        with ContainerRoot(str(root), resolver=resolver) as croot:
            create_symlinks(croot, [link])
        assert os.readlink(placed) == target  # without the switch, always made
        placed.unlink()


def test_create_symlinks_if_target_exists_cli(bundle: tuple[Path, Path, str]) -> None:
    _, root, state = bundle
    (root / "dev").mkdir()
    (root / "dev" / "card1").touch()
    done = _hook(["chain", "create-symlinks", "--if-target-exists", "--link", "../card1::/dev/p/a",
                  "--link", "../card2::/dev/p/b", "--", "create-symlinks", "--link", "../card3::/dev/p/c"],
                 state)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(root / "dev" / "p")) == ["a", "c"]


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


def _elf_with_note(desc: bytes, name: bytes = b"NVIDIA Corporation\0") -> bytes:
    """A compat-library-like ELF: one note of NVIDIA's owner name (tests._elfcraft's writer)."""
    return elf_with_note(desc, name)


def _compat_note_of(data: bytes) -> dict[str, object] | None:
    """The hook's ``_compat_note`` of a library holding ``data`` (an anonymous memory file)."""
    from cdikit.integrations.hooks._cudacompat import _compat_note

    return in_memfd(data, _compat_note)


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
        ("590.44.01", {"cuda version": "13.1"}, None, "12.8", True),
        ("590.44.01", {"cuda version": "13.1"}, None, "13.1", False),
        ("garbage", None, "580", None, False),
        # nvidia-cdi-hook's TestUseCompat table (cuda-elf-header_test.go, v1.20.0)
        ("", {"cuda version": "12.9", "driver": [535, 575]}, None, "12.8", True),
        ("", {"cuda version": "12.9", "driver": [535, 575]}, None, "12.9", False),
        ("", {"cuda version": "12.9", "driver": [535, 575]}, None, "12.10", False),  # semver, not decimals
        ("575.57.08", {"cuda version": "12.9", "driver": [535, 575]}, "575.57.07", None, True),
        ("575.57.08", {"cuda version": "12.9", "driver": [535, 575]}, "575.57.08", None, False),
        ("575.57.08", {"cuda version": "12.9", "driver": [535, 575]}, "570.1.1", None, False),
        ("575.57.08", {"cuda version": "12.9"}, "575.57.07", "12.8", False),  # versions known: drivers decide
        ("575.57.08", {"cuda version": "12.9"}, "bad", "12.8", True),  # host driver unknown: CUDA decides
        ("1.1", {"format": 1, "cuda version": "13.2"}, None, "13.0", True),  # Orin compat library
    ],
)
def test_compat_decision(compat: str, note: dict[str, object] | None, driver: str | None, cuda: str | None,
                         use: bool) -> None:  # fmt: skip
    assert compat_decision(compat, note, driver, cuda) is use


@pytest.mark.parametrize(
    ("desc", "note"),
    [
        (b'{"format":1,"CUDA version":"12.9","driver":[535,575],"device":[1,2]}',
         {"format": 1, "cuda version": "12.9", "driver": [535, 575], "device": [1, 2]}),
        (b'{"format":1,"CUDA Version":"13.2"}\0\0', {"format": 1, "cuda version": "13.2"}),  # any key case
        (b'{"Driver":[580],"extra":true}', {"driver": [580]}),  # unknown keys ignored
        (b'{"driver":["580"]}', None),  # wrongly typed: as Go's json.Unmarshal error
        (b'{"format":"1"}', None),
        (b'{"format":1,', None),  # the toolkit's libcuda.invalid.json fixture: invalid JSON
        (b"[1, 2]", None),
    ],
)  # fmt: skip
def test_decode_compat_note(desc: bytes, note: dict[str, object] | None) -> None:
    assert decode_compat_note(desc) == note


def test_compat_note_needs_the_nvidia_owner() -> None:
    desc = b'{"format":1,"CUDA version":"13.1","driver":[580]}'
    assert _compat_note_of(_elf_with_note(desc)) == {"format": 1, "cuda version": "13.1", "driver": [580]}
    assert _compat_note_of(_elf_with_note(desc, b"GNU\0")) is None


_TOOLKIT = Path("/work/.mirror/NVIDIA+nvidia-container-toolkit/repo")
_FIXTURES = {  # nvidia-container-toolkit v1.20.0 testdata/compat and what its tests expect
    "575.57.08/libcuda.so.575.57.08": {"format": 1, "cuda version": "12.9",
        "driver": [535, 550, 560, 565, 570, 575], "device": [1, 2, 7, 8, 9, 10, 11, 12, 13, 14]},
    "590.44.01/libcuda.so.590.44.01": {"format": 1, "cuda version": "13.1",
        "driver": [535, 550, 570, 575, 580, 590], "device": [1, 2, 7, 8, 9, 10, 11, 12, 13, 14]},
    "libcuda.orin.13.2.1.so.1.1": {"format": 1, "cuda version": "13.2"},
    "libcuda.invalid.json.so.99.88": None,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_FIXTURES))
def test_compat_note_of_the_toolkits_own_fixtures(name: str) -> None:
    """The real note layout: the toolkit's test libraries, read from a local checkout when present.

    They are third-party files and stay out of this repository; set
    ``CDIKIT_NVIDIA_TOOLKIT_GIT`` to a (bare) clone of NVIDIA/nvidia-container-toolkit.
    """
    import subprocess

    git_dir = Path(os.environ.get("CDIKIT_NVIDIA_TOOLKIT_GIT", str(_TOOLKIT)))
    if not git_dir.is_dir():
        pytest.skip("no nvidia-container-toolkit clone (set CDIKIT_NVIDIA_TOOLKIT_GIT)")
    done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"v1.20.0:testdata/compat/{name}"],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"v1.20.0:testdata/compat/{name} not in {git_dir}")
    assert _compat_note_of(done.stdout) == _FIXTURES[name]


def test_enable_cuda_compat_reads_the_note_without_running_anything(tmp_path: Path) -> None:
    compat = tmp_path / "usr/local/cuda/compat"
    compat.mkdir(parents=True)
    lib = compat / "libcuda.so.590.44.01"
    lib.write_bytes(_elf_with_note(b'{"driver": [535, 550, 590]}'))
    lib.chmod(0o644)  # not even executable: it is only read
    drop_in = tmp_path / "etc/ld.so.conf.d/00-cdikit-compat.conf"
    with ContainerRoot(str(tmp_path)) as root:
        assert enable_cuda_compat(root, host_driver_version="580.65.06") is False  # 580 not in the note
        assert not drop_in.exists()
        lib.write_bytes(_elf_with_note(b'{"driver": [535, 550, 580, 590]}'))
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


@given(st.binary(max_size=300))
def test_decode_compat_note_never_raises(desc: bytes) -> None:
    note = decode_compat_note(desc)
    assert note is None or set(note) <= {"format", "cuda version", "driver", "device"}


@given(st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999)),
       st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999)))  # fmt: skip
def test_compat_versions_order_as_numbers(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    from cdikit.integrations.hooks._cudacompat import _version

    va, vb = (_version(f"{x}.{y}.{z:02d}") for x, y, z in (a, b))
    assert va is not None and vb is not None
    assert (va < vb) == (a < b) and (va == vb) == (a == b)
