"""The direct path of the Python SDK against real runtimes on real S3 servers
(those of PULSE_TEST_S3_SERVERS, scripts/ci_s3_servers.sh: moto and SeaweedFS;
s3rver without it): checkpoint bytes go between the SDK and the bucket, which
the runtime's own byte counters by path show (``path="direct"`` grows,
``path="stream"`` does not), and what is saved loads byte-exact through both
paths. Faults are injected by :class:`~s3_servers.FaultProxy`, a tiny HTTP
proxy named as the runtime's ``storage.public_endpoint``, so the SDK's
presigned requests pass through it: changed PUT and GET bodies, 503s, a PUT
held past its URL's expiry. Servers differ: SeaweedFS refuses a body that
does not match the signed SHA-256 (BadDigest), moto stores it and the
runtime's commit refuses it; both end in DATA_LOSS for the caller.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import socket
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pulse import CHUNK_BYTES, PulseError, RetryPolicy, Runtime
from pulse._direct_transfer import BucketHttp, TransferFailure
from pulse._generated import pulse_pb2 as pb
from runtime_process import RuntimeProcess, start_runtime
from s3_servers import FaultProxy, S3Server, configured_servers, metric_sum
from s3rver_process import start_s3rver
from test_retries import LostAnswer

MIB = 1024 * 1024
_SERVERS = configured_servers()


def _server_ids() -> list[str]:
    return [server.name for server in _SERVERS] or ["s3rver"]


@pytest.fixture(scope="module", params=_server_ids())
def s3_server(request: pytest.FixtureRequest) -> Iterator[S3Server]:
    """Each S3 server of the suite in turn."""
    if _SERVERS:
        yield next(server for server in _SERVERS if server.name == request.param)
        return
    s3rver = start_s3rver()
    yield S3Server("s3rver", s3rver.endpoint, s3rver.bucket)
    s3rver.stop()


@pytest.fixture
def start_s3_runtime(s3_server: S3Server, tmp_path: Path) -> Iterator[Callable[..., RuntimeProcess]]:
    """Starts runtimes on ``s3_server``, each under a prefix of its own; stops them after the test."""
    started: list[RuntimeProcess] = []

    def start(**extra: str) -> RuntimeProcess:
        directory = tmp_path / f"runtime-{len(started)}"
        directory.mkdir()
        runtime = start_runtime(directory, s3_server.runtime_env("direct", **extra))
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        assert runtime.stop() == 0, "\n".join(runtime.logs[-30:])


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    """A fault proxy in front of the server, forwarding unchanged until told otherwise."""
    fault = FaultProxy(s3_server.endpoint)
    fault.start()
    yield fault
    fault.stop()


def bytes_by_path(runtime: RuntimeProcess) -> dict[str, float]:
    """The runtime's checkpoint bytes counters: ``save/direct``, ``load/stream``, ..."""
    return {
        f"{operation}/{path}": metric_sum(
            runtime.metrics_address, "pulse_checkpoint_bytes_total", operation=operation, path=path
        )
        for operation in ("save", "load")
        for path in ("direct", "stream")
    }


def registered(rt: Runtime) -> str:
    worker = f"worker-{uuid.uuid4().hex[:12]}"
    rt.register_worker(worker)
    return worker


