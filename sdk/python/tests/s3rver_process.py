"""Starts s3rver (an S3 server in JavaScript, on the local filesystem) for tests
whose runtimes must share one bucket, as replicas of a runtime do. It runs in
a Deno process of its own through tests/support/s3rver.ts, the helper the
TypeScript suite uses, so it needs nothing beyond what the suite needs
(`deno` and the repository's npm packages), and stops when its stdin closes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

from runtime_process import CONFIG_FILE, REPO_DIR, START_TIMEOUT_SECONDS

# The credentials s3rver is made to accept, and the runtime signs with.
ACCESS_KEY_ID = "pulsetest"
SECRET_ACCESS_KEY = "pulsetestsecret"

_SCRIPT = f"""
import {{ startS3rver }} from "{(REPO_DIR / "tests" / "support" / "s3rver.ts").as_uri()}";
Deno.env.set("AWS_ACCESS_KEY_ID", "{ACCESS_KEY_ID}");
Deno.env.set("AWS_SECRET_ACCESS_KEY", "{SECRET_ACCESS_KEY}");
const server = await startS3rver();
console.log(JSON.stringify({{ endpoint: server.endpoint, bucket: server.bucket }}));
await new Response(Deno.stdin.readable).arrayBuffer();
await server.stop();
"""


@dataclass
class S3rverProcess:
    """A running s3rver with one empty bucket."""

    process: subprocess.Popen[str]
    #: ``http://127.0.0.1:<port>``
    endpoint: str
    bucket: str

    def runtime_env(self, prefix: str) -> dict[str, str]:
        """The environment of a runtime that stores everything under ``prefix`` in the bucket."""
        return {
            "PULSE_STORAGE_BACKEND": "s3",
            "PULSE_S3_ENDPOINT": self.endpoint,
            "PULSE_S3_BUCKET": self.bucket,
            "PULSE_S3_REGION": "us-east-1",
            "PULSE_S3_PREFIX": prefix,
            "PULSE_S3_FORCE_PATH_STYLE": "true",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def stop(self) -> int:
        """Closes its stdin, which stops it and removes its files; returns its exit code."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_s3rver() -> S3rverProcess:
    """Starts s3rver on a free loopback port and waits until it serves."""
    deno = shutil.which("deno")
    if deno is None:
        raise RuntimeError("Cannot start s3rver: `deno` is not on PATH")
    process = subprocess.Popen(
        [deno, "eval", "--quiet", "--config", str(CONFIG_FILE), _SCRIPT],
        cwd=REPO_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    assert process.stdout is not None
    # The first line says where it serves; without it, it failed to start.
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError(f"Cannot start s3rver: it exited with {process.wait(START_TIMEOUT_SECONDS)}")
    started = json.loads(line)
    return S3rverProcess(process, started["endpoint"], started["bucket"])
