"""S3 servers for the direct-path tests, and a fault-injecting HTTP proxy.

The servers are those of ``PULSE_TEST_S3_SERVERS`` (``name=http://host:port,...``,
started by ``scripts/ci_s3_servers.sh``: moto and SeaweedFS), as the
TypeScript suite's tests/support/s3_targets.ts reads them; without it,
s3rver, started for the module. Each runtime stores under a prefix of its own
in the shared bucket, which it creates if missing.

:class:`FaultProxy` is fault injection: a tiny HTTP server on loopback that
forwards every request to a bucket unchanged (the Host header too, so that
presigned signatures still hold) unless told to change a PUT's body, a GET's
body, delay a PUT, or answer 503. A runtime whose ``storage.public_endpoint``
is the proxy hands clients URLs through it.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

#: The bucket cases use on shared servers, as in the TypeScript suite.
SHARED_BUCKET = "pulse-test"


@dataclass(frozen=True)
class S3Server:
    """An S3 server the tests run against."""

    name: str
    endpoint: str
    bucket: str = SHARED_BUCKET

    def runtime_env(self, label: str, **extra: str) -> dict[str, str]:
        """The environment of a runtime storing under a fresh prefix of this server's bucket."""
        return {
            "PULSE_STORAGE_BACKEND": "s3",
            "PULSE_S3_ENDPOINT": self.endpoint,
            "PULSE_S3_BUCKET": self.bucket,
            "PULSE_S3_REGION": "us-east-1",
            "PULSE_S3_PREFIX": f"py-{label}-{uuid.uuid4().hex[:12]}/",
            "PULSE_S3_FORCE_PATH_STYLE": "true",
            "PULSE_S3_CREATE_BUCKET": "true",
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "pulsetest",
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "pulsetestsecret",
            "PULSE_MAX_RETRIES": "5",
            "PULSE_RETRY_DELAY_MS": "20",
            "PULSE_RETRY_MAX_DELAY_MS": "200",
            **extra,
        }


def configured_servers() -> list[S3Server]:
    """The servers of PULSE_TEST_S3_SERVERS, in order."""
    servers = []
    for entry in filter(None, (part.strip() for part in os.environ.get("PULSE_TEST_S3_SERVERS", "").split(","))):
        name, separator, endpoint = entry.partition("=")
        if not separator or not name:
            raise ValueError(f"PULSE_TEST_S3_SERVERS: expected name=url, got {entry!r}")
        servers.append(S3Server(name, endpoint))
    return servers


def metric_sum(metrics_address: str, name: str, **labels: str) -> float:
    """The sum of a runtime's metric ``name`` over the series with these labels."""
    with urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    total = 0.0
    for match in re.finditer(rf"^{name}(?:{{([^}}]*)}})? (\S+)$", text, re.MULTILINE):
        series = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(series.get(key) == value for key, value in labels.items()):
            total += float(match.group(2))
    return total


@dataclass
class FaultProxy:
    """Fault injection between the SDK and a bucket; see the module's comment."""

    upstream: str
    #: Flip a byte in the body of every PUT.
    tamper_puts: bool = False
    #: Flip a byte in the body of every 200 answer to a GET.
    tamper_gets: bool = False
    #: Hold the first PUT this many seconds before forwarding it.
    delay_first_put_s: float = 0.0
    #: Answer this many requests with 503 SlowDown before forwarding any.
    fail_first: int = 0
    #: Then answer this share of requests with 503 SlowDown, at random (seeded:
    #: the n-th request fails or not the same in every run).
    fail_ratio: float = 0.0
    #: The requests seen: (method, status answered).
    seen: list[tuple[str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _random: random.Random = field(default_factory=lambda: random.Random(14))

    def start(self) -> str:
        """Serves on a free loopback port; returns ``http://127.0.0.1:<port>``."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self) -> None:
                proxy._forward(self, "PUT")

            def do_GET(self) -> None:
                proxy._forward(self, "GET")

            def do_HEAD(self) -> None:
                proxy._forward(self, "HEAD")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, method: str, status: int | None = None) -> int:
        """Requests of ``method`` seen (answered ``status``, when given)."""
        with self._lock:
            return sum(1 for seen in self.seen if seen[0] == method and (status is None or seen[1] == status))

    def _forward(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            first_put = method == "PUT" and not any(seen[0] == "PUT" for seen in self.seen)
            failing = self.fail_first > 0 or self._random.random() < self.fail_ratio
            if self.fail_first > 0:
                self.fail_first -= 1
        if failing:
            self._answer(handler, method, 503, {}, b"<Error><Code>SlowDown</Code></Error>")
            return
        if first_put and self.delay_first_put_s:
            time.sleep(self.delay_first_put_s)
        if method == "PUT" and self.tamper_puts and body:
            body = _flipped(body)
        target = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.netloc, timeout=60)
        headers = {key: value for key, value in handler.headers.items() if key.lower() != "connection"}
        connection.request(method, handler.path, body=body if method == "PUT" else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        if method == "GET" and response.status == 200 and self.tamper_gets and data:
            data = _flipped(data)
        kept = {key: value for key, value in response.getheaders() if key.lower() not in ("connection", "transfer-encoding", "content-length")}
        self._answer(handler, method, response.status, kept, data)

    def _answer(self, handler: BaseHTTPRequestHandler, method: str, status: int, headers: dict[str, str], data: bytes) -> None:
        with self._lock:
            self.seen.append((method, status))
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)


def _flipped(data: bytes) -> bytes:
    """``data`` with the bits of its middle byte flipped."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
