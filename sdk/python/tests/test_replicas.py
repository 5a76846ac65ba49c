"""Several addresses: a Runtime opened with the addresses of a runtime's
replicas takes them in turn, one call after another, and a replica that dies
(SIGKILL) is not seen by callers while another is up: a unary call moves on to
the next replica at once, a load resumes there from the first byte it has not
received, a save is sent again there under its idempotency key. A name that
resolves to several addresses is balanced round robin by gRPC itself.

Replicas that must share checkpoints run on one s3rver bucket, as replicas
share a bucket in production; the others on fs stores of their own. Which
replica served what is read from each one's own answers (its workers) or its
``pulse_grpc_requests_total`` metric."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pulse._channel
from fake_dns import FakeDns
from pulse import CHUNK_BYTES, PulseError, RetryPolicy, Runtime, TlsOptions
from pulse._connection import Connection
from pulse._protocol import LOAD_WINDOW_BYTES
from runtime_process import RuntimeProcess, start_runtime
from s3rver_process import S3rverProcess, start_s3rver
from test_retries import closed_port_address
from test_security import TLS_ENV, pem, runtime_dir

MIB = 1024 * 1024
StartReplica = Callable[..., RuntimeProcess]


@pytest.fixture(scope="module")
def s3rver() -> Iterator[S3rverProcess]:
    server = start_s3rver()
    yield server
    server.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[StartReplica]:
    """Starts replicas, each in a directory of its own; stops them after the test."""
    started: list[RuntimeProcess] = []

    def start_replica(env: dict[str, str] | None = None, grpc_addr: str = "127.0.0.1:0") -> RuntimeProcess:
        directory = tmp_path / f"replica-{len(started)}"
        directory.mkdir()
        replica = start_runtime(directory, env, grpc_addr)
        started.append(replica)
        return replica

    yield start_replica
    for replica in started:
        replica.stop()


def kill(replica: RuntimeProcess) -> None:
    """SIGKILL: the replica ends at once, its connections reset."""
    replica.process.kill()
    replica.process.wait()


def served(replica: RuntimeProcess, method: str) -> int:
    """How many calls of ``method`` the replica has answered, whatever their code."""
    with urllib.request.urlopen(f"http://{replica.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    pattern = rf'^pulse_grpc_requests_total{{[^}}]*method="{method}"[^}}]*}} (\S+)$'
    return sum(int(float(count)) for count in re.findall(pattern, text, re.MULTILINE))


def workers_of(replica: RuntimeProcess) -> list[str]:
    with Runtime(replica.address) as own:
        return [worker.worker_id for worker in own.list_workers()]


def register_on_each(replicas: list[RuntimeProcess], worker_id: str) -> None:
    """Registers the worker with every replica: today each keeps its registry
    in memory, read from the store when it starts."""
    for replica in replicas:
        with Runtime(replica.address) as own:
            own.register_worker(worker_id)


def test_calls_take_the_replicas_in_turn_from_the_first(start: StartReplica) -> None:
    replicas = [start() for _ in range(3)]
    with Runtime([replica.address for replica in replicas]) as rt:
        assert rt.addresses == tuple(replica.address for replica in replicas)
        for index in range(6):
            rt.register_worker(f"worker-{index}")
    assert [workers_of(replica) for replica in replicas] == [
        ["worker-0", "worker-3"],
        ["worker-1", "worker-4"],
        ["worker-2", "worker-5"],
    ]


def test_a_killed_replica_is_not_seen_by_callers_and_costs_no_backoff(
    start: StartReplica, no_backoff: list[float]
) -> None:
    replicas = [start(), start()]
    register_on_each(replicas, "worker-1")
    with Runtime([replica.address for replica in replicas]) as rt:
        assert rt.heartbeat("worker-1").heartbeat_interval_ms > 0  # connects to the first
        kill(replicas[0])
        for _ in range(5):
            assert rt.heartbeat("worker-1").heartbeat_interval_ms > 0
            assert rt.get_worker("worker-1").state == "ACTIVE"
    # Every call whose turn was the dead replica's moved on at once.
    assert no_backoff == []
    assert served(replicas[1], "Heartbeat") + served(replicas[1], "GetWorker") == 10


def test_a_call_is_unavailable_once_every_replica_failed_it_in_every_round(no_backoff: list[float]) -> None:
    """Two replicas, three rounds: six attempts, alternating, and a backoff
    wait after each round but the last."""
    tried: list[int] = []
    with Runtime([closed_port_address(), closed_port_address()], retry=RetryPolicy(max_attempts=3)) as rt:
        for index, stub in enumerate(rt._channel.stubs):
            stub.Heartbeat = recording(stub.Heartbeat, tried, index)
        with pytest.raises(PulseError) as caught:
            rt.heartbeat("worker-1")
    assert caught.value.code == "UNAVAILABLE"
    assert tried == [0, 1, 0, 1, 0, 1]
    assert len(no_backoff) == 2


def recording(method: Any, tried: list[int], index: int) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        tried.append(index)
        return method(*args, **kwargs)

    return call


class KillOnFirstWrite(io.BytesIO):
    """Kills a replica when the load hands over its first verified chunk: the
    window under way (32 MiB) is then cut after 8 MiB."""

    def __init__(self, replica: RuntimeProcess) -> None:
        super().__init__()
        self.replica = replica

    def write(self, data: Any) -> int:
        if self.replica.process.poll() is None:
            kill(self.replica)
        return super().write(data)


def test_a_load_whose_replica_is_killed_resumes_on_another_byte_exact(
    start: StartReplica, s3rver: S3rverProcess
) -> None:
    """36 MiB and a byte: two windows from the start, one from 8 MiB on. The
    description comes from the first replica (its turn), the windows from the
    second, which is killed once the first chunk is through: the first
    replica serves the rest, from where the bytes stopped, in one window."""
    env = s3rver.runtime_env(f"load-{uuid.uuid4().hex[:8]}/")
    replicas = [start(env), start(env)]
    register_on_each(replicas, "worker-1")
    data = bytes(range(256)) * ((LOAD_WINDOW_BYTES + 4 * MIB) // 256) + b"!"
    with Runtime(replicas[0].address) as own:
        checkpoint_id = own.save_checkpoint("worker-1", data)
    loads_before = served(replicas[0], "LoadCheckpoint")

    target = KillOnFirstWrite(replicas[1])
    # The stream path: on s3rver the direct path would bring the bytes from the bucket.
    with Runtime([replica.address for replica in replicas], direct_transfer=False) as rt:
        checkpoint = rt.load_checkpoint_to("worker-1", target, checkpoint_id)

    assert checkpoint.checkpoint_id == checkpoint_id
    assert replicas[1].process.returncode is not None
    assert target.getvalue() == data
    # One window from the survivor: the cut one, resumed (two if it had served all).
    assert served(replicas[0], "LoadCheckpoint") - loads_before == 1


class KillAfterReading(io.BytesIO):
    """A seekable source that kills a replica once ``after`` bytes are read, and counts its rewinds."""

    def __init__(self, data: bytes, replica: RuntimeProcess, after: int) -> None:
        super().__init__(data)
        self.replica = replica
        self.after = after
        self.rewinds = 0

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self.after and self.replica.process.poll() is None:
            kill(self.replica)
        return super().read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        self.rewinds += 1
        return super().seek(offset, whence)


def test_a_save_whose_replica_is_killed_is_sent_again_to_another_under_its_key(
    start: StartReplica, s3rver: S3rverProcess
) -> None:
    env = s3rver.runtime_env(f"save-{uuid.uuid4().hex[:8]}/")
    replicas = [start(env), start(env)]
    register_on_each(replicas, "worker-1")
    data = bytes(range(256)) * (3 * CHUNK_BYTES // 256) + b"tail"
    source = KillAfterReading(data, replicas[0], after=CHUNK_BYTES + MIB)

    with Runtime([replica.address for replica in replicas], direct_transfer=False) as rt:
        checkpoint_id = rt.save_checkpoint_stream("worker-1", source, idempotency_key="step-7")
        assert rt.load_checkpoint("worker-1", checkpoint_id) == data

    assert replicas[0].process.returncode is not None  # killed mid-save
    assert source.rewinds == 1
    with Runtime(replicas[1].address) as own:
        saved = list(own.list_checkpoints("worker-1"))
    assert [(c.checkpoint_id, c.idempotency_key, c.size_bytes) for c in saved] == [
        (checkpoint_id, "step-7", len(data))
    ]


def test_a_direct_save_and_load_outlive_the_replica_that_planned_them(
    start: StartReplica, s3rver: S3rverProcess
) -> None:
    """The direct path on s3rver: the replica whose turn it is plans the first
    chunk and is killed while the second is read; the rest of the plan (the
    same plan id: its lease is in the bucket) and the commit go to the other
    under the save's key. A load planned by one replica, killed at the first
    chunk written, goes on from the bucket without it."""
    env = s3rver.runtime_env(f"direct-{uuid.uuid4().hex[:8]}/")
    replicas = [start(env), start(env)]
    register_on_each(replicas, "worker-1")
    data = bytes(range(256)) * (3 * CHUNK_BYTES // 256) + b"tail"
    with Runtime([replica.address for replica in replicas]) as rt:
        source = KillAfterReading(data, replicas[0], after=CHUNK_BYTES + MIB)
        checkpoint_id = rt.save_checkpoint_stream("worker-1", source, idempotency_key="step-8")
        assert replicas[0].process.returncode is not None  # killed mid-save
        target = KillOnFirstWrite(replicas[1])
        with Runtime(replicas[1].address) as own:
            saved = list(own.list_checkpoints("worker-1"))
            assert [(c.checkpoint_id, c.idempotency_key, c.size_bytes) for c in saved] == [
                (checkpoint_id, "step-8", len(data))
            ]
            own.load_checkpoint_to("worker-1", target, checkpoint_id)
        assert replicas[1].process.returncode is not None  # killed mid-load
        assert target.getvalue() == data


def test_a_name_that_resolves_to_several_addresses_is_used_round_robin(
    start: StartReplica, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pulse.test`` resolves to 127.0.0.1 and 127.0.0.2, where two replicas
    listen on one port. The SDK's target is ``dns:///pulse.test:<port>``; the
    test names its DNS server in it (``dns://<server>/...``), all else is the
    SDK's channel. Once both are connected, calls alternate; after one is
    killed, the other takes them all."""
    first = start()
    port = first.grpc_address.rsplit(":", 1)[1]
    second = start(grpc_addr=f"127.0.0.2:{port}")
    dns = FakeDns("pulse.test", ["127.0.0.1", "127.0.0.2"])
    real_connection_of = pulse._channel.connection_of

    def connection_of(address: str, tls: TlsOptions | None) -> Connection:
        connection = real_connection_of(address, tls)
        target = connection.target.replace("dns:///", f"dns://{dns.authority}/")
        return Connection(target=target, credentials=connection.credentials, options=connection.options)

    monkeypatch.setattr(pulse._channel, "connection_of", connection_of)
    try:
        with Runtime(f"grpc://pulse.test:{port}") as rt:
            connect_both(rt, [first, second])
            before = [served(replica, "RegisterWorker") for replica in (first, second)]
            for index in range(10):
                rt.register_worker(f"worker-{index}")
            after = [served(replica, "RegisterWorker") for replica in (first, second)]
            assert [a - b for a, b in zip(after, before)] == [5, 5]
            kill(first)
            for index in range(10):
                rt.register_worker(f"after-{index}")
        assert [worker for worker in workers_of(second) if worker.startswith("after-")] == [
            f"after-{index}" for index in range(10)
        ]
    finally:
        dns.close()
    assert "pulse.test/1" in dns.questions


