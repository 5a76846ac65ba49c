"""Saves: the caller's bytes cut into chunks as the runtime cuts them, each chunk
hashed once, and the SaveCheckpoint request stream (a header, data messages or
the names of chunks an incremental save's base holds, then a trailer), with its
attempts and retries.

The twin of the TypeScript SDK's ``sdk/checkpoint_save.ts``; both suites check
theirs against the vectors of ``proto/testdata/chunking.json``.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol, Union

import grpc

from ._channel import Channel
from ._errors import PulseError, from_rpc_error
from ._generated import pulse_pb2 as pb
from ._protocol import CHUNK_BYTES, DATA_MESSAGE_BYTES
from ._wire import Metadata, metadata_struct

#: A piece of the bytes to save: ``bytes``, or a view of the caller's buffer.
Segment = Union[bytes, memoryview]

_ACTION = "save checkpoint"

# Chunks are cut into data messages of DATA_MESSAGE_BYTES; a chunk holds a whole
# number of them, so that message and chunk boundaries of the stream agree.
assert CHUNK_BYTES % DATA_MESSAGE_BYTES == 0


class BinaryReader(Protocol):
    """What :meth:`Runtime.save_checkpoint_stream` reads from: a binary file object."""

    def read(self, size: int, /) -> bytes | None:
        """Returns at most ``size`` bytes; ``b""`` at the end."""
        ...


@dataclass(frozen=True)
class ChunkEnd:
    """The end of a chunk of the bytes being saved: where it was and its hash."""

    #: Its position among the chunks, from 0.
    index: int
    #: Where it starts in the bytes.
    offset: int
    #: Its length: :data:`CHUNK_BYTES`, or less for the last chunk.
    size: int
    #: Its hex SHA-256.
    sha256: str


class SaveBase(NamedTuple):
    """A checkpoint whose chunks a save names by SHA-256 instead of sending them."""

    checkpoint_id: str
    chunk_sha256s: frozenset[str]


def chunks_sha256(chunk_sha256s: Iterable[str]) -> str:
    """The ``chunks_sha256`` of a save's trailer: the hex SHA-256 of the chunks'
    hex SHA-256s in order, each followed by a line feed."""
    digest = hashlib.sha256()
    for sha256 in chunk_sha256s:
        digest.update(f"{sha256}\n".encode("ascii"))
    return digest.hexdigest()


def cut_chunks(pieces: Iterable[Segment]) -> Iterator[list[Segment] | ChunkEnd]:
    """The pieces' bytes cut into chunks of :data:`CHUNK_BYTES` (the last one
    shorter), as the runtime cuts them, and each chunk into what its data
    messages carry: :data:`DATA_MESSAGE_BYTES`, the last of a chunk shorter.
    Yields each message's bytes as a list of segments (the pieces themselves, or
    views of them: never copies), and after the last one of each chunk its
    :class:`ChunkEnd`. Each byte is hashed once.
    """
    index = chunk_start = chunk_filled = 0
    chunk_hash = hashlib.sha256()
    message: list[Segment] = []
    message_bytes = 0
    for piece in pieces:
        length = len(piece) if isinstance(piece, bytes) else piece.nbytes
        at = 0
        while at < length:
            take = min(length - at, DATA_MESSAGE_BYTES - message_bytes)
            segment = piece if take == length else memoryview(piece)[at : at + take]
            at += take
            chunk_hash.update(segment)
            message.append(segment)
            message_bytes += take
            if message_bytes < DATA_MESSAGE_BYTES:
                continue
            yield message
            chunk_filled += message_bytes
            message, message_bytes = [], 0
            if chunk_filled == CHUNK_BYTES:
                yield ChunkEnd(index, chunk_start, chunk_filled, chunk_hash.hexdigest())
                index, chunk_start, chunk_filled = index + 1, chunk_start + chunk_filled, 0
                chunk_hash = hashlib.sha256()
    if message:
        yield message
        chunk_filled += message_bytes
    if chunk_filled:
        yield ChunkEnd(index, chunk_start, chunk_filled, chunk_hash.hexdigest())


def save_requests(pieces: Iterable[Segment], named: frozenset[str]) -> Generator[pb.SaveCheckpointRequest, None, None]:
    """The messages of a save after its header: the chunks of the pieces' bytes
    (see :func:`cut_chunks`), each sent in data messages, or named by a
    ``chunk_sha256`` message when ``named`` (the base's chunks) has its hash;
    then the trailer with the size and the SHA-256 of the chunk list, which the
    runtime checks the chunks against, so that no byte is hashed twice.

    With nothing to name, each data message is sent as soon as its bytes are
    there; otherwise a chunk's views are held until its hash says whether to
    send it or name it.
    """
    chunk_sha256s: list[str] = []
    size_bytes = 0
    held: list[list[Segment]] = []  # the current chunk's data messages, when it may be named
    for item in cut_chunks(pieces):
        if not isinstance(item, ChunkEnd):
            if named:
                held.append(item)
            else:
                yield _data_request(item)
            continue
        chunk_sha256s.append(item.sha256)
        size_bytes += item.size
        if item.sha256 in named:
            yield pb.SaveCheckpointRequest(chunk_sha256=item.sha256)
        else:
            yield from (_data_request(segments) for segments in held)
        held.clear()
    # The last message: without it the runtime commits nothing.
    trailer = pb.SaveCheckpointTrailer(size_bytes=size_bytes, chunks_sha256=chunks_sha256(chunk_sha256s))
    yield pb.SaveCheckpointRequest(trailer=trailer)


def _data_request(segments: list[Segment]) -> pb.SaveCheckpointRequest:
    """One data message of ``segments``; a message field takes ``bytes``, so views are copied here, once."""
    if len(segments) == 1 and isinstance(segments[0], bytes):
        return pb.SaveCheckpointRequest(data=segments[0])  # a whole piece: nothing to copy
    return pb.SaveCheckpointRequest(data=b"".join(segments))


def save_header(worker_id: str, metadata: Metadata | None, idempotency_key: str | None) -> pb.SaveCheckpointHeader:
    """The header of a save, with a new random idempotency key unless one is given.

    Raises:
        PulseError: INVALID_ARGUMENT for metadata over its limit.
        TypeError, ValueError: metadata that is not JSON.
    """
    return pb.SaveCheckpointHeader(
        worker_id=worker_id,
        metadata=metadata_struct(_ACTION, metadata),
        idempotency_key=idempotency_key or str(uuid.uuid4()),
        # Every save ends with a trailer; a stream cut before it commits nothing.
        expect_trailer=True,
    )


def buffer_pieces(data: bytes | bytearray | memoryview) -> Callable[[], Iterator[Segment]]:
    """The pieces of bytes in memory: one view of them, which the save cuts into
    views (never a copy of it whole); each call starts again, for a retry.

    Raises:
        TypeError: ``data`` is not bytes-like.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"Cannot save checkpoint: data is {type(data).__name__}, expected bytes")
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")

    def pieces() -> Iterator[Segment]:
        if view.nbytes:
            yield view

    return pieces


