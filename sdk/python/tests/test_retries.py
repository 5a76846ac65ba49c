"""Retries: UNAVAILABLE is tried again with backoff (waits recorded, not slept),
other codes are not, and a save keeps one idempotency key across its attempts,
so a save whose answer was lost makes exactly one checkpoint."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from pulse import PulseError, RetryPolicy, Runtime
from pulse._generated import pulse_pb2 as pb


def closed_port_address() -> str:
    """An address on which nothing listens: every call is UNAVAILABLE."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"grpc://127.0.0.1:{port}"


@pytest.mark.parametrize(
    "call",
    [
        lambda rt: rt.heartbeat("w"),
        lambda rt: rt.register_worker("w"),
        lambda rt: list(rt.list_checkpoints("w")),
        lambda rt: rt.save_checkpoint(worker_id="w", data=b"state"),
        lambda rt: rt.save_checkpoint_stream("w", io.BytesIO(b"seekable")),
        lambda rt: rt.load_checkpoint("w"),
    ],
    ids=["heartbeat", "register_worker", "list_checkpoints", "save bytes", "save seekable stream", "load"],
)
def test_unavailable_is_retried_with_growing_backoff_then_raised(call: Any, no_backoff: list[float]) -> None:
    policy = RetryPolicy(max_attempts=4, initial_delay_ms=100, max_delay_ms=250)
    with Runtime(closed_port_address(), retry=policy, timeout=5) as rt:
        with pytest.raises(PulseError) as caught:
            call(rt)
    assert caught.value.code == "UNAVAILABLE"
    assert len(no_backoff) == 3
    # 100, 200, 250 ms (capped), each times a jitter factor in [0.5, 1].
    for wait, full in zip(no_backoff, [0.1, 0.2, 0.25]):
        assert full / 2 <= wait <= full


def test_a_stream_that_cannot_rewind_is_not_retried(no_backoff: list[float]) -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:  # type: ignore[override]
            return b""

    with Runtime(closed_port_address()) as rt:
        with pytest.raises(PulseError) as caught:
            rt.save_checkpoint_stream("w", Pipe())
    assert caught.value.code == "UNAVAILABLE"
    assert no_backoff == []


def test_retry_policy_of_one_attempt_does_not_retry(no_backoff: list[float]) -> None:
    with Runtime(closed_port_address(), retry=RetryPolicy(max_attempts=1)) as rt:
        with pytest.raises(PulseError):
            rt.heartbeat("w")
    assert no_backoff == []
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_other_codes_are_not_retried(rt: Runtime, no_backoff: list[float]) -> None:
    with pytest.raises(PulseError) as caught:
        rt.heartbeat("never-registered-worker")
    assert caught.value.code == "NOT_FOUND"
    assert no_backoff == []