def connect_both(rt: Runtime, replicas: list[RuntimeProcess]) -> None:
    """Registers one worker again and again until both replicas have answered
    (round robin sends calls to the connected addresses only, and the second
    may connect a moment after the first)."""
    for _ in range(200):
        rt.register_worker("connect")
        if all("connect" in workers_of(replica) for replica in replicas):
            return
    raise AssertionError("the calls never reached both addresses")


def test_tls_and_the_token_apply_to_every_address(tmp_path: Path) -> None:
    """Two TLS replicas with one CA and a token each demands: both answer."""
    token = "replica-token-1"
    config = f'[[auth.tokens]]\nname = "ops"\nsha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\nrole = "admin"\n'
    first_dir = runtime_dir(tmp_path / "tls-first", config)
    second_dir = tmp_path / "tls-second"
    shutil.copytree(first_dir, second_dir)
    replicas = [start_runtime(directory, TLS_ENV) for directory in (first_dir, second_dir)]
    try:
        addresses = [replica.address.replace("grpc://", "grpcs://") for replica in replicas]
        with Runtime(addresses, tls=TlsOptions(ca=pem(first_dir, "ca.pem")), token=token) as rt:
            rt.register_worker("worker-0")
            rt.register_worker("worker-1")
        assert [served(replica, "RegisterWorker") for replica in replicas] == [1, 1]
    finally:
        for replica in replicas:
            replica.stop()


def test_no_address_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no address"):
        Runtime([])
    with pytest.raises(ValueError, match="grpc://host:port"):
        Runtime(["grpc://127.0.0.1:1", "http://127.0.0.1:2"])
    with Runtime(["grpc://a:1", "grpc://b:2"]) as rt:
        assert repr(rt) == "Runtime(['grpc://a:1', 'grpc://b:2'])"
        assert rt.address == "grpc://a:1"
