"""Running a host binary *inside* a container root, unable to reach the host.

``update-ldcache`` must run the host's ``ldconfig`` on the container's files,
and everything ldconfig reads there is the image's: ``/etc/ld.so.conf``
lines, ``/var/cache/ldconfig``, symlinks. ``ldconfig -r ROOT`` is only a
``chroot``, and at ``createContainer`` time the container's ``/proc`` is
mounted in the root with ``/proc/1/root`` still the *host* root (runc's init
has not pivoted yet): an image's ``/var/cache/ldconfig ->
/proc/1/root/<host dir>`` made host ldconfig write host directories.

:func:`run_in_root` does what NVIDIA's hook does, and a little more:

1. the binary is opened on the host first, and must be statically linked
   (a dynamic one would load the *image's* libc as root);
2. a child, PID 1 of a new PID namespace (killed with the hook), unshares
   mount, IPC and UTS namespaces, makes every mount private, detaches every
   ``proc`` mount under the root, bind-mounts the root onto itself and pivots
   (``pivot_root``) into it, detaching the old root: no path, ``..`` or
   symlink can name a host file any more (where the host root is the initial
   ramfs and cannot be pivoted away, the root is moved over ``/`` and
   chrooted into instead, as ``runc --no-pivot`` does);
3. it mounts a fresh ``/proc`` (its own: ``/proc/1/root`` is the new root),
   drops every capability but ``CAP_DAC_OVERRIDE`` and ``CAP_FOWNER`` from
   its bounding set (no mount, mknod, ptrace, open_by_handle_at...), sets
   ``no_new_privs`` and resource limits (address space, CPU, file size,
   open files), and executes the binary through the descriptor opened
   in step 1, with ``PATH`` as its whole environment;
4. the hook waits at most ``timeout`` seconds, then kills it (and with it,
   PID 1, the whole namespace).

Only :mod:`os`, :mod:`cdikit._libc` and :mod:`select`: this is the hook's start path.
"""

from __future__ import annotations

import errno
import os

from cdikit.integrations.hooks._errors import HookError

__all__ = ["SAFE_ENV", "run_in_root"]

SAFE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x2, 0x4, 0x8
_MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 0x1000, 0x2000, 0x4000, 1 << 18
_MNT_DETACH = 2
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 24, 38
_CAP_DAC_OVERRIDE, _CAP_FOWNER = 1, 3
_KEEP_CAPS = frozenset({_CAP_DAC_OVERRIDE, _CAP_FOWNER})
_USE_PIVOT_ROOT = True  # tests turn it off to exercise the fallback
_PID1_CHILD = True  # tests turn it off to exercise the other way (see _fork_in_new_pid_namespace)
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

# Limits of the confined process: generous for ldconfig on the biggest images.
_LIMITS = (
    ("RLIMIT_AS", 1 << 30),
    ("RLIMIT_CPU", 60),
    ("RLIMIT_FSIZE", 256 << 20),
    ("RLIMIT_NOFILE", 1024),
)


def _unescape_octal(field: bytes) -> bytes:
    r"""mountinfo's ``\ooo`` escapes decoded (what ``re.sub(rb"\\([0-7]{3})", ...)`` did, without re)."""
    if b"\\" not in field:
        return field
    out = bytearray()
    i = 0
    while i < len(field):
        chunk = field[i + 1 : i + 4]
        if field[i] == 0x5C and len(chunk) == 3 and all(0x30 <= c <= 0x37 for c in chunk):
            out.append(int(chunk, 8) & 0xFF)
            i += 4
        else:
            out.append(field[i])
            i += 1
    return bytes(out)