class LostAnswer(grpc.RpcError):
    """A finished call whose answer never arrived: UNAVAILABLE."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "Connection reset (simulated)"

    def result(self, timeout: float | None = None) -> Any:
        raise self

    def cancel(self) -> bool:
        return False


class LoseAnswers:
    """Wraps SaveCheckpoint: each call really reaches the runtime, and the answers
    of the first `lose` calls are replaced by UNAVAILABLE, as when a connection
    breaks after the runtime committed but before its answer arrived."""

    def __init__(self, real: Any, lose: int) -> None:
        self.real = real
        self.lose = lose
        self.keys: list[str] = []
        self.answers: list[str] = []

    def future(self, requests: Iterator[pb.SaveCheckpointRequest], **kwargs: Any) -> Any:
        def tap() -> Iterator[pb.SaveCheckpointRequest]:
            for request in requests:
                if request.WhichOneof("payload") == "header":
                    self.keys.append(request.header.idempotency_key)
                yield request

        call = self.real.future(tap(), **kwargs)
        self.answers.append(call.result().checkpoint.checkpoint_id)
        if self.lose > 0:
            self.lose -= 1
            return LostAnswer()
        return call


def test_a_save_whose_answers_were_lost_makes_one_checkpoint(
    rt: Runtime, worker_id: str, no_backoff: list[float]
) -> None:
    lossy = LoseAnswers(rt._channel.stubs[0].SaveCheckpoint, lose=2)
    rt._channel.stubs[0].SaveCheckpoint = lossy
    data = b"state " * 300_000  # 1.8 MiB: two data messages each attempt

    checkpoint_id = rt.save_checkpoint(worker_id=worker_id, data=data)

    assert len(no_backoff) == 2
    assert len(lossy.keys) == 3 and len(set(lossy.keys)) == 1
    assert lossy.answers == [checkpoint_id] * 3
    assert [c.checkpoint_id for c in rt.list_checkpoints(worker_id)] == [checkpoint_id]
    assert rt.load_checkpoint(worker_id) == data


def test_a_stream_save_whose_answer_was_lost_rewinds_and_makes_one_checkpoint(
    rt: Runtime, worker_id: str, no_backoff: list[float]
) -> None:
    lossy = LoseAnswers(rt._channel.stubs[0].SaveCheckpoint, lose=1)
    rt._channel.stubs[0].SaveCheckpoint = lossy
    file = io.BytesIO(b"prefix|" + b"streamed state")
    file.seek(len(b"prefix|"))

    checkpoint_id = rt.save_checkpoint_stream(worker_id, file, idempotency_key="mine")

    assert lossy.keys == ["mine", "mine"]
    assert [c.checkpoint_id for c in rt.list_checkpoints(worker_id)] == [checkpoint_id]
    assert rt.load_checkpoint(worker_id) == b"streamed state"


def test_a_delete_whose_answer_was_lost_succeeds_on_retry(
    rt: Runtime, worker_id: str, no_backoff: list[float]
) -> None:
    checkpoint_id = rt.save_checkpoint(worker_id=worker_id, data=b"x")
    real = rt._channel.stubs[0].DeleteCheckpoint
    calls: list[str] = []

    def delete_then_lose_answer(request: pb.DeleteCheckpointRequest, **kwargs: Any) -> Any:
        calls.append(request.checkpoint_id)
        answer = real(request, **kwargs)
        if len(calls) == 1:
            raise LostAnswer()
        return answer

    rt._channel.stubs[0].DeleteCheckpoint = delete_then_lose_answer
    rt.delete_checkpoint(worker_id, checkpoint_id)  # the retry finds it gone: success

    assert calls == [checkpoint_id, checkpoint_id]
    assert list(rt.list_checkpoints(worker_id)) == []


class CutOff:
    """Wraps LoadCheckpoint: the first `cuts` calls end with UNAVAILABLE after
    passing on `messages` messages, as when a connection breaks mid-stream."""

    def __init__(self, real: Any, cuts: int, messages: int) -> None:
        self.real = real
        self.cuts = cuts
        self.messages = messages
        self.offsets: list[int] = []

    def __call__(self, request: pb.LoadCheckpointRequest, *args: Any, **kwargs: Any) -> Any:
        self.offsets.append(request.offset)
        call = self.real(request, *args, **kwargs)
        if self.cuts == 0:
            return call
        self.cuts -= 1
        return CutCall(call, self.messages)


class CutCall:
    """A LoadCheckpoint call that breaks after `messages` messages."""

    def __init__(self, call: Any, messages: int) -> None:
        self.call = call
        self.messages = messages

    def __iter__(self) -> Iterator[pb.LoadCheckpointResponse]:
        for index, message in enumerate(self.call):
            if index == self.messages:
                self.call.cancel()
                raise LostAnswer()
            yield message

    def cancel(self) -> None:
        self.call.cancel()


def test_a_load_cut_off_midway_resumes_where_it_stopped(
    rt: Runtime, worker_id: str, no_backoff: list[float], tmp_path: Any
) -> None:
    """Cut after the description and 3 data messages (3 MiB), twice: the load
    asks again from 3 MiB, then 6 MiB, and writes each byte exactly once."""
    mib = 1024 * 1024
    data = bytes(range(256)) * (10 * mib // 256) + b"tail"
    checkpoint_id = rt.save_checkpoint(worker_id=worker_id, data=data)
    cut = CutOff(rt._channel.stubs[0].LoadCheckpoint, cuts=2, messages=4)
    rt._channel.stubs[0].LoadCheckpoint = cut

    target = tmp_path / "loaded.bin"
    with target.open("wb") as file:
        checkpoint = rt.load_checkpoint_to(worker_id, file)

    assert checkpoint.checkpoint_id == checkpoint_id
    assert cut.offsets == [0, 3 * mib, 6 * mib]
    assert len(no_backoff) == 2
    assert target.read_bytes() == data
