"""Starts the PulseCheckpoint Runtime as a real process for the tests, exactly as
`deno task start` would (the same --allow-* flags, read from deno.json), in a
temporary directory of its own on free loopback ports, and stops it with SIGTERM.

This mirrors tests/support/runtime.ts of the TypeScript test suite.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[3]
MAIN_FILE = REPO_DIR / "main.ts"
CONFIG_FILE = REPO_DIR / "deno.json"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 40.0


def start_flags() -> list[str]:
    """The permission flags of `deno task start`, the ones the compiled binary
    gets, for a runtime whose working directory is not the repository: the
    compiled binary reads its npm packages from inside itself, `deno run` reads
    them from the repository's node_modules, so read access to that directory
    is added (as tests/support/runtime.ts does)."""
    tasks = json.loads(CONFIG_FILE.read_text(encoding="utf-8"))["tasks"]
    flags = [word for word in tasks["start"].split() if word.startswith("--allow-")]
    return [f"{flag},{REPO_DIR / 'node_modules'}" if flag.startswith("--allow-read=") else flag for flag in flags]


class RuntimeProcess:
    """A runtime process started by the tests, with its log lines (stdout and stderr)."""

    def __init__(self, directory: Path, process: subprocess.Popen[str]) -> None:
        self.directory = directory
        self.process = process
        self.logs: list[str] = []
        self.grpc_address = ""
        self.metrics_address = ""
        self._started = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(process.stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def address(self) -> str:
        """The address an SDK client is given: ``grpc://127.0.0.1:<port>``."""
        return f"grpc://{self.grpc_address}"

    def _read(self, stream: object, watch: bool) -> None:
        for line in stream:  # type: ignore[attr-defined]
            line = line.rstrip("\n")
            self.logs.append(line)
            if watch and '"Runtime started"' in line and not self._started.is_set():
                event = json.loads(line)
                self.grpc_address = event["grpc_addr"]
                self.metrics_address = event["metrics_addr"]
                self._started.set()
        if watch:
            self._started.set()  # exited: wake the waiter, which sees no address

    def wait_started(self) -> None:
        """Waits until the runtime says it serves; kills it and raises if it does not."""
        if self._started.wait(START_TIMEOUT_SECONDS) and self.grpc_address:
            return
        self.process.kill()
        self.process.wait()
        for reader in self._readers:
            reader.join(5)
        raise RuntimeError("The runtime did not start:\n" + "\n".join(self.logs))

    def stop(self) -> int:
        """Sends SIGTERM, waits for the exit and returns the exit code (SIGKILL after a timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        for reader in self._readers:
            reader.join(5)
        return code


def start_runtime(
    directory: Path, env: dict[str, str] | None = None, grpc_addr: str = "127.0.0.1:0"
) -> RuntimeProcess:
    """Starts the runtime with `directory` as its working directory (its data/
    holds the embedded store, its config.toml is read) and `env` added to its
    environment, serving gRPC on `grpc_addr` (a free loopback port unless
    given), and waits until it serves."""
    deno = shutil.which("deno")
    if deno is None:
        raise RuntimeError("Cannot start the runtime: `deno` is not on PATH")
    args = [
        deno,
        "run",
        "--quiet",
        "--config",
        str(CONFIG_FILE),
        *start_flags(),
        str(MAIN_FILE),
        "serve",
        "--grpc-addr",
        grpc_addr,
        "--metrics-addr",
        "127.0.0.1:0",
    ]
    # Nothing of the caller's PULSE_* or AWS_* reaches the runtime.
    environment = {name: os.environ[name] for name in ("PATH", "HOME", "DENO_DIR") if name in os.environ}
    environment["NO_COLOR"] = "1"
    environment.update(env or {})
    process = subprocess.Popen(
        args,
        cwd=directory,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    runtime = RuntimeProcess(directory, process)
    runtime.wait_started()
    return runtime
