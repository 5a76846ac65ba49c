"""Loads: a checkpoint's chunk list asked for first (GetCheckpoint, which also
pins "the latest" to one checkpoint id), then its bytes in windows of
LOAD_WINDOW_BYTES (LoadCheckpoint's ``offset`` and ``length``), resumed where
they stopped when a window is cut by UNAVAILABLE. Each chunk is held until it
is whole and matches its size and SHA-256, and only then handed to the
caller's file or buffer; the whole is checked against the checkpoint's
SHA-256 at the end.

The twin of the TypeScript SDK's ``sdk/checkpoint_load.ts``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import grpc

from ._channel import Channel
from ._errors import PulseError, from_rpc_error
from ._generated import pulse_pb2 as pb
from ._protocol import CHUNK_BYTES, LOAD_WINDOW_BYTES
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


def load(
    channel: Channel,
    worker_id: str,
    checkpoint_id: str | None,
    write: Callable[[bytes], object],
    *,
    job_id: str = "",
) -> Checkpoint:
    """Loads a checkpoint (the worker's latest when ``checkpoint_id`` is
    ``None``; with ``job_id``, that checkpoint of the job, a shard) window by
    window, passing its bytes to ``write`` one verified chunk at a time, in
    the pieces they arrived in (at most a data message).

    The windows go to one replica while it answers. On UNAVAILABLE a window
    is asked for again, from the next replica, from the first byte not yet
    received (the bytes of the chunk under way stay held, and are checked
    with the rest of the chunk); the retry policy counts attempts since the
    last progress.

    Raises:
        PulseError: the load failed; DATA_LOSS when the bytes or the chunk list
            do not match the checkpoint (no byte of a failing chunk is written).
    """
    request = pb.GetCheckpointRequest(
        worker_id=worker_id, checkpoint_id=checkpoint_id or "", include_chunks=True, job_id=job_id
    )
    listed = channel.unary(_ACTION, "GetCheckpoint", request)
    chunks = _VerifiedChunks(listed.checkpoint, listed.chunk_sha256s, write)
    attempts = channel.attempts()
    while not chunks.done:
        window = pb.LoadCheckpointRequest(
            worker_id=worker_id,
            checkpoint_id=listed.checkpoint.checkpoint_id,
            offset=chunks.received,
            length=LOAD_WINDOW_BYTES,
            job_id=job_id,
        )
        call = channel.start(_ACTION, lambda: attempts.stub.LoadCheckpoint(window, metadata=channel.metadata))
        received_before = chunks.received
        try:
            _receive_window(call, chunks)
        except grpc.RpcError as error:
            channel.check_open(_ACTION)
            if chunks.received > received_before:
                attempts.progressed()
            if not attempts.retry(error):
                raise from_rpc_error(error) from None
            continue
        finally:
            call.cancel()  # a no-op once the call has ended
        attempts.progressed()
    return chunks.finish()


def _receive_window(call: Iterator[pb.LoadCheckpointResponse], chunks: _VerifiedChunks) -> None:
    """Reads one window: the checkpoint's description, which must be the listed
    one, then data messages, which must bring at least one byte."""
    start = chunks.received
    described = False
    for message in call:
        kind = message.WhichOneof("payload")
        if not described:
            if kind != "checkpoint":
                raise PulseError("INTERNAL", "Cannot load checkpoint: the runtime's answer did not start with it")
            chunks.check_described(message.checkpoint, start)
            described = True
        elif kind == "data":
            chunks.add(message.data)
        else:
            raise PulseError("INTERNAL", "Cannot load checkpoint: the runtime sent a second description")
    if not described:
        raise PulseError("INTERNAL", "Cannot load checkpoint: the runtime's answer was empty")
    if chunks.received == start and not chunks.done:
        raise chunks.data_loss(
            f"the runtime sent no bytes from offset {start}, in {chunks.chunk_under_way}, of its {chunks.size_bytes}"
        )


class _VerifiedChunks:
    """The bytes of a checkpoint on their way to the caller: each chunk is held
    (at most :data:`CHUNK_BYTES`) until all its bytes are there and match its
    size and SHA-256 in the checkpoint's chunk list, then written."""

    def __init__(self, listed: pb.Checkpoint, chunk_sha256s: Sequence[str], write: Callable[[bytes], object]) -> None:
        """Raises PulseError DATA_LOSS when the list has not one hash for each chunk of the size."""
        self._listed = listed
        self._chunk_sha256s = list(chunk_sha256s)
        self._write = write
        self._held: list[bytes] = []
        self._chunk_hash = hashlib.sha256()
        self._whole_hash = hashlib.sha256()
        self._index = 0
        #: Bytes received so far (held or written): where the next window starts.
        self.received = 0
        expected = -(-self.size_bytes // CHUNK_BYTES)
        if len(self._chunk_sha256s) != expected:
            raise self.data_loss(
                f"the runtime lists {len(self._chunk_sha256s)} chunks, "
                f"its {self.size_bytes} bytes make {expected} of at most {CHUNK_BYTES}"
            )

    @property
    def size_bytes(self) -> int:
        """The size of the checkpoint."""
        return int(self._listed.size_bytes)

    @property
    def done(self) -> bool:
        """Whether every byte has been received, and so checked and written."""
        return self.received == self.size_bytes

    @property
    def chunk_under_way(self) -> str:
        """Which chunk the next byte belongs to, e.g. ``"chunk 2 of 3"``."""
        return f"chunk {self._index} of {len(self._chunk_sha256s)}"

    def check_described(self, described: pb.Checkpoint, offset: int) -> None:
        """Raises PulseError DATA_LOSS if a window describes another checkpoint than the listed one."""
        seen = (described.checkpoint_id, described.size_bytes, described.sha256)
        if seen != (self._listed.checkpoint_id, self._listed.size_bytes, self._listed.sha256):
            raise self.data_loss(
                f"the window from offset {offset} describes {seen[0]} of {seen[1]} bytes with SHA-256 {seen[2]}, "
                f"not the listed {self._listed.size_bytes} bytes with SHA-256 {self._listed.sha256}"
            )

    def add(self, data: bytes) -> None:
        """Takes the bytes of a data message; writes each chunk they complete once it matches its hash.

        Raises:
            PulseError: DATA_LOSS for bytes beyond the size, or a chunk that fails its hash.
        """
        if self.received + len(data) > self.size_bytes:
            raise self.data_loss(
                f"{self.received + len(data) - self.size_bytes} bytes arrived beyond its {self.size_bytes}, "
                f"after chunk {len(self._chunk_sha256s) - 1}, its last"
            )
        while data:
            room = min(self.size_bytes, (self._index + 1) * CHUNK_BYTES) - self.received
            part, data = (data, b"") if len(data) <= room else (data[:room], data[room:])
            self._held.append(part)
            self._chunk_hash.update(part)
            self.received += len(part)
            if len(part) == room:
                self._release()

    def _release(self) -> None:
        """Writes the chunk held, which is whole, if it matches its hash in the list."""
        sha256 = self._chunk_hash.hexdigest()
        if sha256 != self._chunk_sha256s[self._index]:
            raise self.data_loss(
                f"{self.chunk_under_way} (from byte {self._index * CHUNK_BYTES}) has SHA-256 {sha256}, "
                f"the chunk list says {self._chunk_sha256s[self._index]}"
            )
        for part in self._held:
            self._whole_hash.update(part)
            self._write(part)
        self._held.clear()
        self._chunk_hash = hashlib.sha256()
        self._index += 1

    def finish(self) -> Checkpoint:
        """The checkpoint, once the whole of it is checked against its SHA-256.

        Raises:
            PulseError: DATA_LOSS when the chunks, each as listed, do not make the checkpoint's bytes.
        """
        # Bytes beyond the size are refused as they come, and loads go on until the size.
        assert self.done and self._index == len(self._chunk_sha256s) and not self._held
        sha256 = self._whole_hash.hexdigest()
        if sha256 != self._listed.sha256:
            raise self.data_loss(
                f"its {len(self._chunk_sha256s)} chunks matched the chunk list, but the whole has SHA-256 "
                f"{sha256}, the checkpoint says {self._listed.sha256}"
            )
        return checkpoint_of(self._listed)

    def data_loss(self, reason: str) -> PulseError:
        """The DATA_LOSS error of this checkpoint, for ``reason``."""
        return PulseError("DATA_LOSS", f"Cannot load checkpoint {self._listed.checkpoint_id}: {reason}")