def file_pieces(fileobj: BinaryReader) -> tuple[Callable[[], Iterator[Segment]], Callable[[], bool]]:
    """The pieces of a binary file object, read :data:`DATA_MESSAGE_BYTES` at a
    time from where it is now, and the function that rewinds it there for a
    retry (``False`` when it cannot seek)."""
    start = _position_of(fileobj)

    def pieces() -> Iterator[Segment]:
        while True:
            piece = fileobj.read(DATA_MESSAGE_BYTES)
            if piece is None:
                raise BlockingIOError("Cannot save checkpoint: the file object has no data ready (non-blocking)")
            if not isinstance(piece, (bytes, bytearray)):
                raise TypeError(
                    f"Cannot save checkpoint: fileobj.read() returned {type(piece).__name__}; open it in binary mode"
                )
            if not piece:
                return
            # A bytearray is copied: the reader may reuse it once it reads again.
            yield piece if isinstance(piece, bytes) else bytes(piece)

    def rewind() -> bool:
        if start is None:
            return False
        getattr(fileobj, "seek")(start)
        return True

    return pieces, rewind


def _position_of(fileobj: object) -> int | None:
    """Where a seekable file object is, or ``None`` if it cannot seek."""
    seekable = getattr(fileobj, "seekable", None)
    tell = getattr(fileobj, "tell", None)
    if not callable(seekable) or not callable(tell):
        return None
    try:
        if not seekable():
            return None
        position = tell()
    except OSError:
        return None
    return position if isinstance(position, int) else None


def latest_base(channel: Channel, worker_id: str) -> SaveBase | None:
    """The worker's latest checkpoint and its chunks, the base of an incremental
    save; ``None`` when it has no checkpoint, or one without chunks (nothing to name)."""
    request = pb.GetCheckpointRequest(worker_id=worker_id, include_chunks=True)
    try:
        response = channel.unary(_ACTION, "GetCheckpoint", request)
    except PulseError as error:
        if error.code == "NOT_FOUND":
            return None
        raise
    if not response.chunk_sha256s:
        return None
    return SaveBase(response.checkpoint.checkpoint_id, frozenset(response.chunk_sha256s))


