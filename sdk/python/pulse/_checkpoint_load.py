"""Loads: a checkpoint read in windows of LOAD_WINDOW_BYTES (LoadCheckpoint's
``offset`` and ``length``), resumed where it stopped when a window is cut by
UNAVAILABLE, checked against the checkpoint's size and SHA-256, and written
to the caller's file or buffer.

The twin of the TypeScript SDK's ``sdk/checkpoint_load.ts``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Protocol

import grpc

from ._channel import Channel
from ._errors import PulseError, from_rpc_error
from ._generated import pulse_pb2 as pb
from ._protocol import LOAD_WINDOW_BYTES
from ._types import Checkpoint, checkpoint_of

_ACTION = "load checkpoint"


class BinaryWriter(Protocol):
    """What :meth:`Runtime.load_checkpoint_to` writes to: a binary file object."""

    def write(self, data: bytes, /) -> int | None:
        """Writes ``data``; returns how many bytes were written."""
        ...


def write_all(fileobj: BinaryWriter) -> Callable[[bytes], None]:
    """A function that writes all of its bytes to ``fileobj``, also to raw files,
    whose writes may be partial. A ``write`` that returns ``None`` is taken to
    have written everything."""

    def write(data: bytes) -> None:
        remaining = data
        while remaining:
            written = fileobj.write(remaining)
            if written is None or written >= len(remaining):
                return
            remaining = remaining[written:]

    return write


def load(channel: Channel, worker_id: str, checkpoint_id: str | None, write: Callable[[bytes], object]) -> Checkpoint:
    """Loads a checkpoint window by window, passing each data message to
    ``write``, and checks its size and SHA-256 at the end.

    The first window names the checkpoint (the latest, when no id is given);
    every later one asks for that same checkpoint from the next offset. On
    UNAVAILABLE the window is asked for again from the first byte not yet
    received; the retry policy counts attempts since the last progress.

    Raises:
        PulseError: the load failed; DATA_LOSS when the bytes do not match the checkpoint.
    """
    progress = _LoadProgress(worker_id, checkpoint_id or "", write)
    attempts = channel.attempts()
    while not progress.done:
        request = progress.next_request()
        call = channel.start(_ACTION, lambda: channel.stub.LoadCheckpoint(request, metadata=channel.metadata))
        received_before = progress.offset
        try:
            progress.receive(call)
        except grpc.RpcError as error:
            channel.check_open(_ACTION)
            if progress.offset > received_before:
                attempts.progressed()
            if not attempts.retry(error):
                raise from_rpc_error(error) from None
            continue
        finally:
            call.cancel()  # a no-op once the call has ended
        attempts.progressed()
    return progress.finish()


class _LoadProgress:
    """The state of a windowed load: which checkpoint, how far, and the hash so far."""

    def __init__(self, worker_id: str, checkpoint_id: str, write: Callable[[bytes], object]) -> None:
        self._worker_id = worker_id
        self._checkpoint_id = checkpoint_id
        self._write = write
        self._described: pb.Checkpoint | None = None
        self._digest = hashlib.sha256()
        #: Bytes received (and written) so far: where the next window starts.
        self.offset = 0

    @property
    def done(self) -> bool:
        """Whether every byte of the checkpoint has been received."""
        return self._described is not None and self.offset >= self._described.size_bytes

    def next_request(self) -> pb.LoadCheckpointRequest:
        """The request of the next window."""
        return pb.LoadCheckpointRequest(
            worker_id=self._worker_id,
            checkpoint_id=self._checkpoint_id,
            offset=self.offset,
            length=LOAD_WINDOW_BYTES,
        )

    def receive(self, call: Iterator[pb.LoadCheckpointResponse]) -> None:
        """Reads one window: the checkpoint's description, then data messages."""
        first = True
        received = 0
        for message in call:
            kind = message.WhichOneof("payload")
            if first:
                if kind != "checkpoint":
                    raise PulseError("INTERNAL", "Cannot load checkpoint: the runtime's answer did not start with it")
                self._describe(message.checkpoint)
                first = False
                continue
            if kind != "data":
                raise PulseError("INTERNAL", "Cannot load checkpoint: the runtime sent a second description")
            received += len(message.data)
            self.offset += len(message.data)
            self._digest.update(message.data)
            self._write(message.data)
        if first:
            raise PulseError("INTERNAL", "Cannot load checkpoint: the runtime's answer was empty")
        if received == 0 and not self.done:
            raise PulseError(
                "DATA_LOSS",
                f"Cannot load checkpoint {self._checkpoint_id}: the runtime sent no bytes from offset {self.offset}",
            )

    def _describe(self, described: pb.Checkpoint) -> None:
        if self._described is None:
            self._described = described
            self._checkpoint_id = described.checkpoint_id
            return
        if (described.checkpoint_id, described.size_bytes, described.sha256) != (
            self._described.checkpoint_id,
            self._described.size_bytes,
            self._described.sha256,
        ):
            raise PulseError(
                "DATA_LOSS",
                f"Cannot load checkpoint {self._checkpoint_id}: it changed between two windows of the load",
            )

    def finish(self) -> Checkpoint:
        """The checkpoint, once its size and SHA-256 are checked."""
        described = self._described
        assert described is not None
        if self.offset != described.size_bytes:
            raise PulseError(
                "DATA_LOSS",
                f"Cannot load checkpoint {described.checkpoint_id}: received {self.offset} bytes, "
                f"expected {described.size_bytes}",
            )
        if self._digest.hexdigest() != described.sha256:
            raise PulseError(
                "DATA_LOSS",
                f"Cannot load checkpoint {described.checkpoint_id}: the bytes received have SHA-256 "
                f"{self._digest.hexdigest()}, expected {described.sha256}",
            )
        return checkpoint_of(described)
