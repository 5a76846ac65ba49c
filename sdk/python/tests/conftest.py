"""Fixtures of the SDK tests: one real runtime process for the session, a client
per test, and workers with ids of their own so that tests never share state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pulse
from pulse import Runtime
from runtime_process import RuntimeProcess, start_runtime


@pytest.fixture(scope="session")
def runtime_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeProcess]:
    """The runtime, started once in a temporary directory; stopped with SIGTERM,
    which must end it cleanly (exit code 0)."""
    runtime = start_runtime(tmp_path_factory.mktemp("runtime"))
    yield runtime
    code = runtime.stop()
    assert code == 0, "the runtime did not stop cleanly on SIGTERM:\n" + "\n".join(runtime.logs[-50:])


@pytest.fixture
def address(runtime_process: RuntimeProcess) -> str:
    """``grpc://127.0.0.1:<port>`` of the runtime."""
    return runtime_process.address


@pytest.fixture
def rt(address: str) -> Iterator[Runtime]:
    """A client of the runtime, closed after the test."""
    with Runtime(address) as client:
        yield client


@pytest.fixture
def worker_id(rt: Runtime) -> str:
    """A registered worker of this test alone."""
    worker = f"worker-{uuid.uuid4().hex[:12]}"
    rt.register_worker(worker, metadata={"test": True})
    return worker


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Makes retries wait no time; returns the list of waits they asked for."""
    waits: list[float] = []
    monkeypatch.setattr(pulse._retry, "_sleep", waits.append)
    return waits


def sdk_dir() -> Path:
    """sdk/python/."""
    return Path(__file__).resolve().parent.parent
