"""Path resolution strictly inside a container root (openat2 and the manual walk agree)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdikit._rootfs import ContainerRoot, RootfsError, _resolve_walk, openat2_available

RESOLVERS = [
    "walk",
    pytest.param(
        "openat2", marks=pytest.mark.skipif(not openat2_available(), reason="kernel has no openat2")
    ),
]


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A root full of traps aimed at ``host/`` (a sibling directory standing in for the host)."""
    root = tmp_path / "root"
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("host\n", encoding="utf-8")
    (root / "lib").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "real").write_text("inside\n", encoding="utf-8")
    (root / "host").mkdir()  # what '/host' means inside the container
    (root / "host" / "secret").write_text("decoy\n", encoding="utf-8")
    os.symlink("/", root / "lib" / "up")
    os.symlink("../../../../../../..", root / "lib" / "dots")
    os.symlink(str(host), root / "abs")  # a host absolute path: must be re-rooted
    os.symlink("../host", root / "etc" / "rel")  # relative, staying inside
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("/etc/real", root / "link-to-real")
    yield root, host


# path inside the container -> the file it must reach, relative to the root (None: must not exist)
CASES = [
    ("/etc/real", "etc/real"),
    ("etc/real", "etc/real"),
    ("/../../../etc/real", "etc/real"),
    ("/lib/up/etc/real", "etc/real"),
    ("/lib/dots/etc/real", "etc/real"),
    ("/lib/dots/host/secret", "host/secret"),
    ("/link-to-real", "etc/real"),
    ("/etc/rel/secret", "host/secret"),
    ("/abs/secret", None),  # <root>/<tmp>/host/secret does not exist
    ("/lib/./up/../../etc/./real", "etc/real"),
]


@pytest.mark.parametrize("resolver", RESOLVERS)
@pytest.mark.parametrize(("path", "expected"), CASES)
def test_resolution_stays_inside(
    hostile: tuple[Path, Path], resolver: str, path: str, expected: str | None
) -> None:
    root, _ = hostile
    with ContainerRoot(str(root), resolver=resolver) as croot:
        if expected is None:
            with pytest.raises(FileNotFoundError):
                croot.open(path)
            return
        fd = croot.open(path)
        try:
            assert croot.host_path(fd) == str(root / expected)
        finally:
            os.close(fd)


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_symlink_loops_are_refused(hostile: tuple[Path, Path], resolver: str) -> None:
    root, _ = hostile
    with ContainerRoot(str(root), resolver=resolver) as croot, pytest.raises(OSError) as info:
        croot.open("/loop1/x")
    assert info.value.errno == 40  # ELOOP


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_nofollow_returns_the_link_itself(hostile: tuple[Path, Path], resolver: str) -> None:
    root, _ = hostile
    with ContainerRoot(str(root), resolver=resolver) as croot:
        fd = croot.open("/abs", follow=False)
        try:
            assert croot.host_path(fd) == str(root / "abs")
        finally:
            os.close(fd)


def test_open_dir_creates_inside_the_root(hostile: tuple[Path, Path]) -> None:
    root, host = hostile
    with ContainerRoot(str(root)) as croot:
        fd = croot.open_dir("/abs/new/deeper", create=True)
        os.close(fd)
        fd = croot.open_dir("/lib/dots/made", create=True)
        os.close(fd)
    assert (root / str(host).lstrip("/") / "new" / "deeper").is_dir()
    assert (root / "made").is_dir()
    assert sorted(os.listdir(host)) == ["secret"]


def test_open_parent_refuses_the_root_itself(hostile: tuple[Path, Path]) -> None:
    root, _ = hostile
    with ContainerRoot(str(root)) as croot:
        for path in ("/", "", "/..", "/a/.."):
            with pytest.raises(RootfsError):
                croot.open_parent(path)


_COMPONENTS = st.sampled_from(["..", ".", "a", "b", "up", "dots", "abs", "rel", "x"])


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_COMPONENTS, max_size=8), st.booleans())
def test_property_never_outside_and_resolvers_agree(tmp_path: Path, parts: list[str], absolute: bool) -> None:
    root = tmp_path / "proot"
    if not root.exists():
        (root / "a" / "b").mkdir(parents=True)
        os.symlink("/", root / "a" / "up")
        os.symlink("../../../../..", root / "a" / "b" / "dots")
        os.symlink(str(tmp_path), root / "abs")
        os.symlink("../a", root / "a" / "rel")
        (root / "x").write_text("", encoding="utf-8")
    path = ("/" if absolute else "") + "/".join(parts)
    results = []
    with ContainerRoot(str(root), resolver="walk") as croot:
        modes = ["walk"] + (["openat2"] if openat2_available() else [])
        for mode in modes:
            croot.resolver = mode
            try:
                fd = croot.open(path)
            except OSError as e:
                results.append(("error", e.errno))
                continue
            try:
                where = croot.host_path(fd)
            finally:
                os.close(fd)
            assert where == str(root) or where.startswith(str(root) + "/"), where
            results.append(("ok", where))
    assert len(set(results)) == 1, results


def test_walk_matches_plain_resolution_without_links(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    root_fd = os.open(tmp_path, os.O_PATH)
    try:
        fd = _resolve_walk(root_fd, "a/./b/../b", True)
        try:
            assert os.readlink(f"/proc/self/fd/{fd}") == str(tmp_path / "a" / "b")
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
