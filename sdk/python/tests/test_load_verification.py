"""What a load lets through, seen from an in-process fake runtime that serves
bad answers to GetCheckpoint and LoadCheckpoint: bytes altered, cut short or
running long, a chunk list that does not fit, a window describing another
checkpoint, a checkpoint whose SHA-256 is not its chunks'. Each is PulseError
DATA_LOSS naming the checkpoint, and the caller's file receives only chunks
that matched their hash, never a byte of the failing one.

The checkpoint has three chunks, the last one short. A real runtime never
answers this way; tests/test_checkpoints.py loads from one."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import pytest

from pulse import CHUNK_BYTES, MESSAGE_BYTES, PulseError, RetryPolicy, Runtime
from pulse._generated import pulse_pb2 as pb
from pulse._generated import pulse_pb2_grpc
from pulse._protocol import LOAD_WINDOW_BYTES

SIZE = 2 * CHUNK_BYTES + 1000
DATA = hashlib.shake_256(b"load verification").digest(SIZE)
CHECKPOINT_ID = "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV"
# A client that keeps asking for windows that bring nothing fails instead of looping forever.
WINDOWS_MAX = 20


def chunk_sha256s(data: bytes) -> list[str]:
    return [hashlib.sha256(data[at : at + CHUNK_BYTES]).hexdigest() for at in range(0, len(data), CHUNK_BYTES)]


def checkpoint_of(data: bytes) -> pb.Checkpoint:
    return pb.Checkpoint(
        checkpoint_id=CHECKPOINT_ID, worker_id="w", size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()
    )


@dataclass
class FakeRuntime(pulse_pb2_grpc.PulseRuntimeServicer):  # type: ignore[misc]
    """GetCheckpoint answers ``listed`` and ``chunks``; LoadCheckpoint answers
    ``described``, then the window asked for of ``served`` in 1 MiB messages.
    Every request is recorded."""

    served: bytes = DATA
    listed: pb.Checkpoint = field(default_factory=lambda: checkpoint_of(DATA))
    described: pb.Checkpoint = field(default_factory=lambda: checkpoint_of(DATA))
    chunks: list[str] = field(default_factory=lambda: chunk_sha256s(DATA))
    requests: list[tuple[object, ...]] = field(default_factory=list)

    def GetCheckpoint(  # noqa: N802 - the gRPC method's name
        self, request: pb.GetCheckpointRequest, context: grpc.ServicerContext
    ) -> pb.GetCheckpointResponse:
        self.requests.append(("get", request.checkpoint_id, request.include_chunks))
        return pb.GetCheckpointResponse(checkpoint=self.listed, chunk_sha256s=self.chunks)

    def LoadCheckpoint(  # noqa: N802 - the gRPC method's name
        self, request: pb.LoadCheckpointRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.LoadCheckpointResponse]:
        self.requests.append(("load", request.checkpoint_id, request.offset, request.length))
        if len(self.requests) > WINDOWS_MAX:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many windows")
        yield pb.LoadCheckpointResponse(checkpoint=self.described)
        end = len(self.served) if request.length == 0 else min(len(self.served), request.offset + request.length)
        for at in range(request.offset, end, MESSAGE_BYTES):
            yield pb.LoadCheckpointResponse(data=self.served[at : min(at + MESSAGE_BYTES, end)])


@pytest.fixture
def fake() -> Iterator[tuple[FakeRuntime, str]]:
    servicer = FakeRuntime()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pulse_pb2_grpc.add_PulseRuntimeServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"grpc://127.0.0.1:{port}"
    server.stop(grace=None)


def load_failure(address: str) -> tuple[PulseError, bytes]:
    """Loads the latest checkpoint of ``w`` into a file object; returns the
    error it raised and what the file received."""
    sink = io.BytesIO()
    with Runtime(address, retry=RetryPolicy(max_attempts=1)) as rt:
        with pytest.raises(PulseError) as caught:
            rt.load_checkpoint_to("w", sink)
    return caught.value, sink.getvalue()


def changed(data: bytes, offset: int) -> bytes:
    copy = bytearray(data)
    copy[offset] ^= 0x01
    return bytes(copy)


def test_a_sound_checkpoint_is_listed_then_loaded_by_its_id(fake: tuple[FakeRuntime, str]) -> None:
    """The fake serves a sound checkpoint whole; the latest is asked for with its
    chunks, and the window asks for the id that named, not for "the latest"."""
    servicer, address = fake
    sink = io.BytesIO()
    with Runtime(address) as rt:
        checkpoint = rt.load_checkpoint_to("w", sink)
    assert sink.getvalue() == DATA
    assert (checkpoint.checkpoint_id, checkpoint.size_bytes) == (CHECKPOINT_ID, SIZE)
    assert servicer.requests == [("get", "", True), ("load", CHECKPOINT_ID, 0, LOAD_WINDOW_BYTES)]


def test_a_chunk_with_a_byte_flipped_is_data_loss_and_none_of_it_is_written(fake: tuple[FakeRuntime, str]) -> None:
    servicer, address = fake
    servicer.served = changed(DATA, CHUNK_BYTES + 12345)

    error, written = load_failure(address)

    assert error.code == "DATA_LOSS"
    assert CHECKPOINT_ID in error.message and "chunk 1 of 3" in error.message
    assert written == DATA[:CHUNK_BYTES]


def test_bytes_that_end_early_are_data_loss(fake: tuple[FakeRuntime, str]) -> None:
    """The window ends 500 bytes short; the next one, from there, brings nothing."""
    servicer, address = fake
    servicer.served = DATA[:-500]

    error, written = load_failure(address)

    assert error.code == "DATA_LOSS"
    assert CHECKPOINT_ID in error.message and "chunk 2 of 3" in error.message
    assert f"no bytes from offset {SIZE - 500}" in error.message
    assert written == DATA[: 2 * CHUNK_BYTES]
    assert [request[0] for request in servicer.requests] == ["get", "load", "load"]


def test_bytes_beyond_the_size_are_data_loss(fake: tuple[FakeRuntime, str]) -> None:
    """700 bytes more arrive in the message that ends the last chunk: none of that message is written."""
    servicer, address = fake
    servicer.served = DATA + b"\0" * 700

    error, written = load_failure(address)

    assert error.code == "DATA_LOSS"
    assert CHECKPOINT_ID in error.message and "700 bytes arrived beyond" in error.message
    assert "chunk 2 of 3" not in error.message and "after chunk 2" in error.message
    assert written == DATA[: 2 * CHUNK_BYTES]


def test_a_chunk_list_of_other_bytes_is_data_loss_before_anything_is_written(fake: tuple[FakeRuntime, str]) -> None:
    servicer, address = fake
    servicer.chunks = chunk_sha256s(changed(DATA, 0))

    error, written = load_failure(address)

    assert error.code == "DATA_LOSS"
    assert CHECKPOINT_ID in error.message and "chunk 0 of 3" in error.message
    assert written == b""


def test_a_chunk_list_that_does_not_fit_the_size_is_data_loss_before_loading(fake: tuple[FakeRuntime, str]) -> None:
    servicer, address = fake
    servicer.chunks = servicer.chunks[:2]

    error, written = load_failure(address)

    assert error.code == "DATA_LOSS"
    assert CHECKPOINT_ID in error.message and "lists 2 chunks" in error.message
    assert written == b""
    assert [request[0] for request in servicer.requests] == ["get"]


def test_a_window_that_describes_another_checkpoint_is_data_loss(fake: tuple[FakeRuntime, str]) -> None:
    """The checkpoint changed between GetCheckpoint and LoadCheckpoint."""
    servicer, address = fake
    servicer.described = checkpoint_of(DATA[:-1])

    error, written = load_failure(address)

    assert error.code == "DATA_LOSS"
    assert CHECKPOINT_ID in error.message and "from offset 0 describes" in error.message
    assert written == b""


def test_chunks_that_match_their_list_but_not_the_checkpoint_sha256_are_data_loss(
    fake: tuple[FakeRuntime, str],
) -> None:
    """Each chunk matches the list, so each is written; the whole does not match
    the checkpoint's SHA-256, which the end of the load checks."""
    servicer, address = fake
    servicer.listed.sha256 = servicer.described.sha256 = hashlib.sha256(b"other").hexdigest()

    error, written = load_failure(address)

    assert error.code == "DATA_LOSS"
    assert CHECKPOINT_ID in error.message and "the whole has SHA-256" in error.message
    assert written == DATA
