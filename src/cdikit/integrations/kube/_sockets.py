"""gRPC servers and channels on unix sockets, and noticing when a socket file goes away.

The kubelet talks to plugins over unix sockets only. When it restarts it wipes the device-plugins
directory and creates a new ``kubelet.sock``; a plugin notices by comparing the socket file's identity
(device, inode and change time) with the one it registered against.

Servers are ``grpc.aio`` servers, each on its own event-loop thread: a streaming RPC written as an
``async`` generator (``ListAndWatch``) costs no thread while it waits, so any number of streams leaves
the unary RPCs (``Allocate``) their workers. Plain (synchronous) handlers run in a small thread pool.

A plugin socket is what lets a caller ask for devices, so it is created mode 0600 whatever the umask:
gRPC binds it inside a private (0700) directory next to its final place, where it is chmod-ed before it
is renamed into place (a unix socket stays bound to its inode through a rename).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import socket
import threading
from collections.abc import Callable, Coroutine
from concurrent import futures
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    import grpc
    import grpc.aio

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SOCKET_MODE",
    "Server",
    "SocketId",
    "connect",
    "probe",
    "remove_socket",
    "serve",
    "socket_id",
]

SocketId = tuple[int, int, int]
SOCKET_MODE = 0o600
# The kubelet's requests are small (device IDs); this bounds what one request can make us parse.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_T = TypeVar("_T")


def socket_id(path: str) -> SocketId | None:
    """``(st_dev, st_ino, st_ctime_ns)`` of the file at ``path``, None when there is none.

    The change time is part of the identity because a file system may give a re-created socket the
    inode number of the one just deleted.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_ctime_ns


def remove_socket(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Server:
    """A started ``grpc.aio`` server on a unix socket, with the event-loop thread that runs it."""

    def __init__(self, path: str, add_servicers: Callable[[grpc.Server], None], *, workers: int) -> None:
        self.path = path
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cdikit-grpc-loop", daemon=True)
        self._thread.start()
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cdikit-grpc")
        try:
            self._server = self._run(self._start(add_servicers))
        except BaseException:
            self._close_loop()
            raise

    def _run(self, coro: Coroutine[Any, Any, _T], timeout: float | None = 30) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self, add_servicers: Callable[[grpc.Server], None]) -> grpc.aio.Server:
        import grpc.aio

        server = grpc.aio.server(
            migration_thread_pool=self._pool,
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
        )
        # The generated add_*_to_server functions (typed for grpc.Server) only register handlers,
        # which an aio server takes the same way.
        add_servicers(cast("grpc.Server", server))
        _bind_private(server, self.path)
        await server.start()
        return server

    def stop(self, grace: float | None = 0.5) -> None:
        """Stop serving (in-flight calls get ``grace`` seconds, streams are cancelled) and end the thread."""
        try:
            self._run(self._server.stop(grace), timeout=(grace or 0) + 10)
        except TimeoutError:
            pass  # stopping must not hang the plugin: the loop and its thread go away below
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _bind_private(server: grpc.aio.Server, path: str) -> None:
    """Listen on ``path`` with a socket file of mode 0600, never reachable with a wider mode."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    # A dot name: the kubelet's plugin watcher ignores entries whose name starts with ".".
    private = os.path.join(directory, f".cdikit-bind.{os.getpid()}.{os.urandom(4).hex()}")
    os.mkdir(private, 0o700)  # the umask can only narrow it
    try:
        staged = os.path.join(private, "s")
        if server.add_insecure_port(f"unix://{staged}") == 0:
            raise OSError(errno.EADDRNOTAVAIL, f"cannot listen on unix socket {path}")
        os.chmod(staged, SOCKET_MODE)
        remove_socket(path)
        os.rename(staged, path)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def serve(path: str, add_servicers: Callable[[grpc.Server], None], *, workers: int = 4) -> Server:
    """A started gRPC server listening on the unix socket ``path`` (a stale file there is replaced)."""
    return Server(path, add_servicers, workers=workers)


def probe(path: str, timeout: float) -> None:
    """Raise ``OSError`` at once unless something accepts connections on the unix socket ``path``.

    A kubelet that died leaves its socket file behind: connecting is refused immediately, where a gRPC
    channel would keep retrying until its deadline.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)


def connect(path: str, timeout: float) -> grpc.Channel:
    """A channel to the unix socket ``path`` that is ready, or raise ``OSError``/``grpc.FutureTimeoutError``."""
    import grpc

    probe(path, timeout)
    channel = grpc.insecure_channel(f"unix://{path}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        channel.close()
        raise
    return channel
