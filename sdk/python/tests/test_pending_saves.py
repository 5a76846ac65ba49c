"""Saves that do not block: ``save_checkpoint(..., wait=False)`` returns a future
of the checkpoint id; bytes the caller may change are copied first and
``bytes`` are not; at most ``max_pending_saves`` saves of a worker run at once,
a further call blocking until one ends; ``close()`` waits for them and
``close(cancel_pending=True)`` cancels them.

Saves are held back where a test needs them in flight by sources whose reads
wait for an event (gated) or crawl (slow)."""

from __future__ import annotations

import array
import io
import threading
import time
import tracemalloc
import uuid
from concurrent.futures import Future

import pytest

from pulse import PulseError, Runtime

MIB = 1024 * 1024
# Long enough for a thread that should block to show it; short enough to wait.
BLOCKED_SECONDS = 0.5


def pattern(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + b"\x07" * (size % 256)


class GatedReader(io.RawIOBase):
    """A source whose first read waits until ``gate`` is set."""

    def __init__(self, data: bytes) -> None:
        self.gate = threading.Event()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        assert self.gate.wait(30), "the test never opened the gate"
        return self._data.read(size)


class SlowReader(io.RawIOBase):
    """An endless source of 1 MiB pieces, one every 20 ms: a save that stays in flight."""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        time.sleep(0.02)
        return b"\x01" * size


def other_worker(rt: Runtime) -> str:
    worker = f"worker-{uuid.uuid4().hex[:12]}"
    rt.register_worker(worker)
    return worker


def test_the_future_resolves_to_the_id_of_a_checkpoint_that_loads_byte_exact(rt: Runtime, worker_id: str) -> None:
    data = pattern(20 * MIB + 5)
    pending = rt.save_checkpoint(worker_id, data, {"epoch": 3}, "step-3", wait=False)
    assert isinstance(pending, Future)
    checkpoint_id = pending.result(timeout=60)
    assert pending.done() and pending.exception() is None
    assert rt.load_checkpoint(worker_id, checkpoint_id) == data
    # A blocking save under the same key answers with the checkpoint the future named.
    assert rt.save_checkpoint(worker_id, data, {"epoch": 3}, "step-3") == checkpoint_id
    assert [c.checkpoint_id for c in rt.list_checkpoints(worker_id)] == [checkpoint_id]


def test_a_stream_is_read_in_the_background(rt: Runtime, worker_id: str) -> None:
    data = pattern(9 * MIB)
    pending = rt.save_checkpoint_stream(worker_id, io.BytesIO(data), wait=False)
    assert rt.load_checkpoint(worker_id, pending.result(timeout=60)) == data


def test_the_futures_error_is_the_saves(rt: Runtime) -> None:
    pending = rt.save_checkpoint(f"unknown-{uuid.uuid4().hex[:8]}", b"state", wait=False)
    error = pending.exception(timeout=60)
    assert isinstance(error, PulseError) and error.code == "NOT_FOUND"
    # What the SDK checks before sending is raised by the call itself.
    with pytest.raises(PulseError, match="INVALID_ARGUMENT"):
        rt.save_checkpoint("w", b"state", {"blob": "x" * 70_000}, wait=False)
    with pytest.raises(TypeError):
        rt.save_checkpoint("w", "text", wait=False)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "make",
    [
        bytearray,
        lambda data: memoryview(bytearray(data)),
        lambda data: memoryview(bytearray(data)).toreadonly(),  # read-only, but its owner can still change it
        lambda data: memoryview(array.array("B", data)),
    ],
    ids=["bytearray", "view of a bytearray", "read-only view of a bytearray", "view of an array"],
)
def test_memory_the_caller_changes_right_after_the_call_is_saved_as_it_was(
    rt: Runtime, worker_id: str, make: object
) -> None:
    original = pattern(24 * MIB)
    data = make(original)  # type: ignore[operator]
    pending = rt.save_checkpoint(worker_id, data, wait=False)
    writable = data.obj if isinstance(data, memoryview) else data
    memoryview(writable).cast("B")[:] = b"\x00" * len(original)
    assert rt.load_checkpoint(worker_id, pending.result(timeout=60)) == original


