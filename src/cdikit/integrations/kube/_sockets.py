"""gRPC servers and channels on unix sockets, and noticing when a socket file goes away.

The kubelet talks to plugins over unix sockets only. When it restarts it wipes the device-plugins
directory and creates a new ``kubelet.sock``; a plugin notices by comparing the socket file's identity
(device, inode and change time) with the one it registered against.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent import futures
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc

__all__ = ["SocketId", "connect", "remove_socket", "serve", "socket_id"]

SocketId = tuple[int, int, int]


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


def serve(path: str, add_servicers: Callable[[grpc.Server], None], *, workers: int = 8) -> grpc.Server:
    """A started gRPC server listening on the unix socket ``path`` (a stale file there is replaced)."""
    import grpc

    os.makedirs(os.path.dirname(path), exist_ok=True)
    remove_socket(path)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cdikit-grpc"))
    add_servicers(server)
    if server.add_insecure_port(f"unix://{path}") == 0:
        raise OSError(f"cannot listen on unix socket {path}")
    server.start()
    return server


def connect(path: str, timeout: float) -> grpc.Channel:
    """A channel to the unix socket ``path`` that is ready, or raise ``grpc.FutureTimeoutError``."""
    import grpc

    channel = grpc.insecure_channel(f"unix://{path}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        channel.close()
        raise
    return channel