class Pipe(io.RawIOBase):
    """A binary reader that cannot seek, giving ``data`` in reads of at most 1 MiB."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = min(size if size >= 0 else len(self._data), MIB)
        piece = bytes(self._data[self._at : self._at + size])
        self._at += len(piece)
        return piece


def test_bytes_saved_directly_bypass_the_runtime_and_load_byte_exact_through_both_paths(
    start_s3_runtime: Callable[..., RuntimeProcess],
) -> None:
    runtime = start_s3_runtime()
    data = os.urandom(2 * CHUNK_BYTES + 12345)
    with Runtime(runtime.address) as rt, Runtime(runtime.address, direct_transfer=False) as stream:
        worker = registered(rt)
        before = bytes_by_path(runtime)
        checkpoint_id = rt.save_checkpoint(worker, data, metadata={"epoch": 1})
        saved = bytes_by_path(runtime)
        assert saved["save/direct"] - before["save/direct"] == len(data)
        assert saved["save/stream"] == before["save/stream"]
        assert rt.get_checkpoint(worker, checkpoint_id).sha256 == hashlib.sha256(data).hexdigest()

        assert rt.load_checkpoint(worker, checkpoint_id) == data
        loaded = bytes_by_path(runtime)
        assert loaded["load/direct"] - saved["load/direct"] == len(data)
        assert loaded["load/stream"] == saved["load/stream"]

        assert stream.load_checkpoint(worker, checkpoint_id) == data
        assert bytes_by_path(runtime)["load/stream"] - loaded["load/stream"] == len(data)


def test_files_seekable_or_not_save_directly_and_load_into_a_file(
    start_s3_runtime: Callable[..., RuntimeProcess], tmp_path: Path
) -> None:
    runtime = start_s3_runtime()
    data = os.urandom(3 * CHUNK_BYTES + 7)
    source = tmp_path / "state.bin"
    source.write_bytes(b"header" + data)
    with Runtime(runtime.address, parallelism=2) as rt:
        worker = registered(rt)
        with source.open("rb") as file:
            file.seek(len(b"header"))
            from_file = rt.save_checkpoint_stream(worker, file)
            assert file.tell() == len(b"header") + len(data)  # as after a stream save: at the end
        from_bytes_io = rt.save_checkpoint_stream(worker, io.BytesIO(data))
        from_pipe = rt.save_checkpoint_stream(worker, Pipe(data))
        assert bytes_by_path(runtime)["save/stream"] == 0
        for checkpoint_id in (from_file, from_bytes_io, from_pipe):
            target = tmp_path / f"{checkpoint_id}.bin"
            with target.open("wb") as file:
                checkpoint = rt.load_checkpoint_to(worker, file, checkpoint_id)
            assert checkpoint.size_bytes == len(data)
            assert target.read_bytes() == data
        assert bytes_by_path(runtime)["load/stream"] == 0


def test_a_second_save_of_the_same_bytes_uploads_nothing_and_an_incremental_one_only_what_changed(
    start_s3_runtime: Callable[..., RuntimeProcess], proxy: FaultProxy
) -> None:
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=proxy.start())
    data = os.urandom(3 * CHUNK_BYTES)
    with Runtime(runtime.address) as rt:
        worker = registered(rt)
        first = rt.save_checkpoint(worker, data)
        assert proxy.count("PUT") == 3
        second = rt.save_checkpoint(worker, data)
        assert second != first
        assert proxy.count("PUT") == 3, "the store had every chunk: nothing uploaded"
        changed = bytearray(data)
        changed[CHUNK_BYTES + 1] ^= 0xFF
        third = rt.save_checkpoint(worker, bytes(changed), incremental=True)
        assert proxy.count("PUT") == 4
        assert rt.load_checkpoint(worker, second) == data
        assert rt.load_checkpoint(worker, third) == changed


def test_a_tampered_upload_is_refused_and_nothing_is_visible(
    start_s3_runtime: Callable[..., RuntimeProcess], proxy: FaultProxy, no_backoff: list[float]
) -> None:
    """SeaweedFS answers the changed body 400 BadDigest (the SDK's DATA_LOSS);
    moto stores it, and the runtime's commit finds it and refuses (DATA_LOSS)."""
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=proxy.start())
    proxy.tamper_puts = True
    with Runtime(runtime.address) as rt:
        worker = registered(rt)
        with pytest.raises(PulseError) as raised:
            rt.save_checkpoint(worker, os.urandom(CHUNK_BYTES + 10))
        assert raised.value.code == "DATA_LOSS", raised.value
        assert "chunk" in raised.value.message
        assert list(rt.list_checkpoints(worker)) == []


def test_a_chunk_rotten_in_the_store_is_removed_by_the_commit_and_uploaded_again(
    start_s3_runtime: Callable[..., RuntimeProcess], s3_server: S3Server
) -> None:
    """Other bytes are PUT under the first chunk's name through a plan that is
    never committed (a server that checks checksums refuses them: skipped
    there). The save that follows is told the store has the chunk, its commit
    reads it back, removes it and fails with DATA_LOSS; the SDK plans again,
    uploads it, and commits."""
    runtime = start_s3_runtime()
    data = os.urandom(CHUNK_BYTES + 10)
    chunk = data[:CHUNK_BYTES]
    with Runtime(runtime.address) as rt:
        worker = registered(rt)
        ref = pb.ChunkRef(sha256=hashlib.sha256(chunk).hexdigest(), size=CHUNK_BYTES)
        plan = rt._channel.stubs[0].PlanSave(pb.PlanSaveRequest(worker_id=worker, chunks=[ref]))
        rotten = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
        try:
            BucketHttp().put(plan.uploads[0].url, dict(plan.uploads[0].headers), memoryview(rotten))
        except TransferFailure as refused:
            pytest.skip(f"{s3_server.name} refuses bytes that do not match the signed checksum ({refused})")

        checkpoint_id = rt.save_checkpoint(worker, data)
        assert rt.load_checkpoint(worker, checkpoint_id) == data
    errors = metric_sum(runtime.metrics_address, "pulse_checkpoints_total", outcome="error", path="direct")
    assert errors == 1, "the first commit found the rotten chunk"


