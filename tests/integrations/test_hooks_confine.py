"""``run_in_root``: a host binary confined to a container root (namespaces, pivot_root, fresh /proc).

Driven with the static busybox (its ``sh`` runs builtins only, so the rootfs
needs no binaries): what the confined process can see and do, measured from
inside it. Needs root for the namespaces.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdikit.integrations.hooks import HookError
from cdikit.integrations.hooks._confine import run_in_root

BUSYBOX = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.isfile(p)), None)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="mount and PID namespaces need root"),
    pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed (Debian package: busybox-static)"),
]


@pytest.fixture(params=["rootfs", "root fs\tw\u00e9ird\\name"], ids=["plain", "escaped-in-mountinfo"])
def rootfs(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    root = tmp_path / request.param
    for d in ("proc", "etc", "tmp"):
        (root / d).mkdir(parents=True)
    return root


def _sh(root: Path, script: str, timeout: float = 30) -> tuple[int, str]:
    assert BUSYBOX is not None
    return run_in_root(str(root), BUSYBOX, ["sh", "-c", script], timeout=timeout)


@pytest.mark.parametrize("pid1", [True, False], ids=["child-is-pid1", "child-forks-pid1"])
@pytest.mark.parametrize("pivot", [True, False], ids=["pivot_root", "move-and-chroot"])
def test_host_is_out_of_reach_even_through_a_host_proc(
    rootfs: Path, tmp_path: Path, pivot: bool, pid1: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host's /proc mounted in the root (as runc's is at createContainer time) is detached.

    Through it, /proc/<pid>/root of any process outside is that process's root:
    here this test's own, the host's root as far as the test can tell.
    """
    from cdikit.integrations.hooks import _confine

    monkeypatch.setattr(_confine, "_USE_PIVOT_ROOT", pivot)
    monkeypatch.setattr(_confine, "_PID1_CHILD", pid1)
    marker = tmp_path / "host-marker"
    marker.write_text("host\n", encoding="utf-8")
    (rootfs / "tmp/p2").mkdir()
    subprocess.run(["mount", "--bind", "/proc", str(rootfs / "proc")], check=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(rootfs / "tmp/p2")], check=True)  # a second one
    try:
        via = f"/proc/{os.getpid()}/root{marker}"
        assert os.path.exists(f"{rootfs}{via}")  # the attack path exists before
        code, out = _sh(
            rootfs,
            f"test -e {via} && echo REACHED; test -e /proc/1/root{marker} && echo REACHED1;"
            f"test -e /tmp/p2/{os.getpid()}/root{marker} && echo REACHED4; echo P2=$(ls /tmp/p2 | wc -l);"
            f"test -e {marker} && echo REACHED2;"
            "echo PID=$$; grep CapBnd /proc/self/status; grep NoNewPrivs /proc/self/status;"
            "echo made > /tmp/inside; echo ENV=$(env | tr '\\n' ' ');"
            f"cd /../../..; test -e .{marker} && echo REACHED3; true",
        )
    finally:
        subprocess.run(["umount", "-l", str(rootfs / "proc")], check=False)
        subprocess.run(["umount", "-l", str(rootfs / "tmp/p2")], check=False)
    assert code == 0, out
    assert "REACHED" not in out
    assert "P2=0" in out  # every proc mount under the root was detached, not only /proc
    assert "PID=1" in out  # its own PID namespace: /proc/1 is itself
    assert "CapBnd:\t000000000000000a" in out  # only CAP_DAC_OVERRIDE and CAP_FOWNER
    assert "NoNewPrivs:\t1" in out
    # PATH and nothing else (the shell adds SHLVL and PWD itself).
    assert "ENV=SHLVL=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin PWD=/" in out
    assert (rootfs / "tmp/inside").read_text(encoding="utf-8") == "made\n"  # it works in the root
    assert marker.read_text(encoding="utf-8") == "host\n"


def test_exit_code_and_output_come_back(rootfs: Path) -> None:
    assert _sh(rootfs, "echo out; echo err >&2; exit 3") == (3, "out\nerr")


@pytest.mark.parametrize("pid1", [True, False], ids=["child-is-pid1", "child-forks-pid1"])
def test_the_callers_children_stay_in_its_pid_namespace(
    rootfs: Path, pid1: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the confined child is PID 1 of a new namespace: the caller forks as before, after it."""
    from cdikit.integrations.hooks import _confine

    monkeypatch.setattr(_confine, "_PID1_CHILD", pid1)
    own = os.readlink("/proc/self/ns/pid")
    assert _sh(rootfs, "echo $$") == (0, "1")
    assert os.readlink("/proc/self/ns/pid_for_children") == own
    done = subprocess.run(["readlink", "/proc/self/ns/pid"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == own


@pytest.mark.parametrize("pid1", [True, False], ids=["child-is-pid1", "child-forks-pid1"])
def test_timeout_kills_the_whole_namespace(rootfs: Path, pid1: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdikit.integrations.hooks import _confine

    monkeypatch.setattr(_confine, "_PID1_CHILD", pid1)
    with pytest.raises(HookError, match=r"did not finish within 0\.5s"):
        _sh(rootfs, "sleep 30 & sleep 30", timeout=0.5)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # reaped, nothing left


def test_dynamic_binaries_are_refused(rootfs: Path) -> None:
    dynamic = shutil.which("ls") or sys.executable
    with pytest.raises(HookError, match="dynamically linked"):
        run_in_root(str(rootfs), dynamic, [])
    with pytest.raises(HookError, match="not an executable ELF"):
        run_in_root(str(rootfs), "/etc/passwd", [])


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    assert BUSYBOX is not None
    with pytest.raises(HookError, match="cannot confine"):
        run_in_root(str(tmp_path / "nope"), BUSYBOX, ["true"])


@settings(max_examples=500)
@given(
    st.lists(st.sampled_from([b"\\", b"0", b"1", b"3", b"7", b"8", b"9", b"a", b" ", b"/"]), max_size=24).map(
        b"".join
    )
)
def test_mountinfo_unescape_is_the_regex(field: bytes) -> None:
    import re

    from cdikit.integrations.hooks._confine import _unescape_octal

    expected = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8) & 0xFF]), field)
    assert _unescape_octal(field) == expected


def test_in_a_user_namespace_as_rootless_engines_run_hooks(rootfs: Path) -> None:
    """The hook's PID namespace belongs to a parent user namespace: it cannot ``setns`` back to it.

    The confined child then makes its PID namespace itself (and forks PID 1), as rootless
    engines need it; the caller's own children stay where they were.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare(1) (util-linux)")
    code = (
        f"import os, sys; sys.path[:0] = {sys.path!r}\n"
        "from cdikit.integrations.hooks._confine import run_in_root\n"
        "own = os.readlink('/proc/self/ns/pid')\n"
        f"print(run_in_root({str(rootfs)!r}, {BUSYBOX!r}, ['sh', '-c', 'echo $$']))\n"
        "print(os.readlink('/proc/self/ns/pid_for_children') == own)\n"
    )
    done = subprocess.run([unshare, "-U", "-r", "-m", sys.executable, "-I", "-c", code],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode and "unshare failed" in done.stderr:
        pytest.skip(f"no user namespaces here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["(0, '1')", "True"]