def test_bytes_are_not_copied_and_a_bytearray_is_copied_once(rt: Runtime, worker_id: str) -> None:
    """Python's allocations while a save of 64 MiB runs, traced from the call
    to its end: with ``bytes`` nothing near its size is allocated (the data
    messages are 1 MiB each); with a ``bytearray``, the copy."""
    size = 64 * MIB

    def peak_bytes(data: bytes | bytearray) -> int:
        tracemalloc.start()
        try:
            rt.save_checkpoint(worker_id, data, wait=False).result(timeout=60)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak_bytes(bytes(size)) < size // 4
    assert peak_bytes(bytearray(size)) >= size


def test_a_third_save_of_a_worker_blocks_until_one_of_two_ends(address: str, rt: Runtime, worker_id: str) -> None:
    first, second = GatedReader(pattern(3 * MIB)), GatedReader(pattern(2 * MIB))
    with Runtime(address, max_pending_saves=2) as saver:
        pending = [saver.save_checkpoint_stream(worker_id, source, wait=False) for source in (first, second)]
        third: list[Future[str]] = []
        caller = threading.Thread(target=lambda: third.append(saver.save_checkpoint(worker_id, b"3", wait=False)))
        caller.start()
        caller.join(BLOCKED_SECONDS)
        assert caller.is_alive() and third == []
        # Another worker has slots of its own.
        assert saver.save_checkpoint(other_worker(rt), b"other", wait=False).result(timeout=60)
        assert caller.is_alive()

        first.gate.set()
        assert pending[0].result(timeout=60)
        caller.join(30)
        assert not caller.is_alive()
        assert rt.load_checkpoint(worker_id, third[0].result(timeout=60)) == b"3"
        assert not pending[1].done()
        second.gate.set()
        assert rt.load_checkpoint(worker_id, pending[1].result(timeout=60)) == pattern(2 * MIB)


def test_close_waits_for_the_pending_saves(address: str, rt: Runtime, worker_id: str) -> None:
    source = GatedReader(pattern(5 * MIB))
    saver = Runtime(address)
    pending = saver.save_checkpoint_stream(worker_id, source, wait=False)
    closer = threading.Thread(target=saver.close)
    closer.start()
    closer.join(BLOCKED_SECONDS)
    assert closer.is_alive() and not pending.done()
    with pytest.raises(PulseError, match="CANCELLED"):
        saver.save_checkpoint(worker_id, b"late", wait=False)  # closing: no new ones

    source.gate.set()
    closer.join(30)
    assert not closer.is_alive() and saver.closed
    assert pending.done()
    assert rt.load_checkpoint(worker_id, pending.result()) == pattern(5 * MIB)


def test_close_with_cancel_pending_cancels_them_and_their_waiting_callers(
    address: str, rt: Runtime, worker_id: str
) -> None:
    saver = Runtime(address, max_pending_saves=1)
    pending = saver.save_checkpoint_stream(worker_id, SlowReader(), wait=False)
    assert pending.cancel() is False  # running: only close() cancels it
    waiting: list[BaseException] = []

    def third() -> None:
        try:
            saver.save_checkpoint(worker_id, b"waits for a slot", wait=False)
        except PulseError as error:
            waiting.append(error)

    caller = threading.Thread(target=third)
    caller.start()
    caller.join(BLOCKED_SECONDS)
    assert caller.is_alive()

    started = time.monotonic()
    saver.close(cancel_pending=True)
    assert time.monotonic() - started < 10
    caller.join(10)
    error = pending.exception(timeout=0)
    assert isinstance(error, PulseError) and error.code == "CANCELLED"
    assert [e.code for e in waiting if isinstance(e, PulseError)] == ["CANCELLED"]
    assert list(rt.list_checkpoints(worker_id)) == []


def test_max_pending_saves_below_one_is_a_value_error(address: str) -> None:
    for bad in (0, -1):
        with pytest.raises(ValueError, match="max_pending_saves"):
            Runtime(address, max_pending_saves=bad)
