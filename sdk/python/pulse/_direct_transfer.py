"""The direct path's HTTP side: presigned PUTs and GETs of chunks between the
SDK and the bucket, with the standard library's ``http.client`` (one kept-alive
connection per thread and host), each transfer retried with exponential
backoff and full jitter; and :class:`DirectPath`, what a :class:`~pulse.Runtime`
knows of it: whether to use it, how many transfers run at once, and whether the
runtime or the bucket turned out not to offer it (then saves and loads take the
stream path, and say so once in the log).

A presigned URL is a bearer credential for one key until it expires: it never
appears in a message or a log line, only its scheme, host and port do.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from ._checkpoint_save import SaveBase
from ._retry import RetryPolicy

_T = TypeVar("_T")

#: Transfers of one save or load that run at once, by default.
PARALLELISM_DEFAULT = 8
#: Most transfers of one save or load at once: each holds a chunk (8 MiB) in memory.
PARALLELISM_MAX = 64
#: How long a connection to the bucket may take to be made, in seconds: past it
#: the bucket counts as unreachable from here.
CONNECT_TIMEOUT_SECONDS = 5.0
#: How long a connection to the bucket may stay silent during a transfer, in seconds.
IO_TIMEOUT_SECONDS = 60.0
#: How often one transfer may get fresh URLs after its own expired.
REPLANS_MAX = 3

_log = logging.getLogger("pulse")


class TransferFailure(Exception):
    """A transfer to or from the bucket that failed, and how.

    ``kind`` is ``"unreachable"`` (no connection could be made: refused, timed
    out, unknown name), ``"transient"`` (a connection broken or silent, 5xx,
    429: worth another attempt), ``"expired"`` (403 for an expired URL: plan
    again), ``"digest"`` (400 for bytes that do not match the signed
    SHA-256), or ``"refused"`` (any other answer).
    """

    def __init__(self, kind: str, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL: what may be said of a presigned URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class BucketHttp:
    """PUTs and GETs of presigned URLs over ``http.client``, one kept-alive
    connection per thread and origin. Thread-safe: threads never share a
    connection."""

    def __init__(self) -> None:
        self._local = threading.local()

    def put(self, url: str, headers: Mapping[str, str], body: memoryview) -> None:
        """PUTs ``body`` with exactly ``headers`` (the signed ones).

        412 (``If-None-Match: *`` on a key that exists) is success: the chunk
        is in the store already, and a key holds only bytes of its name.

        Raises:
            TransferFailure: the PUT did not store the bytes.
        """
        status, data = self._request("PUT", url, dict(headers), body)
        if status in (200, 201, 204, 412):
            return
        raise _failure_of("PUT", url, status, data)

    def get(self, url: str) -> bytes:
        """GETs ``url``.

        Raises:
            TransferFailure: no 200 with the body.
        """
        status, data = self._request("GET", url, {}, None)
        if status == 200:
            return data
        raise _failure_of("GET", url, status, data)

    def close(self) -> None:
        """Closes this thread's connections."""
        for connection in getattr(self._local, "connections", {}).values():
            connection.close()
        self._local.connections = {}

    def _request(
        self, method: str, url: str, headers: dict[str, str], body: memoryview | None
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = self._connection(parts.scheme, parts.netloc)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            # Broken, reset, or a kept-alive connection the server had closed:
            # another attempt makes a new one.
            connection.close()
            raise TransferFailure(
                "transient", f"{method} to {origin_of(url)} failed: {type(error).__name__}: {error}"
            ) from None
        if response.getheader("connection", "").lower() == "close":
            connection.close()
        return response.status, data

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        """This thread's connection to ``netloc``, connected.

        Raises:
            TransferFailure: ``"unreachable"`` when no connection can be made.
        """
        connections: dict[str, http.client.HTTPConnection] = getattr(self._local, "connections", None) or {}
        self._local.connections = connections
        key = f"{scheme}://{netloc}"
        connection = connections.get(key)
        if connection is not None and connection.sock is not None:
            return connection
        if scheme == "https":
            connection = http.client.HTTPSConnection(netloc, timeout=CONNECT_TIMEOUT_SECONDS)
        elif scheme == "http":
            connection = http.client.HTTPConnection(netloc, timeout=CONNECT_TIMEOUT_SECONDS)
        else:
            raise TransferFailure("refused", f"the runtime gave a URL of scheme {scheme!r}, expected http or https")
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise TransferFailure("unreachable", f"no connection to {key}: {type(error).__name__}: {error}") from None
        assert connection.sock is not None
        connection.sock.settimeout(IO_TIMEOUT_SECONDS)
        # Chunks are written whole; the headers must not wait for an ACK (Nagle).
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections[key] = connection
        return connection


def _failure_of(method: str, url: str, status: int, data: bytes) -> TransferFailure:
    """The failure an S3 answer means; its XML error code, not the URL, goes in the message."""
    text = data[:2000].decode("utf-8", "replace")
    code = _xml_field(text, "Code")
    said = f"{method} to {origin_of(url)} answered {status}" + (f" {code}" if code else "")
    if status == 403 and ("expired" in text.lower() or code == "ExpiredToken"):
        return TransferFailure("expired", said + " (the URL expired)", status)
    if status == 400 and code in ("BadDigest", "XAmzContentChecksumMismatch", "InvalidDigest"):
        return TransferFailure("digest", said + " (the bytes do not match their SHA-256)", status)
    if status >= 500 or status in (408, 429):
        return TransferFailure("transient", said, status)
    return TransferFailure("refused", said + (f": {_xml_field(text, 'Message')}" if "<Message>" in text else ""), status)


def _xml_field(text: str, name: str) -> str:
    """The text of the first ``<name>`` element of an S3 error document, or ``""``."""
    start = text.find(f"<{name}>")
    end = text.find(f"</{name}>", start)
    return text[start + len(name) + 2 : end] if start >= 0 and end > start else ""


def with_retries(policy: RetryPolicy, transfer: Callable[[], _T], replan: Callable[[], None]) -> _T:
    """Runs ``transfer`` until it succeeds: after a transient failure (or an
    unreachable bucket, or bytes refused for their digest) again, after a
    backoff with full jitter, for as many attempts as ``policy`` has; after an
    expired URL at once, with ``replan()`` having fetched a fresh one.

    Raises:
        TransferFailure: the last failure, when attempts are spent or it is final.
    """
    attempt = replans = 0
    while True:
        attempt += 1
        try:
            return transfer()
        except TransferFailure as failure:
            if failure.kind == "expired" and replans < REPLANS_MAX:
                replans += 1
                attempt -= 1  # an expired URL says nothing about the bucket
                replan()
                continue
            if failure.kind == "refused" or failure.kind == "expired" or attempt >= policy.max_attempts:
                raise
            policy.wait_full_jitter(attempt)


@dataclass
class DirectPath:
    """What a Runtime knows of the direct path: whether to try it, how many
    transfers of a save or load run at once, and, once a save or load found
    it missing (the runtime offers none, or the bucket is out of reach), that
    the rest take the stream path."""

    #: False: every save and load takes the stream path (``Runtime(direct_transfer=False)``).
    enabled: bool
    parallelism: int
    http: BucketHttp = field(default_factory=BucketHttp)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _unavailable: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.parallelism <= PARALLELISM_MAX:
            raise ValueError(
                f"Cannot open Runtime: parallelism is {self.parallelism}, allowed is 1 to {PARALLELISM_MAX}"
            )

    @property
    def usable(self) -> bool:
        """Whether a save or load should try the direct path."""
        return self.enabled and not self._unavailable

    def fall_back(self, reason: str) -> None:
        """Sends every later save and load through the stream path; logs why, once."""
        with self._lock:
            if self._unavailable:
                return
            self._unavailable = reason
        _log.warning("PulseCheckpoint: %s; saves and loads go through the runtime (the stream path)", reason)


class FallBack(Exception):
    """The direct path is not there for this save or load: take the stream path."""

    def __init__(self) -> None:
        super().__init__("the direct path is not available")
        #: For a save whose source cannot be read again: what the stream path must send.
        self.pieces: Callable[[], Iterator[bytes | memoryview]] | None = None
        #: For an incremental save: the base it asked for, so that the stream path need not ask again.
        self.base: tuple[SaveBase | None] | None = None
