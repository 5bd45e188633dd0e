"""SONAME reading and root-confined path resolution."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdikit._elf import read_soname
from cdikit._rootfs import Root
from tests.producers.fakeroot import elf_with_soname


@pytest.mark.parametrize("soname", ["libcuda.so.1", "libnvidia-ml.so.1", "x", "libGLX_nvidia.so.0"])
def test_soname_of_minimal_elf(tmp_path: Path, soname: str) -> None:
    p = tmp_path / "lib.so"
    p.write_bytes(elf_with_soname(soname))
    assert read_soname(str(p)) == soname


@pytest.mark.parametrize(
    "content",
    [b"", b"\x7fELF", b"#!/bin/sh\n", b"\x7fELF" + b"\x02\x01\x01" + bytes(100), elf_with_soname(None)],
    ids=["empty", "magic-only", "script", "truncated", "no-soname"],
)
def test_no_soname(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "f"
    p.write_bytes(content)
    assert read_soname(str(p)) is None


def test_soname_of_a_real_system_library() -> None:
    libc = next(
        (
            p
            for p in (
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/libc.so.6",
                "/lib/aarch64-linux-gnu/libc.so.6",
            )
            if os.path.exists(p)
        ),
        None,
    )
    if libc is None:
        pytest.skip("no glibc at a known path")
    assert read_soname(libc) == "libc.so.6"


@settings(max_examples=200)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_crash(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    p = tmp_path_factory.mktemp("elf") / "f"
    p.write_bytes(b"\x7fELF" + data)
    result = read_soname(str(p))
    assert result is None or isinstance(result, str)


@pytest.fixture
def root(tmp_path: Path) -> Root:
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/real.so").write_text("x")
    os.symlink("/usr/lib/real.so", tmp_path / "usr/lib/abs.so")  # absolute: must stay in the root
    os.symlink("real.so", tmp_path / "usr/lib/rel.so")
    os.symlink("../../../../../usr/lib/real.so", tmp_path / "usr/lib/escape.so")  # .. clamps at the root
    os.symlink("/", tmp_path / "usr/lib/top")
    os.symlink("loop2", tmp_path / "usr/lib/loop1")
    os.symlink("loop1", tmp_path / "usr/lib/loop2")
    return Root(str(tmp_path))


@pytest.mark.parametrize(
    ("rel", "resolved"),
    [
        ("/usr/lib/real.so", "/usr/lib/real.so"),
        ("/usr/lib/abs.so", "/usr/lib/real.so"),
        ("/usr/lib/rel.so", "/usr/lib/real.so"),
        ("/usr/lib/escape.so", "/usr/lib/real.so"),
        ("/usr/lib/top/usr/lib/abs.so", "/usr/lib/real.so"),
        ("/../../usr/lib/real.so", "/usr/lib/real.so"),
        ("/usr/lib/loop1", None),
        ("/usr/lib/missing.so", None),
    ],
)
def test_resolve_stays_inside_root(root: Root, rel: str, resolved: str | None) -> None:
    assert root.resolve(rel) == resolved


def test_host_and_relative_round_trip(root: Root) -> None:
    assert root.relative(root.host("/usr/lib/real.so")) == "/usr/lib/real.so"
    assert Root("/").host("/usr/lib") == "/usr/lib"
    assert Root("/").glob("/proc/self/status") == ["/proc/self/status"]


_NAMES = ["libcuda.so.1", "libcuda.so", ".hidden.so", "libnvidia-ml.so.580.65.06", "a", "ab", "aXbXb", "gsp_ga10x.bin",
          "*", "x*y", "libcuda.so.1.1", "..", "b"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["lib", "cuda", ".so", "*", "a", "b", "X", ".", "1", "gsp", ".bin"]), min_size=1,
                max_size=6).map("".join))  # fmt: skip
def test_star_glob_is_glob(pattern: str) -> None:
    """The fnmatch-free glob gives exactly what glob.glob gives."""
    import glob
    import tempfile

    from cdikit._rootfs import _star_glob

    with tempfile.TemporaryDirectory() as tmp:
        for name in _NAMES:
            if name not in ("..",):
                (Path(tmp) / name).write_text("")
        os.mkdir(Path(tmp) / "sub")
        full = os.path.join(tmp, pattern)
        got = _star_glob(full)
        if got is not None:
            assert sorted(got) == sorted(glob.glob(glob.escape(tmp) + "/" + pattern))


def _walk_resolve(root: Root, rel: str) -> str | None:
    """The O_PATH walk's answer (what Root.resolve answered before it remembered lookups)."""
    from cdikit._rootfs import walk

    try:
        root_fd = os.open(root.path, os.O_PATH | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fd, names = walk(root_fd, rel, True)
    except OSError:
        return None
    finally:
        os.close(root_fd)
    os.close(fd)
    return "/" + "/".join(names)


_ENTRIES = ["a", "b", "a/c", "b/d", "a/c/e"]
_TARGETS = [
    "/",
    "..",
    "../..",
    "a",
    "/a/c",
    "c",
    "e",
    "../b/d",
    "/b",
    "nowhere",
    "a/c/e",
    "../../../a",
    ".",
    "loop",
]
_QUERIES = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "l", "m", "..", ".", "x"]), max_size=6).map(
    lambda parts: "/" + "/".join(parts)
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_ENTRIES), st.sampled_from(["dir", "file", "link"]), st.sampled_from(_TARGETS)
        ),
        max_size=8,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["", "a/", "b/", "a/c/"]), st.sampled_from(["l", "m"]), st.sampled_from(_TARGETS)
        ),
        max_size=4,
    ),
    st.lists(_QUERIES, min_size=1, max_size=8),
)
def test_resolve_is_the_walk(
    entries: list[tuple[str, str, str]], links: list[tuple[str, str, str]], queries: list[str]
) -> None:
    """Root.resolve (lstat/readlink, remembered) answers what the O_PATH walk answers, on any tree."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for path, kind, target in entries:
            full = Path(tmp) / path
            if full.parent.is_dir() and not os.path.lexists(full):
                if kind == "dir":
                    full.mkdir()
                elif kind == "file":
                    full.write_text("")
                else:
                    os.symlink(target, full)
        for parent, name, target in links:
            if (Path(tmp) / parent).is_dir() and not os.path.lexists(Path(tmp) / parent / name):
                os.symlink(target, Path(tmp) / parent / name)
        root = Root(tmp)
        for rel in queries * 2:  # asked twice: the remembered answer too
            assert root.resolve(rel) == _walk_resolve(root, rel), rel
            assert root.is_file(rel) == (
                (r := _walk_resolve(root, rel)) is not None
                and os.path.isfile(root.host(r))
                and not os.path.islink(root.host(r))
            )


@pytest.mark.parametrize("rel", ["/usr/lib/real.so", "/usr/lib/abs.so", "/usr/lib/loop1", "/usr/lib/missing.so",
                                 "/usr/lib", "/usr/lib/", "/usr/lib/top/usr", "/usr//lib/./real.so", "/"])  # fmt: skip
def test_glob_of_a_plain_path_is_glob(root: Root, rel: str) -> None:
    """A pattern without wildcards: the path when it exists (dangling or looping links too), like glob.glob."""
    import glob

    want = sorted(root.relative(p) for p in glob.glob(glob.escape(root.path) + "/" + rel.lstrip("/")))
    assert root.glob(rel) == want