def test_a_chunk_changed_on_its_way_from_the_bucket_fails_the_load_with_data_loss_naming_it(
    start_s3_runtime: Callable[..., RuntimeProcess], proxy: FaultProxy
) -> None:
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=proxy.start())
    data = os.urandom(2 * CHUNK_BYTES)
    with Runtime(runtime.address, parallelism=1) as rt:
        worker = registered(rt)
        checkpoint_id = rt.save_checkpoint(worker, data)
        proxy.tamper_gets = True
        target = io.BytesIO()
        with pytest.raises(PulseError) as raised:
            rt.load_checkpoint_to(worker, target, checkpoint_id)
        assert raised.value.code == "DATA_LOSS"
        assert f"Cannot load checkpoint {checkpoint_id}: chunk 0 of 2 (from byte 0)" in raised.value.message
        assert target.getvalue() == b"", "no byte of a chunk that fails its check is written"


def test_failed_transfers_are_retried_with_backoff_and_full_jitter(
    start_s3_runtime: Callable[..., RuntimeProcess], proxy: FaultProxy, no_backoff: list[float]
) -> None:
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=proxy.start())
    data = os.urandom(CHUNK_BYTES + 1)
    with Runtime(runtime.address, parallelism=1) as rt:
        worker = registered(rt)
        proxy.fail_first = 2
        checkpoint_id = rt.save_checkpoint(worker, data)
        proxy.fail_first = 2
        assert rt.load_checkpoint(worker, checkpoint_id) == data
    assert proxy.count("PUT", 503) == 2 and proxy.count("GET", 503) == 2
    assert len(no_backoff) == 4
    # Full jitter: from 0 to 100 ms after the first failure, to 200 ms after the second.
    assert 0 <= no_backoff[0] <= 0.1 and 0 <= no_backoff[1] <= 0.2
    assert bytes_by_path(runtime)["save/stream"] == 0


def test_a_save_and_a_load_complete_byte_exact_when_a_fifth_of_transfers_fail(
    start_s3_runtime: Callable[..., RuntimeProcess], proxy: FaultProxy, no_backoff: list[float]
) -> None:
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=proxy.start())
    data = os.urandom(10 * CHUNK_BYTES + 99)
    proxy.fail_ratio = 0.2
    with Runtime(runtime.address, retry=RetryPolicy(max_attempts=8)) as rt:
        worker = registered(rt)
        checkpoint_id = rt.save_checkpoint(worker, data)
        assert rt.load_checkpoint(worker, checkpoint_id) == data
    assert proxy.count("PUT", 200) == 11 and proxy.count("GET", 200) == 11
    assert proxy.count("PUT", 503) + proxy.count("GET", 503) > 0
    assert bytes_by_path(runtime)["save/stream"] == 0


def test_a_commit_whose_answer_was_lost_is_sent_again_under_the_same_key_and_makes_one_checkpoint(
    start_s3_runtime: Callable[..., RuntimeProcess], proxy: FaultProxy, no_backoff: list[float]
) -> None:
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=proxy.start())
    data = os.urandom(CHUNK_BYTES + 2)
    with Runtime(runtime.address) as rt:
        worker = registered(rt)
        real = rt._channel.stubs[0].SaveCheckpoint
        keys: list[str] = []

        def commit_then_lose_answer(requests: Iterator[pb.SaveCheckpointRequest], **kwargs: Any) -> Any:
            sent = list(requests)
            keys.append(sent[0].header.idempotency_key)
            assert sent[0].header.plan_id and all(r.WhichOneof("payload") != "data" for r in sent)
            answer = real(iter(sent), **kwargs)
            if len(keys) == 1:
                raise LostAnswer()
            return answer

        rt._channel.stubs[0].SaveCheckpoint = commit_then_lose_answer
        checkpoint_id = rt.save_checkpoint(worker, data)
        assert len(keys) == 2 and keys[0] == keys[1]
        assert [c.checkpoint_id for c in rt.list_checkpoints(worker)] == [checkpoint_id]
        assert rt.load_checkpoint(worker) == data
    assert proxy.count("PUT") == 2, "the retry uploads nothing again"