def _mount_points_under(root: str) -> list[bytes]:
    """Mount points of ``proc`` file systems at or under ``root`` (deepest first)."""
    top = os.fsencode(root.rstrip("/") or "/")
    found: list[bytes] = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split()
            try:
                fstype = fields[fields.index(b"-") + 1]
            except (ValueError, IndexError):
                continue
            if fstype != b"proc" or len(fields) < 5:
                continue
            # Spaces, tabs, newlines and backslashes are written as \ooo octal escapes.
            point = _unescape_octal(fields[4])
            if point == top or point.startswith(top + b"/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def _child(root: str, exe_fd: int, argv: list[str], err_w: int, pid1: bool) -> None:
    """The namespaced side (never returns): steps 2 and 3 of the module docstring.

    ``pid1``: it already is PID 1 of a new PID namespace; else it makes one and
    forks PID 1 itself (where the hook cannot return to its own PID namespace).
    """
    import resource

    from cdikit._libc import c_long, call, check, get_errno, syscall

    def mount(src: str | None, target: str, fstype: str | None, flags: int) -> None:
        enc = [None if v is None else os.fsencode(v) for v in (src, target, fstype)]
        check(call("mount", enc[0], enc[1], enc[2], c_long(flags), None), f"mount {target}")

    check(call("prctl", _PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PDEATHSIG)")
    check(
        call("unshare", _CLONE_NEWNS | _CLONE_NEWIPC | _CLONE_NEWUTS | (0 if pid1 else _CLONE_NEWPID)),
        "unshare",
    )
    mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    for point in _mount_points_under(root):
        check(call("umount2", point, _MNT_DETACH), f"umount {os.fsdecode(point)}")
    mount(root, root, None, _MS_BIND | _MS_REC)
    os.chdir(root)
    number = _SYS_PIVOT_ROOT.get(os.uname().machine)  # platform.machine(), without platform's imports
    if _USE_PIVOT_ROOT and number is not None and syscall(number, b".", b".") == 0:
        check(call("umount2", b".", _MNT_DETACH), "umount the old root")
    else:
        # No pivot_root where the host root is the initial ramfs (EINVAL; runc --no-pivot):
        # move the root over / and chroot, as runc does. A chroot can be left only with
        # CAP_SYS_CHROOT, which is dropped below before the binary runs.
        err = get_errno()
        if _USE_PIVOT_ROOT and number is not None and err != errno.EINVAL:
            raise OSError(err, f"pivot_root: {os.strerror(err)}")
        mount(root, "/", None, _MS_MOVE)
        check(call("chroot", b"."), "chroot")
    os.chdir("/")
    if not pid1:
        pid = os.fork()
        if pid:
            _, status = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        check(call("prctl", _PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PDEATHSIG)")  # PID 1 now
    last_cap = 40
    try:
        os.mkdir("/proc", 0o555)
    except OSError:
        pass
    try:
        mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            last_cap = int(f.read())
    except (OSError, ValueError):
        pass  # no /proc at all is fine too: the container's one is gone either way
    for cap in range(last_cap + 1):
        if cap not in _KEEP_CAPS and call("prctl", _PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            check(-1, f"prctl(CAPBSET_DROP {cap})")
    check(call("prctl", _PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    for name, value in _LIMITS:
        resource.setrlimit(getattr(resource, name), (value, value))
    null = os.open("/dev/null", os.O_RDONLY) if os.path.exists("/dev/null") else -1
    if null >= 0:
        os.dup2(null, 0)
    os.dup2(err_w, 1)
    os.dup2(err_w, 2)
    os.execve(exe_fd, argv, SAFE_ENV)


def _fork_in_new_pid_namespace() -> tuple[int, bool]:
    """``os.fork()``, the child PID 1 of a new PID namespace where possible; (pid, whether it is).

    ``unshare(CLONE_NEWPID)`` moves only the children made afterwards, so it is
    undone right after the fork (``setns`` back to this process's namespace):
    one process less than unsharing in a child, which then has to fork PID 1.
    Where ``setns`` is not allowed (a user namespace whose PID namespace is
    its parent's, as rootless engines run hooks: probed first, a no-op), the
    child does it the other way.
    """
    from cdikit._libc import call, check

    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    pid = -1
    try:
        if not _PID1_CHILD or call("setns", own, _CLONE_NEWPID) != 0:
            return os.fork(), False
        check(call("unshare", _CLONE_NEWPID), "unshare(CLONE_NEWPID)")
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                check(call("setns", own, _CLONE_NEWPID), "setns back to the hook's PID namespace")
        return pid, True
    finally:
        if pid != 0:
            os.close(own)


def run_in_root(root: str, binary: str, args: list[str], *, timeout: float = 60.0) -> tuple[int, str]:
    """Run host ``binary`` with ``args`` confined to the container root ``root``.

    Returns (exit code, output). Raises :class:`HookError` when the binary
    is unusable or the confinement cannot be set up, or on timeout.
    """
    from cdikit._elf import has_interpreter

    dynamic = has_interpreter(binary)
    if dynamic is None:
        raise HookError(f"{binary} is not an executable ELF file", path=binary)
    if dynamic:
        raise HookError(
            f"{binary} is dynamically linked: inside the container root it would load the image's "
            "libraries as root; use a statically linked ldconfig (glibc's is)",
            path=binary,
        )
    exe_fd = os.open(binary, os.O_RDONLY | os.O_CLOEXEC)
    root = os.path.realpath(root)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        try:
            pid, pid1 = _fork_in_new_pid_namespace()
        except OSError as e:
            raise HookError(f"cannot confine {binary} to {root}: {e}", path=root) from e
        if pid == 0:
            try:
                os.close(err_r)
                _child(root, exe_fd, [os.path.basename(binary), *args], err_w, pid1)
            except BaseException as e:  # report whatever failed, never return into the hook
                try:
                    os.write(err_w, f"cdi-hook: cannot confine {binary} to {root}: {e}\n".encode())
                finally:
                    os._exit(127)
        os.close(err_w)
        err_w = -1
        output, code = _wait(pid, err_r, timeout)
    finally:
        os.close(exe_fd)
        os.close(err_r)
        if err_w >= 0:
            os.close(err_w)
    if code is None:
        raise HookError(f"{binary} in {root} did not finish within {timeout:g}s: killed", path=root)
    text = output.decode(errors="replace").strip()
    if code == 127 and "cannot confine" in text:
        raise HookError(text.removeprefix("cdi-hook: "), path=root)
    return code, text


def _wait(pid: int, out_fd: int, timeout: float) -> tuple[bytes, int | None]:
    """Collect ``pid``'s output (bounded) and exit code; (output, None) after a kill on timeout."""
    import select
    import time

    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout
    open_ = True
    while open_:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, 9)  # its child, PID 1 of the new namespace, dies with it (PDEATHSIG)
            os.waitpid(pid, 0)
            return b"".join(chunks), None
        ready, _, _ = select.select([out_fd], [], [], left)
        if ready:
            chunk = os.read(out_fd, 65536)
            if not chunk:
                open_ = False
            elif size < 1 << 20:
                chunks.append(chunk)
                size += len(chunk)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks), os.waitstatus_to_exitcode(status)