def save(
    channel: Channel,
    header: pb.SaveCheckpointHeader,
    pieces: Callable[[], Iterator[Segment]],
    rewind: Callable[[], bool],
    *,
    incremental: bool,
    base: tuple[SaveBase | None] | None = None,
) -> pb.Checkpoint:
    """Runs SaveCheckpoint: the header, the chunks of the pieces' bytes (sent, or
    named when the base has them), then the trailer; on UNAVAILABLE, again from
    ``rewind()`` (when it can) with the same header, key and base, on the next
    replica (which shares the store, so the key finds a committed save). An
    incremental save's base is the worker's latest checkpoint, asked for once
    (``base`` holds it when the caller asked for it already: a direct save
    falling back, or a shard's, see ``_jobs.py``).

    Raises:
        PulseError: the save failed; CANCELLED when the channel was closed.
        Exception: whatever reading the pieces raised; the call is then cancelled.
    """
    if base is None:
        base = (latest_base(channel, header.worker_id) if incremental else None,)
    if base[0] is not None:
        header.base_checkpoint_id = base[0].checkpoint_id
    named = base[0].chunk_sha256s if base[0] is not None else frozenset()
    attempts = channel.attempts()
    while True:
        feed = _SaveFeed(header, pieces(), named)
        call = channel.start(_ACTION, lambda: attempts.stub.SaveCheckpoint.future(feed, metadata=channel.metadata))
        feed.attach(call)
        try:
            response: pb.SaveCheckpointResponse = call.result()
            return response.checkpoint
        except (grpc.RpcError, grpc.FutureCancelledError) as error:
            feed.close()
            if feed.error is not None:
                raise feed.error from None
            channel.check_open(_ACTION)
            if not isinstance(error, grpc.RpcError):
                raise PulseError("CANCELLED", "Cannot save checkpoint: the call was cancelled") from None
            # The runtime found a chunk of the base rotten (or gone): send it in full.
            rotten = _rotten_base_chunk(error, named)
            if rotten is not None and rewind():
                named = named - {rotten}
                continue
            if not attempts.retry(error, ready=rewind):
                raise from_rpc_error(error) from None
        except BaseException:
            # Interrupted (KeyboardInterrupt, ...): end the call before the
            # feed, so the runtime never sees a complete-looking stream.
            call.cancel()
            raise
        finally:
            feed.close()


_ROTTEN_BASE_CHUNK = re.compile(r"chunk ([0-9a-f]{64}) of base checkpoint")


def _rotten_base_chunk(error: grpc.RpcError, named: frozenset[str]) -> str | None:
    """The chunk of the base that a DATA_LOSS names as failing its SHA-256 or
    missing, if the save named it."""
    if error.code() != grpc.StatusCode.DATA_LOSS:
        return None
    match = _ROTTEN_BASE_CHUNK.search(error.details() or "")
    return match.group(1) if match is not None and match.group(1) in named else None


class _SaveFeed:
    """The request stream of one attempt of a save: the header, then
    :func:`save_requests` of the pieces.

    gRPC reads it on a thread of its own. A lock keeps that thread from reading
    the source once :meth:`close` has returned, so that after a save returns the
    caller's file is theirs again, and a retry can rewind it. When the source
    fails, the call is cancelled (never ended normally, which would commit a
    truncated checkpoint) and the error is kept for the caller.
    """

    def __init__(self, header: pb.SaveCheckpointHeader, pieces: Iterator[Segment], named: frozenset[str]) -> None:
        self._header: pb.SaveCheckpointHeader | None = header
        self._pieces = pieces
        self._requests = save_requests(pieces, named)
        self._lock = threading.Lock()
        self._closed = False
        self._call: grpc.Future | None = None
        self._attached = threading.Event()
        #: What the source raised, if it did.
        self.error: BaseException | None = None

    def attach(self, call: grpc.Future) -> None:
        """Gives the feed the call it feeds, so that it can cancel it."""
        self._call = call
        self._attached.set()

    def close(self) -> None:
        """Stops reading the source; waits for a read in progress to end."""
        with self._lock:
            if not self._closed:
                self._closed = True
                # Closing the generators lets go of the chunk they hold (views
                # of the caller's buffer among them).
                self._requests.close()
                close = getattr(self._pieces, "close", None)
                if callable(close):
                    close()

    def __iter__(self) -> _SaveFeed:
        return self

    def __next__(self) -> pb.SaveCheckpointRequest:
        with self._lock:
            if self._closed:
                raise StopIteration
            if self._header is not None:
                header, self._header = self._header, None
                return pb.SaveCheckpointRequest(header=header)
            try:
                return next(self._requests)
            except StopIteration:
                raise  # after the trailer: the end of the stream
            except BaseException as error:
                self.error = error
                self._closed = True
        self._attached.wait()
        assert self._call is not None
        self._call.cancel()
        raise StopIteration
