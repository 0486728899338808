"""Failed downloads become one clear ``DownloadError`` (``downloads.py``)."""

from __future__ import annotations

import socket
import ssl
import urllib.error

import pytest

from tlcourse.downloads import (DownloadError, download_guard, looks_like_download_failure,
                                require_network)

KERAS_FAILURE = ("URL fetch failure on https://storage.googleapis.com/tensorflow/keras-applications/"
                 "mobilenet_v2/weights.h5: None -- [Errno -3] Temporary failure in name resolution")


@pytest.mark.parametrize("error", [
    Exception(KERAS_FAILURE),
    Exception("URL fetch failure on https://example.org/w.h5: 403 -- Forbidden"),
    urllib.error.URLError("no route"),
    urllib.error.HTTPError("https://example.org", 404, "Not Found", {}, None),
    ConnectionResetError(),
    TimeoutError(),
    socket.timeout(),
    ssl.SSLError("certificate verify failed"),
    OSError("Failed to establish a new connection: [Errno 101] Network is unreachable"),
], ids=lambda error: type(error).__name__)
def test_download_failures_are_recognised(error):
    assert looks_like_download_failure(error)


@pytest.mark.parametrize("error", [
    ValueError("Input size must be at least 32x32; Received: input_shape=(8, 8, 3)"),
    KeyError("label"),
    TypeError("unsupported operand"),
    FileNotFoundError("weights.h5"),
], ids=lambda error: type(error).__name__)
def test_other_errors_are_not_download_failures(error):
    assert not looks_like_download_failure(error)


def test_a_wrapped_download_failure_is_recognised_through_its_cause():
    try:
        try:
            raise urllib.error.URLError("offline")
        except urllib.error.URLError as cause:
            raise RuntimeError("dataset preparation failed") from cause
    except RuntimeError as wrapped:
        assert looks_like_download_failure(wrapped)
    try:
        try:
            raise Exception(KERAS_FAILURE)
        except Exception:
            raise RuntimeError("while building")  # implicit __context__
    except RuntimeError as wrapped:
        assert looks_like_download_failure(wrapped)


def test_a_cyclic_exception_chain_terminates():
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert looks_like_download_failure(first) is False


def test_download_guard_turns_a_keras_failure_into_download_error():
    original = Exception(KERAS_FAILURE)
    with pytest.raises(DownloadError) as caught:
        with download_guard("MobileNetV2 ImageNet weights"):
            raise original
    message = str(caught.value)
    assert "MobileNetV2 ImageNet weights" in message
    assert "python -m tlcourse prefetch" in message
    assert "TLCOURSE_PROFILE=smoke" in message
    assert "URL fetch failure" in message, "the original reason must stay visible"
    assert caught.value.__cause__ is original
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize("error", [ValueError("bad shape"), KeyError("x"), ZeroDivisionError()],
                         ids=lambda error: type(error).__name__)
def test_download_guard_passes_other_errors_through_unchanged(error):
    with pytest.raises(type(error)) as caught:
        with download_guard("anything"):
            raise error
    assert caught.value is error
    assert not isinstance(caught.value, DownloadError)


def test_download_guard_does_not_wrap_a_download_error_twice():
    inner = DownloadError("already explained")
    with pytest.raises(DownloadError) as caught:
        with download_guard("outer"):
            raise inner
    assert caught.value is inner


def test_download_guard_is_silent_without_an_error():
    with download_guard("nothing"):
        value = 1 + 1
    assert value == 2


def test_require_network_fails_fast_with_the_fix(monkeypatch):
    import socket as socket_module

    def no_dns(*args, **kwargs):
        raise socket_module.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket_module, "getaddrinfo", no_dns)
    with pytest.raises(DownloadError) as caught:
        require_network("the tf_flowers dataset")
    message = str(caught.value)
    assert "the tf_flowers dataset" in message and "storage.googleapis.com" in message
    assert "python -m tlcourse prefetch" in message and "TLCOURSE_PROFILE=smoke" in message


def test_require_network_is_silent_when_the_host_resolves(monkeypatch):
    import socket as socket_module

    asked = []
    monkeypatch.setattr(socket_module, "getaddrinfo", lambda host, port: asked.append((host, port)) or [])
    require_network("anything", host="example.org")
    assert asked == [("example.org", 443)]


@pytest.mark.parametrize("message", ["classless object", "bad skip connection shape", "timed"])
def test_unrelated_errors_mentioning_network_words_are_not_download_failures(message):
    assert not looks_like_download_failure(ValueError(message))
