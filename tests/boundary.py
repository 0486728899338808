"""Shared helpers for the boundary tests: what counts as a clear ``tlcourse`` error, and a tiny
local HTTP server (127.0.0.1 only) that stalls or trickles, for the download-timeout tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tlcourse
from tlcourse.downloads import DownloadError

PACKAGE_DIR = Path(tlcourse.__file__).resolve().parent
CLEAR_ERRORS = (ValueError, TypeError, FileNotFoundError, DownloadError)


def raised_in_tlcourse(error: BaseException) -> bool:
    """True when the innermost frame of ``error``'s traceback is tlcourse code (not TF, NumPy…)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(PACKAGE_DIR)


def assert_clear_error(call: Callable[[], object]) -> BaseException:
    """Run ``call``; it must raise a ValueError/TypeError/FileNotFoundError/DownloadError from tlcourse."""
    with pytest.raises(CLEAR_ERRORS) as caught:
        result = call()
        if hasattr(result, "element_spec"):  # a lazy pipeline: errors would show on iteration
            list(result.take(2))
    error = caught.value
    frames = traceback.extract_tb(error.__traceback__)
    assert raised_in_tlcourse(error), (
        f"{type(error).__name__} came from {frames[-1].filename}:{frames[-1].lineno}, not from a tlcourse "
        f"check: {error}")
    return error


@contextlib.contextmanager
def local_server(trickle_bytes: int = 0, pause: float = 0.2) -> Iterator[str]:
    """Yield the URL of a server on 127.0.0.1 that accepts connections and then either never
    answers (``trickle_bytes=0``) or sends a response of ``trickle_bytes`` bytes, one every
    ``pause`` seconds. Never contacts any other address."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve(connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if not trickle_bytes:
                stop.wait()
                return
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                               + f"Content-Length: {trickle_bytes}\r\n\r\n".encode())
            for _ in range(trickle_bytes):
                if stop.wait(pause):
                    return
                connection.sendall(b"x")

    def accept() -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                connection, _ = server.accept()
                connections.append(connection)
                threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/file.bin"
    finally:
        stop.set()
        for connection in connections:
            connection.close()
        server.close()
        time.sleep(0.01)