def test_a_url_that_expired_is_planned_again(
    start_s3_runtime: Callable[..., RuntimeProcess], proxy: FaultProxy, s3_server: S3Server
) -> None:
    if s3_server.name != "seaweedfs":
        pytest.skip("only SeaweedFS among the test servers refuses expired URLs")
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=proxy.start(), PULSE_PRESIGN_EXPIRY_MS="1000")
    proxy.delay_first_put_s = 2.5
    data = os.urandom(1000)
    with Runtime(runtime.address) as rt:
        worker = registered(rt)
        checkpoint_id = rt.save_checkpoint(worker, data)
        assert rt.load_checkpoint(worker, checkpoint_id) == data
    assert proxy.count("PUT", 403) == 1 and proxy.count("PUT", 200) == 1


def test_a_bucket_that_refuses_connections_sends_saves_and_loads_through_the_stream_path_logged_once(
    start_s3_runtime: Callable[..., RuntimeProcess], caplog: pytest.LogCaptureFixture, no_backoff: list[float]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    runtime = start_s3_runtime(PULSE_S3_PUBLIC_ENDPOINT=closed)
    data = os.urandom(CHUNK_BYTES + 5)
    with caplog.at_level(logging.WARNING, logger="pulse"), Runtime(runtime.address) as rt:
        worker = registered(rt)
        first = rt.save_checkpoint(worker, data)
        second = rt.save_checkpoint_stream(worker, Pipe(data))
        assert rt.load_checkpoint(worker, first) == data
        assert rt.load_checkpoint(worker, second) == data
    counted = bytes_by_path(runtime)
    assert counted["save/direct"] == 0 and counted["save/stream"] == 2 * len(data)
    assert counted["load/stream"] == 2 * len(data)
    warnings = [record.getMessage() for record in caplog.records if record.name == "pulse"]
    assert len(warnings) == 1, warnings
    assert "the bucket is not reachable from here" in warnings[0] and closed in warnings[0]
    assert "X-Amz-Signature" not in warnings[0], "a presigned URL is never logged"


def test_a_runtime_that_offers_no_direct_path_gets_the_bytes_through_the_stream_path(
    address: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The session's runtime stores on the fs store: FAILED_PRECONDITION, then
    the stream path, with the bytes already read passed on (a pipe is read once)."""
    data = os.urandom(CHUNK_BYTES + 3)
    with caplog.at_level(logging.WARNING, logger="pulse"), Runtime(address) as rt:
        worker = registered(rt)
        from_pipe = rt.save_checkpoint_stream(worker, Pipe(data), incremental=True)
        from_bytes = rt.save_checkpoint(worker, data)
        assert rt.load_checkpoint(worker, from_pipe) == data
        assert rt.load_checkpoint(worker, from_bytes) == data
    warnings = [record.getMessage() for record in caplog.records if record.name == "pulse"]
    assert len(warnings) == 1 and "offers no direct path (FAILED_PRECONDITION" in warnings[0], warnings


def test_direct_transfer_false_sends_every_byte_through_the_runtime(
    start_s3_runtime: Callable[..., RuntimeProcess],
) -> None:
    runtime = start_s3_runtime()
    data = os.urandom(MIB)
    with Runtime(runtime.address, direct_transfer=False) as rt:
        worker = registered(rt)
        assert rt.load_checkpoint(worker, rt.save_checkpoint(worker, data)) == data
    counted = bytes_by_path(runtime)
    assert counted["save/direct"] == counted["load/direct"] == 0
    assert counted["save/stream"] == counted["load/stream"] == len(data)


def test_a_save_from_a_pipe_holds_at_most_parallelism_plus_one_chunks(
    start_s3_runtime: Callable[..., RuntimeProcess],
) -> None:
    """tracemalloc sees the SDK's allocations while 12 chunks go from a pipe
    to the bucket with parallelism 2: at most 3 chunks (24 MiB), the 1 MiB
    piece being read and the SDK's small objects at any time; a fourth chunk
    would be 32 MiB, and the whole 96 MiB."""
    runtime = start_s3_runtime()
    data = os.urandom(12 * CHUNK_BYTES)
    with Runtime(runtime.address, parallelism=2) as rt:
        worker = registered(rt)
        rt.save_checkpoint(worker, b"warm up")  # the first plan and connections, outside the measure
        pipe = Pipe(data)
        tracemalloc.start()
        try:
            checkpoint_id = rt.save_checkpoint_stream(worker, pipe)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak <= 3 * CHUNK_BYTES + 3 * MIB, f"peak {peak / MIB:.1f} MiB"
        assert rt.load_checkpoint(worker, checkpoint_id) == data


def test_parallelism_out_of_its_range_is_refused() -> None:
    for parallelism in (0, 65):
        with pytest.raises(ValueError, match=f"parallelism is {parallelism}, allowed is 1 to 64"):
            Runtime("grpc://127.0.0.1:1", parallelism=parallelism)
