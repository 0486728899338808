"""Clear errors for downloads that fail (no network, proxy, SSL, a dead URL).

The course never falls back silently to something else when a download fails: it stops with a
``DownloadError`` that says what failed and names both fixes — fill the cache while online
(``python -m tlcourse prefetch``) or run offline on purpose (``TLCOURSE_PROFILE=smoke``).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import urllib.error
from collections.abc import Iterator

FIX = (
    "Fix: connect to the internet and run `python -m tlcourse prefetch` once (it fills the "
    "course's download cache in data/), or run offline on purpose with random weights and mock "
    "data: `export TLCOURSE_PROFILE=smoke` before starting Python or Jupyter. Inside a running "
    "notebook: run `%env TLCOURSE_PROFILE=smoke`, then run the setup cell "
    "(`settings = tlcourse.setup()`) and the cells below it again; do not restart the kernel "
    "(a restart forgets %env)."
)

# Exception types and message fragments that mean "the download did not work".
_NETWORK_ERRORS = (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError)
_NETWORK_WORDS = ("url fetch failure", "failed to establish a new connection", "connection refused",
                  "connection reset", "connection aborted", "name or service not known",
                  "temporary failure in name resolution", "nodename nor servname",
                  "network is unreachable", "max retries exceeded", "certificate verify failed",
                  "read timed out", "connect timeout", "http error 4", "http error 5")


class DownloadError(RuntimeError):
    """A dataset or weights download failed; the message names the fix."""


def looks_like_download_failure(error: BaseException) -> bool:
    """Return True when ``error`` (or its cause) looks like a failed network download.

    Keras reports a failed weights download as a bare ``Exception("URL fetch failure on ...")``;
    tfds raises requests/urllib errors, possibly wrapped.

    Example:
        >>> looks_like_download_failure(Exception("URL fetch failure on https://x: None"))
        True
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _NETWORK_ERRORS):
            return True
        text = f"{type(current).__name__}: {current}".lower()
        if any(word in text for word in _NETWORK_WORDS):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def download_guard(what: str) -> Iterator[None]:
    """Turn a failed download inside the block into a ``DownloadError`` that names the fix.

    Other errors pass through untouched.

    Args:
        what: what is being downloaded, for the message (e.g. ``"MobileNetV2 ImageNet weights"``).

    Example:
        >>> with download_guard("MobileNetV2 ImageNet weights"):  # doctest: +SKIP
        ...     base_model = keras.applications.MobileNetV2(include_top=False, weights="imagenet")
    """
    try:
        yield
    except Exception as error:  # noqa: BLE001 - re-raised unless it is a download failure
        if isinstance(error, DownloadError) or not looks_like_download_failure(error):
            raise
        raise DownloadError(f"Could not download {what}: {error}\n{FIX}") from error


def require_network(what: str, host: str = "storage.googleapis.com") -> None:
    """Raise ``DownloadError`` at once when ``host`` cannot be resolved (no network, no DNS).

    TFDS retries a download for minutes before it gives up; this check fails in a second with
    the fix instead. It decides nothing else: with a network, the download itself proceeds.
    """
    try:
        socket.getaddrinfo(host, 443)
    except OSError as error:
        raise DownloadError(f"Could not download {what}: {host} is unreachable ({error}).\n{FIX}") from error
