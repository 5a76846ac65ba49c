"""Incremental saves against a real runtime: with ``incremental=True`` the SDK
sends only the 8 MiB chunks the worker's latest checkpoint lacks and names the
others, the runtime takes those from the base, and every checkpoint loads back
byte-exact. The bytes that crossed the wire are read from the runtime's own
Prometheus counters, as tests/integration/incremental_save_test.ts does.

Every save also ends with a trailer of its size and chunk list's SHA-256 (and no
whole-stream SHA-256), which the runtime checks: the recorded messages show it."""

from __future__ import annotations

import hashlib
import io
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from pulse import CHUNK_BYTES, MESSAGE_BYTES, Runtime
from pulse._generated import pulse_pb2 as pb
from runtime_process import RuntimeProcess
from test_checkpoints import pattern_bytes
from test_retries import closed_port_address

MIB = 1024 * 1024
# Four chunks, the last one short.
SIZE = 3 * CHUNK_BYTES + 1000
METRIC_LINE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")


def metric_sum(runtime: RuntimeProcess, name: str, **labels: str) -> float:
    """The sum of a metric's samples that have these labels, from /metrics."""
    with urllib.request.urlopen(f"http://{runtime.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    total = 0.0
    for line in text.splitlines():
        match = METRIC_LINE.match(line)
        if match is None or match[1] != name:
            continue
        if all(f'{key}="{value}"' in (match[2] or "") for key, value in labels.items()):
            total += float(match[3])
    return total


class Counters:
    """Bytes that arrived in data messages, and chunks taken from a base by name,
    since this was made."""

    def __init__(self, runtime: RuntimeProcess) -> None:
        self.runtime = runtime
        self.start = self.now()

    def now(self) -> tuple[float, float]:
        return (
            metric_sum(self.runtime, "pulse_checkpoint_bytes_total", operation="save"),
            metric_sum(self.runtime, "pulse_chunks_total", result="named"),
        )

    def delta(self) -> tuple[int, int]:
        """(bytes received, chunks named) since this was made."""
        received, named = self.now()
        return int(received - self.start[0]), int(named - self.start[1])


def changed(data: bytes, *offsets: int) -> bytes:
    """``data`` with the byte at each offset inverted."""
    copy = bytearray(data)
    for offset in offsets:
        copy[offset] ^= 0xFF
    return bytes(copy)


def chunk_sha256s(data: bytes) -> list[str]:
    return [hashlib.sha256(data[n : n + CHUNK_BYTES]).hexdigest() for n in range(0, len(data), CHUNK_BYTES)]


class PieceReader(io.RawIOBase):
    """A binary file whose reads stop at the ends of its pieces of ``piece`` bytes
    (short reads), so that the pieces the SDK gets straddle chunk boundaries."""

    def __init__(self, data: bytes, piece: int) -> None:
        self.data = data
        self.piece = piece
        self.offset = 0
        self.sizes: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        piece_end = (self.offset // self.piece + 1) * self.piece
        end = min(self.offset + size, piece_end, len(self.data))
        result = self.data[self.offset : end]
        self.offset = end
        self.sizes.append(len(result))
        return result


class RecordedSaves:
    """Records the messages of every SaveCheckpoint call a client makes (and how
    many GetCheckpoint calls), passing them on unchanged; ``dead`` attempts go to
    an address where nothing listens, so they fail with a real UNAVAILABLE."""

    def __init__(self, rt: Runtime, dead: int = 0) -> None:
        self.calls: list[list[pb.SaveCheckpointRequest]] = []
        self.gets: list[pb.GetCheckpointRequest] = []
        self.dead = dead
        self._dead_rt = Runtime(closed_port_address()) if dead else None
        self._real = rt._channel.stubs[0].SaveCheckpoint
        real_get = rt._channel.stubs[0].GetCheckpoint

        def get(request: pb.GetCheckpointRequest, *args: Any, **kwargs: Any) -> Any:
            self.gets.append(request)
            return real_get(request, *args, **kwargs)

        rt._channel.stubs[0].SaveCheckpoint = self
        rt._channel.stubs[0].GetCheckpoint = get

    def future(self, requests: Iterator[pb.SaveCheckpointRequest], **kwargs: Any) -> Any:
        recorded: list[pb.SaveCheckpointRequest] = []
        self.calls.append(recorded)

        def passed_on() -> Iterator[pb.SaveCheckpointRequest]:
            for request in requests:
                recorded.append(request)
                yield request

        if len(self.calls) <= self.dead:
            assert self._dead_rt is not None
            return self._dead_rt._channel.stubs[0].SaveCheckpoint.future(passed_on(), **kwargs)
        return self._real.future(passed_on(), **kwargs)

    def close(self) -> None:
        if self._dead_rt is not None:
            self._dead_rt.close()


def summary(requests: list[pb.SaveCheckpointRequest]) -> list[tuple[str, Any]]:
    """Each message as (kind, what): data as its length, names and trailers as they are."""
    result: list[tuple[str, Any]] = []
    for request in requests:
        kind = request.WhichOneof("payload")
        if kind == "data":
            result.append(("data", len(request.data)))
        elif kind == "chunk_sha256":
            result.append(("name", request.chunk_sha256))
        elif kind == "trailer":
            trailer = request.trailer
            result.append(("trailer", (trailer.size_bytes, trailer.sha256, trailer.chunks_sha256)))
        else:
            result.append((kind, request.header.base_checkpoint_id))
    return result


def chunks_sha256(data: bytes) -> str:
    return hashlib.sha256("".join(f"{sha}\n" for sha in chunk_sha256s(data)).encode()).hexdigest()


@pytest.fixture
def first(rt: Runtime, worker_id: str) -> tuple[str, bytes]:
    """A whole (non-incremental) checkpoint of four chunks: its id and bytes."""
    data = pattern_bytes(SIZE, seed=41)
    return rt.save_checkpoint(worker_id, data), data


def test_an_incremental_save_sends_only_the_changed_chunk(
    rt: Runtime, worker_id: str, runtime_process: RuntimeProcess, first: tuple[str, bytes]
) -> None:
    base_id, base_data = first
    second = bytearray(changed(base_data, CHUNK_BYTES + 5))
    counters = Counters(runtime_process)
    recorded = RecordedSaves(rt)
    saved = rt.save_checkpoint(worker_id, second, metadata={"step": 2}, incremental=True)
    assert counters.delta() == (CHUNK_BYTES, 3)

    # The worker's latest was asked for with its chunks; chunks 0, 2 and 3 are named.
    assert [(g.worker_id, g.checkpoint_id, g.include_chunks) for g in recorded.gets] == [(worker_id, "", True)]
    hashes = chunk_sha256s(bytes(second))
    assert summary(recorded.calls[0]) == [
        ("header", base_id),
        ("name", hashes[0]),
        *[("data", MESSAGE_BYTES)] * (CHUNK_BYTES // MESSAGE_BYTES),
        ("name", hashes[2]),
        ("name", hashes[3]),
        ("trailer", (SIZE, "", chunks_sha256(bytes(second)))),
    ]
    # The save let go of the caller's buffer: it can grow again.
    second.append(0)
    second.pop()

    checkpoint = rt.get_checkpoint(worker_id, saved)
    assert checkpoint.size_bytes == SIZE
    assert checkpoint.sha256 == hashlib.sha256(second).hexdigest()
    assert checkpoint.metadata == {"step": 2}
    assert rt.load_checkpoint(worker_id, saved) == second
    # The base is unharmed.
    assert rt.load_checkpoint(worker_id, base_id) == base_data

    # The same bytes again: nothing crosses the wire, the short last chunk is named too.
    counters = Counters(runtime_process)
    again = rt.save_checkpoint(worker_id, second, incremental=True)
    assert counters.delta() == (0, 4)
    assert again != saved
    assert rt.load_checkpoint(worker_id) == second


def test_an_incremental_save_from_a_stream_of_unaligned_pieces(
    rt: Runtime, worker_id: str, runtime_process: RuntimeProcess, first: tuple[str, bytes]
) -> None:
    """Pieces of 3 MiB + 7 bytes (read in 1 MiB reads cut short at their ends)
    straddle every chunk boundary; the changed chunks 1 and 3 are sent whole, in
    messages of at most 1 MiB, and chunks 0 and 2 are named."""
    base_id, base_data = first
    second = changed(base_data, CHUNK_BYTES, SIZE - 1)
    reader = PieceReader(second, 3 * MIB + 7)
    counters = Counters(runtime_process)
    recorded = RecordedSaves(rt)
    saved = rt.save_checkpoint_stream(worker_id, reader, incremental=True)
    assert counters.delta() == (CHUNK_BYTES + 1000, 2)
    assert max(reader.sizes) == MESSAGE_BYTES and 7 in reader.sizes

    messages = summary(recorded.calls[0])
    assert messages[0] == ("header", base_id)
    assert messages[-1] == ("trailer", (SIZE, "", chunks_sha256(second)))
    hashes = chunk_sha256s(second)
    assert [what for kind, what in messages if kind == "name"] == [hashes[0], hashes[2]]
    assert all(0 < what <= MESSAGE_BYTES for kind, what in messages if kind == "data")
    assert sum(what for kind, what in messages if kind == "data") == CHUNK_BYTES + 1000

    checkpoint = rt.get_checkpoint(worker_id)
    assert checkpoint.checkpoint_id == saved
    assert checkpoint.sha256 == hashlib.sha256(second).hexdigest()
    assert rt.load_checkpoint(worker_id) == second
    assert rt.load_checkpoint(worker_id, base_id) == base_data


def test_an_incremental_save_without_a_previous_checkpoint_sends_every_byte(
    rt: Runtime, worker_id: str, runtime_process: RuntimeProcess
) -> None:
    data = pattern_bytes(CHUNK_BYTES + 10, seed=43)
    counters = Counters(runtime_process)
    recorded = RecordedSaves(rt)
    saved = rt.save_checkpoint(worker_id, data, incremental=True)
    assert counters.delta() == (len(data), 0)
    assert len(recorded.gets) == 1  # answered NOT_FOUND
    assert summary(recorded.calls[0])[0] == ("header", "")
    assert rt.get_checkpoint(worker_id, saved).sha256 == hashlib.sha256(data).hexdigest()
    assert rt.load_checkpoint(worker_id) == data

    # A stream too; then an empty incremental save, of a worker whose latest is not empty.
    counters = Counters(runtime_process)
    other = pattern_bytes(2 * MIB + 3, seed=44)
    empty_worker = f"{worker_id}-s"
    rt.register_worker(empty_worker)
    rt.save_checkpoint_stream(empty_worker, io.BytesIO(other), incremental=True)
    assert counters.delta() == (len(other), 0)
    assert rt.load_checkpoint(empty_worker) == other
    empty = rt.save_checkpoint(empty_worker, b"", incremental=True)
    assert rt.get_checkpoint(empty_worker, empty).sha256 == hashlib.sha256(b"").hexdigest()
    assert rt.load_checkpoint(empty_worker) == b""


def test_a_normal_save_sends_every_byte_with_a_chunk_list_trailer(
    rt: Runtime, worker_id: str, runtime_process: RuntimeProcess, first: tuple[str, bytes]
) -> None:
    """Without ``incremental`` nothing is named even when the latest checkpoint has
    the same chunks, no GetCheckpoint is made, and the trailer carries the size
    and the chunk list's SHA-256, which the runtime accepts."""
    _, data = first
    counters = Counters(runtime_process)
    recorded = RecordedSaves(rt)
    saved = rt.save_checkpoint(worker_id, data)
    assert counters.delta() == (SIZE, 0)
    assert recorded.gets == []
    messages = summary(recorded.calls[0])
    assert messages[0] == ("header", "")
    assert messages[-1] == ("trailer", (SIZE, "", chunks_sha256(data)))
    assert all(kind == "data" and what == MESSAGE_BYTES for kind, what in messages[1:-2])
    assert rt.load_checkpoint(worker_id, saved) == data


def test_retries_of_an_incremental_save_reuse_its_base(
    rt: Runtime, worker_id: str, runtime_process: RuntimeProcess, first: tuple[str, bytes], no_backoff: list[float]
) -> None:
    """The first attempt meets a real UNAVAILABLE; the second has the same header
    (key and base) and names the same chunks, and GetCheckpoint is called once."""
    base_id, base_data = first
    second = changed(base_data, 0)
    recorded = RecordedSaves(rt, dead=1)
    try:
        counters = Counters(runtime_process)
        saved = rt.save_checkpoint(worker_id, second, incremental=True)
        assert counters.delta() == (CHUNK_BYTES, 3)
    finally:
        recorded.close()
    assert len(no_backoff) == 1
    assert len(recorded.gets) == 1
    assert len(recorded.calls) == 2
    headers = [call[0].header for call in recorded.calls if call]
    assert headers[-1].base_checkpoint_id == base_id
    assert all(header == headers[-1] for header in headers)
    assert rt.load_checkpoint(worker_id, saved) == second


def test_an_incremental_save_sends_a_rotten_base_chunk_in_full_by_itself(
    rt: Runtime, worker_id: str, runtime_process: RuntimeProcess, first: tuple[str, bytes]
) -> None:
    base_id, base_data = first
    rotten = chunk_sha256s(base_data)[1]
    path = runtime_process.directory / "data" / "chunks" / rotten[:2] / rotten
    stored = bytearray(path.read_bytes())
    stored[4321] ^= 0xFF
    path.write_bytes(bytes(stored))

    second = changed(base_data, 5)
    counters = Counters(runtime_process)
    saved = rt.save_checkpoint(worker_id, second, incremental=True)
    # The runtime refused the first attempt (DATA_LOSS naming the rotten chunk);
    # the one that committed sent the changed chunk and the rotten one in full.
    assert counters.delta()[0] == 2 * CHUNK_BYTES
    assert rt.load_checkpoint(worker_id, saved) == second
    # Its bytes were written again: the base loads too.
    assert rt.load_checkpoint(worker_id, base_id) == base_data
