"""How a save ends, seen from the server: a save whose source fails, and one in
flight when the Runtime is closed, are cancelled (never half-closed, which would
tell the runtime that all the data was sent); a save that reads its source to
the end is ended normally. The server here is an in-process gRPC server that
records how each SaveCheckpoint stream ended, so that these are facts about the
SDK alone; tests/test_errors.py checks the same cases against the real runtime.
They are facts of the stream path (``direct_transfer=False``): on the direct
path a source that fails before its chunks are planned makes no call at all,
and nothing is committed before every chunk is read (tests/test_direct_path.py)."""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from pulse import PulseError, Runtime
from pulse._generated import pulse_pb2 as pb
from pulse._generated import pulse_pb2_grpc

MIB = 1024 * 1024


class RecordingRuntime(pulse_pb2_grpc.PulseRuntimeServicer):  # type: ignore[misc]
    """Answers SaveCheckpoint and records ("ended" | "cancelled", data bytes received)."""

    def __init__(self) -> None:
        self.outcomes: queue.Queue[tuple[str, int]] = queue.Queue()

    def SaveCheckpoint(  # noqa: N802 - the gRPC method's name
        self, request_iterator: Iterator[pb.SaveCheckpointRequest], context: grpc.ServicerContext
    ) -> pb.SaveCheckpointResponse:
        received = 0
        try:
            for request in request_iterator:
                if request.WhichOneof("payload") == "data":
                    received += len(request.data)
        except grpc.RpcError:
            self.outcomes.put(("cancelled", received))
            return pb.SaveCheckpointResponse()
        # A half-close leaves the call waiting for the answer; a cancel ends it.
        time.sleep(0.2)
        self.outcomes.put(("ended" if context.is_active() else "cancelled", received))
        return pb.SaveCheckpointResponse(checkpoint=pb.Checkpoint(checkpoint_id="chk_01ARZ3NDEKTSV4RRFFQ69G5FAV"))


@pytest.fixture
def recording() -> Iterator[tuple[RecordingRuntime, str]]:
    servicer = RecordingRuntime()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pulse_pb2_grpc.add_PulseRuntimeServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"grpc://127.0.0.1:{port}"
    server.stop(grace=None)


class FailingReader(io.RawIOBase):
    """Gives `pieces` 1 MiB pieces, then fails."""

    def __init__(self, pieces: int) -> None:
        self.left = pieces

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        time.sleep(0.05)  # let the pieces reach the server before the failure
        if self.left == 0:
            raise OSError("disk on fire")
        self.left -= 1
        return b"\x01" * size


def test_a_save_read_to_the_end_is_ended_normally(recording: tuple[RecordingRuntime, str]) -> None:
    servicer, address = recording
    with Runtime(address, direct_transfer=False) as rt:
        assert rt.save_checkpoint_stream("w", io.BytesIO(b"\x02" * (3 * MIB + 1))) == "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    assert servicer.outcomes.get(timeout=5) == ("ended", 3 * MIB + 1)


@pytest.mark.parametrize("pieces", [0, 3])
def test_a_failing_source_cancels_the_save(recording: tuple[RecordingRuntime, str], pieces: int) -> None:
    servicer, address = recording
    with Runtime(address, direct_transfer=False) as rt:
        with pytest.raises(OSError, match="disk on fire"):
            rt.save_checkpoint_stream("w", FailingReader(pieces))
    outcome, received = servicer.outcomes.get(timeout=5)
    assert outcome == "cancelled"
    assert received <= pieces * MIB


def test_closing_the_runtime_cancels_a_save_in_flight(recording: tuple[RecordingRuntime, str]) -> None:
    servicer, address = recording
    rt = Runtime(address, direct_transfer=False)

    class Endless:
        def read(self, size: int) -> bytes:
            time.sleep(0.01)
            return b"\0" * size

    errors: list[BaseException] = []

    def save() -> None:
        try:
            rt.save_checkpoint_stream("w", Endless())
        except BaseException as error:  # noqa: BLE001 - recorded for the assertion
            errors.append(error)

    thread = threading.Thread(target=save)
    thread.start()
    time.sleep(0.5)
    rt.close()
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], PulseError), errors
    assert errors[0].code == "CANCELLED"
    assert servicer.outcomes.get(timeout=5)[0] == "cancelled"
