"""Saves that do not block the caller: ``save_checkpoint(..., wait=False)`` and
its kin start a save on a thread of its own and return a
:class:`concurrent.futures.Future` of its result.

Memory stays bounded: each worker has at most ``max_pending_saves`` saves in
flight, and a further one blocks its caller until one of them ends. Bytes the
caller may change afterwards are copied (:func:`snapshot`) only once the save
has its slot, so a worker holds at most that many copies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any, TypeVar

from ._errors import PulseError

_T = TypeVar("_T")

#: Saves in flight per worker when the Runtime is not told otherwise.
PENDING_SAVES_PER_WORKER_DEFAULT = 2


def snapshot(data: bytes | bytearray | memoryview) -> bytes | memoryview:
    """``data`` as it is now, safe from later changes by the caller: ``bytes``,
    and views of ``bytes``, as they are (they cannot change); a copy of
    anything else (a ``bytearray``, a view of writable memory such as a
    ``bytearray``, an ``array`` or a numpy array, and read-only views of such
    memory, which its owner can still change)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, memoryview) and isinstance(data.obj, bytes):
        return data
    return bytes(data)


class PendingSaves:
    """The saves of one Runtime that run in the background, at most
    ``max_per_worker`` at a time for each worker. Thread-safe."""

    def __init__(self, max_per_worker: int) -> None:
        """Raises ValueError when ``max_per_worker`` is below 1."""
        if isinstance(max_per_worker, bool) or not isinstance(max_per_worker, int) or max_per_worker < 1:
            raise ValueError(f"Cannot open Runtime: max_pending_saves is {max_per_worker!r}, minimum is 1")
        self._max_per_worker = max_per_worker
        self._changed = threading.Condition()
        self._in_flight: dict[str, int] = {}
        # Futures of the saves in flight, until they are resolved.
        self._futures: set[Future[Any]] = set()
        self._closed = False

    def submit(self, action: str, worker_id: str, start: Callable[[], Callable[[], _T]]) -> Future[_T]:
        """Runs a save of ``worker_id`` in the background once the worker has
        fewer than ``max_per_worker`` in flight, blocking until then.

        ``start()`` runs first, in the caller's thread, once the slot is taken
        (to copy the bytes, for instance); the function it returns is the save,
        run on a thread of its own, whose result or exception the future gets.

        Raises:
            PulseError: CANCELLED when the Runtime is closed, before or while waiting.
            Exception: whatever ``start()`` raised; the slot is given back.
        """
        self._take_slot(action, worker_id)
        future: Future[_T] = Future()
        future.set_running_or_notify_cancel()  # running from now on: cancel() is refused
        try:
            run = start()
            thread = threading.Thread(
                target=self._run, args=(worker_id, run, future), name=f"pulse-{action.replace(' ', '-')}-{worker_id}"
            )
            with self._changed:
                self._futures.add(future)
            thread.start()
        except BaseException:
            self._give_slot(worker_id)
            self._forget(future)
            raise
        return future

    def close(self) -> None:
        """Refuses new saves from now on (CANCELLED) and wakes the callers waiting for a slot."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait(self) -> None:
        """Waits until every save in flight has ended, whatever its outcome."""
        with self._changed:
            futures = set(self._futures)
        wait(futures)

    def _take_slot(self, action: str, worker_id: str) -> None:
        with self._changed:
            while not self._closed and self._in_flight.get(worker_id, 0) >= self._max_per_worker:
                self._changed.wait()
            if self._closed:
                raise PulseError("CANCELLED", f"Cannot {action}: the Runtime is closed")
            self._in_flight[worker_id] = self._in_flight.get(worker_id, 0) + 1

    def _give_slot(self, worker_id: str) -> None:
        with self._changed:
            left = self._in_flight[worker_id] - 1
            if left:
                self._in_flight[worker_id] = left
            else:
                del self._in_flight[worker_id]
            self._changed.notify_all()

    def _forget(self, future: Future[_T]) -> None:
        with self._changed:
            self._futures.discard(future)

    def _run(self, worker_id: str, run: Callable[[], _T], future: Future[_T]) -> None:
        # The slot goes back before the future is resolved, so that a caller
        # waiting for it does not wait for the future's callbacks too; the
        # future is forgotten after, so that wait() sees it until it is resolved.
        try:
            result = run()
        except BaseException as error:
            self._give_slot(worker_id)
            future.set_exception(error)
        else:
            self._give_slot(worker_id)
            future.set_result(result)
        finally:
            self._forget(future)
