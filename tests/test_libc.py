"""``cdikit._libc``: libc calls on ``_ctypes`` (the hooks' start path) and on ``ctypes``, alike."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdikit import _libc

_SYS_OPENAT2 = 437  # the same number on every architecture
_O_PATH_FLAGS = os.O_PATH | os.O_CLOEXEC


@pytest.fixture(params=["_ctypes", "ctypes"])
def binding(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> _libc._Binding:
    """Each binding in turn, installed as the module's."""
    loaded = _libc._Binding(use_ctypes=request.param == "ctypes")
    monkeypatch.setattr(_libc, "_binding", loaded)
    return loaded


@pytest.mark.parametrize(
    ("name", "args", "result", "err"),
    [
        ("getpid", (), os.getpid(), 0),
        ("close", (-1,), -1, errno.EBADF),  # an int -1, not 4294967295
        ("chdir", (b"/nonexistent/cdikit-libc",), -1, errno.ENOENT),
        ("access", (b"/", os.F_OK), 0, 0),
        ("umask", (0o022,), None, 0),  # umask(022) returns the old mask: checked below
    ],
)
def test_call(
    binding: _libc._Binding, name: str, args: tuple[object, ...], result: int | None, err: int
) -> None:
    old = os.umask(0o022)
    try:
        got = _libc.call(name, *args)
        if result is None:
            assert got == 0o022
        else:
            assert got == result
        if err:
            assert _libc.get_errno() == err
    finally:
        os.umask(old)


def test_check_raises_with_errno(binding: _libc._Binding) -> None:
    assert _libc.check(_libc.call("getpid"), "getpid") == os.getpid()
    with pytest.raises(OSError, match="chdir x: No such file") as raised:
        _libc.check(_libc.call("chdir", b"/nonexistent/cdikit-libc"), "chdir x")
    assert raised.value.errno == errno.ENOENT


def _open_how(flags: int, resolve: int) -> bytes:
    return flags.to_bytes(8, sys.byteorder) + bytes(8) + resolve.to_bytes(8, sys.byteorder)


def test_syscall_long_arguments_and_result(binding: _libc._Binding) -> None:
    c_long = _libc.c_long
    how = _open_how(_O_PATH_FLAGS, 0x10)  # RESOLVE_IN_ROOT
    fd = _libc.syscall(_SYS_OPENAT2, c_long(-100), b"/", how, c_long(len(how)))  # AT_FDCWD: a negative long
    if fd < 0 and _libc.get_errno() in (errno.ENOSYS, errno.EPERM):
        pytest.skip("no openat2 here (old kernel or seccomp)")
    assert fd >= 0
    try:
        assert os.path.samestat(os.fstat(fd), os.stat("."))  # RESOLVE_IN_ROOT: "/" is the dirfd, here the cwd
    finally:
        os.close(fd)
    bad = _libc.syscall(_SYS_OPENAT2, c_long(-100), b"/nonexistent/cdikit-libc", how, c_long(len(how)))
    assert (bad, _libc.get_errno()) == (-1, errno.ENOENT)  # a long -1 stays -1


def test_the_hooks_binding_imports_no_ctypes_package() -> None:
    """What the start path pays for: the C module, not the ``ctypes`` package."""
    code = (
        f"import sys; sys.path.extend({sys.path!r}); from cdikit import _libc; "
        "print(_libc.call('getpid') > 0, 'ctypes' in sys.modules, type(_libc._loaded().library).__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "False", "cdikit._libc"]


_LIBRARY = r"""
#include <string.h>
int twice(int x){ return 2 * x; }
int name(char *buf, unsigned int len){ if (len < 8) return 1; strcpy(buf, "cdikit"); return 0; }
"""


def test_library_functions_and_char_buffer(binding: _libc._Binding, tmp_path: Path) -> None:
    from tests.producers import fakeroot

    lib = fakeroot.compile_shared(_LIBRARY, tmp_path / "libtwice.so")
    if lib is None:
        pytest.skip("no C compiler for the test library")
    twice, name = _libc.library_functions(str(lib), "twice", "name")
    assert twice(21) == 42
    buf = _libc.char_buffer(16)
    assert name(buf, 16) == 0
    assert buf.value == b"cdikit"
    with pytest.raises(AttributeError):
        _libc.library_functions(str(lib), "missing")
    with pytest.raises(OSError):
        _libc.library_functions(str(tmp_path / "absent.so"), "twice")
