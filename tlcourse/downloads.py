"""Clear errors for downloads that fail (no network, proxy, SSL, a dead URL).

The course never falls back silently to something else when a download fails: it stops with a
``DownloadError`` that says what failed and names both fixes — fill the cache while online
(``python -m tlcourse prefetch``) or run offline on purpose (``TLCOURSE_PROFILE=smoke``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import ssl
import urllib.error
from collections.abc import Iterator

from tlcourse.checks import check_number, check_text

#: Seconds a download may go without receiving a single byte before it counts as stalled.
#: A slow download that keeps receiving data is never cut off. Override it with the
#: ``TLCOURSE_DOWNLOAD_TIMEOUT`` environment variable (seconds, e.g. ``120`` on a slow line).
STALL_TIMEOUT_SECONDS = 60.0
STALL_TIMEOUT_ENV = "TLCOURSE_DOWNLOAD_TIMEOUT"

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


STALL_FIX = (
    "A proxy or firewall may be holding the connection open without passing data (common on "
    "school and hotel Wi-Fi): set HTTPS_PROXY if your network needs a proxy, try another "
    "network, or run `python -m tlcourse prefetch` at home beforehand. On a slow but working "
    f"line, allow longer pauses with `export {STALL_TIMEOUT_ENV}=300`."
)


class DownloadError(RuntimeError):
    """A dataset or weights download failed; the message names the fix.

    ``reason`` holds the first part of the message (what failed and why) without the fix, for
    callers such as ``prefetch`` that give their own advice.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message.split("\n")[0]


def stall_timeout() -> float:
    """Return the stall timeout in seconds: ``$TLCOURSE_DOWNLOAD_TIMEOUT``, else ``STALL_TIMEOUT_SECONDS``.

    Raises:
        ValueError: the variable is set but is not a positive number.

    Example:
        >>> stall_timeout() > 0
        True
    """
    text = os.environ.get(STALL_TIMEOUT_ENV, "").strip()
    if not text:
        return STALL_TIMEOUT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = text
    return check_number(STALL_TIMEOUT_ENV, value, above=0,
                        fix=f"set it to seconds, e.g. `export {STALL_TIMEOUT_ENV}=120`, or unset it")


def _is_stall(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (TimeoutError, socket.timeout)) or "timed out" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def _stall_limits(seconds: float) -> Iterator[None]:
    """Make every socket opened in the block give up after ``seconds`` without a byte.

    urllib (Keras' ``get_file``) honours ``socket.setdefaulttimeout``; requests (TFDS) passes
    ``timeout=None`` explicitly and would wait forever, so its adapter gets the timeout too, and
    its retries on a timeout are switched off (TFDS retries 10 times with growing pauses: a
    stalled server would otherwise take minutes to fail). Process-wide while the block runs.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        import requests.adapters
    except ImportError:  # pragma: no cover - tfds depends on requests
        adapter = original_send = None
    else:
        adapter = requests.adapters.HTTPAdapter
        original_send = adapter.send

        @functools.wraps(original_send)
        def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = (seconds, seconds)
            retries = self.max_retries
            try:
                self.max_retries = retries.new(connect=0, read=0)
            except AttributeError:  # not a urllib3 Retry: leave it alone
                return original_send(self, request, *args, **kwargs)
            try:
                return original_send(self, request, *args, **kwargs)
            finally:
                self.max_retries = retries

        adapter.send = send
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)
        if adapter is not None:
            adapter.send = original_send


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
def download_guard(what: str, *, stall_seconds: float | None = None) -> Iterator[None]:
    """Turn a failed download inside the block into a ``DownloadError`` that names the fix.

    A download that receives no byte for ``stall_seconds`` (default ``STALL_TIMEOUT_SECONDS``,
    60 s, or ``$TLCOURSE_DOWNLOAD_TIMEOUT``) fails with a ``DownloadError`` naming the likely
    causes (a proxy, a firewall) and the fixes; a slow download that keeps receiving data goes
    on. This covers Keras' ``get_file`` (urllib) and TFDS (requests). Other errors pass through
    untouched.

    Args:
        what: what is being downloaded, for the message (e.g. ``"MobileNetV2 ImageNet weights"``).
        stall_seconds: overrides the stall timeout for this block.

    Example:
        >>> with download_guard("MobileNetV2 ImageNet weights"):  # doctest: +SKIP
        ...     base_model = keras.applications.MobileNetV2(include_top=False, weights="imagenet")
    """
    check_text("what", what, fix='describe the download, e.g. "MobileNetV2 ImageNet weights"')
    seconds = stall_timeout() if stall_seconds is None else check_number(
        "stall_seconds", stall_seconds, above=0, fix="pass seconds, e.g. stall_seconds=60")
    try:
        with _stall_limits(seconds):
            yield
    except Exception as error:  # noqa: BLE001 - re-raised unless it is a download failure
        if isinstance(error, DownloadError) or not looks_like_download_failure(error):
            raise
        if _is_stall(error):
            reason = (f"Could not download {what}: the server sent nothing for {seconds:g} s "
                      f"(stall timeout, {STALL_TIMEOUT_ENV}) ({error}).")
            raise DownloadError(f"{reason}\n{STALL_FIX}\n{FIX}", reason) from error
        reason = f"Could not download {what}: {error}"
        raise DownloadError(f"{reason}\n{FIX}", reason) from error


def require_network(what: str, host: str = "storage.googleapis.com") -> None:
    """Raise ``DownloadError`` at once when ``host`` cannot be resolved (no network, no DNS).

    TFDS retries a download for minutes before it gives up; this check fails in a second with
    the fix instead. It decides nothing else: with a network, the download itself proceeds.
    """
    check_text("what", what, fix='describe the download, e.g. "the tf_flowers dataset"')
    check_text("host", host, fix='pass a host name, e.g. "storage.googleapis.com"')
    try:
        socket.getaddrinfo(host, 443)
    except OSError as error:
        reason = f"Could not download {what}: {host} is unreachable ({error})."
        raise DownloadError(f"{reason}\n{FIX}", reason) from error
