"""Saves through the direct path: the bytes cut into the chunks the stream path
cuts (8 MiB), each hashed once as it is read; the chunk list planned with
PlanSave in parts (the first part a single chunk, so that a runtime without
a direct path is found before more is read); each chunk the plan asks for PUT
to its presigned URL with the signed headers, ``parallelism`` at once; then
the commit, SaveCheckpoint with the plan id, one ``chunk`` message per chunk
and the trailer. The runtime checks every chunk in the store before the
manifest is written, so nothing partial is ever visible.

At most ``parallelism + 1`` chunks of a save are in memory: bytes in memory
are uploaded from views of them (no copy); a seekable file is read once in
order (hashing) and again at each chunk's offset for its upload; a file that
cannot seek has its chunks held from their read to their upload, the reader
waiting for a free slot.

An expired URL is planned again (PlanSave with the plan id); a bucket that
cannot be reached before anything was uploaded, or a runtime answering
FAILED_PRECONDITION, raises :class:`FallBack`: the caller saves through the
stream path instead, under the same idempotency key.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import grpc

from ._channel import Channel
from ._checkpoint_save import BinaryReader, SaveBase, Segment, _position_of, chunks_sha256, latest_base
from ._direct_transfer import DirectPath, FallBack, TransferFailure, with_retries
from ._errors import PulseError, from_rpc_error
from ._generated import pulse_pb2 as pb
from ._protocol import CHUNK_BYTES, DATA_MESSAGE_BYTES, PLAN_CHUNKS_MAX

_ACTION = "save checkpoint"

#: Most chunks of a PlanSave part, for sources read again at upload (each part
#: is a lease object the runtime writes); parts grow to it by ``parallelism``
#: chunks, so that the first uploads need not wait for much hashing.
_PART_CHUNKS = 32

_NO_DIRECT_PATH = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNIMPLEMENTED)


class ChunkSource:
    """The bytes of a save as chunks: read once in order, then by index for upload."""

    #: Whether chunks must be held from their read to their upload (no second read).
    holds = False

    def chunks(self) -> Iterator[memoryview]:
        """The chunks in order, each :data:`CHUNK_BYTES` but the last."""
        raise NotImplementedError

    def chunk_at(self, index: int, size: int) -> memoryview:
        """Chunk ``index`` again (of ``size`` bytes), for its upload."""
        raise NotImplementedError

    def done(self, size_bytes: int) -> None:
        """The save read ``size_bytes`` bytes in all."""

    def restart(self) -> bool:
        """Makes :meth:`chunks` start again from the first; ``False`` when it cannot."""
        return True


class BufferSource(ChunkSource):
    """Bytes in memory: every chunk is a view of them."""

    def __init__(self, view: memoryview) -> None:
        self._view = view

    def chunks(self) -> Iterator[memoryview]:
        for start in range(0, self._view.nbytes, CHUNK_BYTES):
            yield self._view[start : start + CHUNK_BYTES]

    def chunk_at(self, index: int, size: int) -> memoryview:
        return self._view[index * CHUNK_BYTES : index * CHUNK_BYTES + size]


def buffer_source(pieces: Callable[[], Iterator[Segment]]) -> BufferSource:
    """The source of bytes in memory, from their :func:`~pulse._checkpoint_save.buffer_pieces`
    (one view of them, none when empty)."""
    view = next(pieces(), b"")
    return BufferSource(view if isinstance(view, memoryview) else memoryview(view))


class FileSource(ChunkSource):
    """A binary file object from where it is, read in order in pieces of
    :data:`DATA_MESSAGE_BYTES` (as the stream path reads it, which can then go
    on from where this stopped); read again at a chunk's offset for its
    upload when it can seek (``os.pread`` for a regular file, else seek and
    read under a lock), otherwise held from its read to its upload."""

    def __init__(self, fileobj: BinaryReader) -> None:
        self._file = fileobj
        self._start = _position_of(fileobj)
        self.holds = self._start is None
        self._lock = threading.Lock()
        self._fd = _regular_fd(fileobj) if not self.holds else None
        # Where the reading in order is, when reads again for uploads move the file's position.
        self._next = self._start or 0

    def chunks(self) -> Iterator[memoryview]:
        while True:
            # Filled in place: a chunk and the piece being read are all this holds.
            chunk = bytearray(CHUNK_BYTES)
            got = 0
            while got < CHUNK_BYTES:
                piece = self._read_in_order(min(DATA_MESSAGE_BYTES, CHUNK_BYTES - got))
                if not piece:
                    break
                chunk[got : got + len(piece)] = piece
                got += len(piece)
                del piece
            if got:
                yield memoryview(chunk)[:got] if got < CHUNK_BYTES else memoryview(chunk)
            if got < CHUNK_BYTES:
                return

    def rest(self) -> Iterator[Segment]:
        """What is left to read in order, in pieces, for the stream path."""
        while piece := self._read_in_order(DATA_MESSAGE_BYTES):
            yield piece

    def chunk_at(self, index: int, size: int) -> memoryview:
        assert self._start is not None, "a file that cannot seek holds its chunks"
        offset = self._start + index * CHUNK_BYTES
        fd = self._fd
        if fd is not None:
            chunk = _read_full(lambda want, at: os.pread(fd, want, at), offset, size)
        else:
            with self._lock:
                getattr(self._file, "seek")(offset)
                chunk = _read_full(lambda want, at: self._read(want), offset, size)
        if len(chunk) != size:
            raise PulseError(
                "FAILED_PRECONDITION",
                f"Cannot save checkpoint: chunk {index} of the file was {size} bytes when hashed, "
                f"{len(chunk)} when read again for its upload; the file changed during the save",
            )
        return memoryview(chunk)

    def done(self, size_bytes: int) -> None:
        # As after a save through the stream path: at the end of what was saved.
        if self._start is not None:
            getattr(self._file, "seek")(self._start + size_bytes)

    def restart(self) -> bool:
        if self._start is None:
            return False
        getattr(self._file, "seek")(self._start)
        self._next = self._start
        return True

    def _read_in_order(self, size: int) -> bytes:
        if self._start is None or self._fd is not None:
            return self._read(size)  # nothing else moves the file's position
        with self._lock:
            getattr(self._file, "seek")(self._next)
            piece = self._read(size)
            self._next += len(piece)
            return piece

    def _read(self, size: int) -> bytes:
        piece = self._file.read(size)
        if piece is None:
            raise BlockingIOError("Cannot save checkpoint: the file object has no data ready (non-blocking)")
        if not isinstance(piece, (bytes, bytearray)):
            raise TypeError(
                f"Cannot save checkpoint: fileobj.read() returned {type(piece).__name__}; open it in binary mode"
            )
        return bytes(piece)


def _read_full(read: Callable[[int, int], bytes], offset: int, size: int) -> bytes:
    """``size`` bytes read with ``read(size, offset)``, fewer only at the end."""
    pieces: list[bytes] = []
    got = 0
    while got < size:
        piece = read(size - got, offset + got)
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _regular_fd(fileobj: object) -> int | None:
    """The descriptor of a regular file (``os.pread`` reads it from any thread), or ``None``."""
    fileno = getattr(fileobj, "fileno", None)
    if not callable(fileno) or getattr(fileobj, "closed", False):
        return None
    try:
        descriptor = fileno()
        return descriptor if isinstance(descriptor, int) and stat.S_ISREG(os.fstat(descriptor).st_mode) else None
    except (OSError, ValueError):
        return None


def direct_save(
    channel: Channel,
    direct: DirectPath,
    header: pb.SaveCheckpointHeader,
    source: ChunkSource,
    *,
    incremental: bool,
) -> pb.Checkpoint:
    """Saves ``source`` through the direct path: plan, upload, commit.

    A commit refused with DATA_LOSS (a chunk that is not in the store, or
    that the runtime found not hashing to its name and removed: rotten, or
    uploaded by a client that sent other bytes) is planned and uploaded once
    more, without the base, when the source can be read again: the new plan
    asks for the upload of what the store now lacks.

    Raises:
        FallBack: the runtime offers no direct path, or the bucket was out of
            reach before anything was uploaded; ``pieces`` of it, when set,
            are what the stream path must send (a source that cannot be read again).
        PulseError: the save failed; DATA_LOSS when the bucket or the runtime
            found a chunk's bytes not matching its SHA-256.
    """
    base = latest_base(channel, header.worker_id) if incremental else None
    for attempt in (1, 2):
        uploads = _upload_all(channel, direct, header, base, source)
        if uploads.existing is not None:
            return uploads.existing
        source.done(uploads.size_bytes)
        try:
            return _commit(channel, header, uploads)
        except PulseError as error:
            if error.code != "DATA_LOSS" or attempt == 2 or not source.restart():
                raise
            base = None
    raise AssertionError("unreachable: the second attempt returns or raises")


def _upload_all(
    channel: Channel,
    direct: DirectPath,
    header: pb.SaveCheckpointHeader,
    base: SaveBase | None,
    source: ChunkSource,
) -> _Uploads:
    """Reads, hashes, plans and uploads every chunk of ``source``.

    Raises:
        FallBack: as for :func:`direct_save`.
    """
    uploads = _Uploads(channel, direct, header, base, source)
    chunks = source.chunks()
    try:
        while True:
            uploads.reserve()
            chunk = next(chunks, None) if uploads.existing is None else None
            if chunk is None:
                break
            uploads.add(chunk)
        if not uploads.refs:
            raise FallBack()  # no bytes: PlanSave takes 1 to PLAN_CHUNKS_MAX chunks, the stream path any
        uploads.finish()
    except FallBack as fallback:
        uploads.abandon()
        fallback.base = (base,)
        if isinstance(source, FileSource):
            fallback.pieces = uploads.unsent_pieces(source)
        raise
    except BaseException:
        uploads.abandon()
        raise
    return uploads


class _Uploads:
    """The chunks of one direct save on their way: hashed, planned in parts,
    uploaded by a pool of ``parallelism`` threads."""

    def __init__(
        self,
        channel: Channel,
        direct: DirectPath,
        header: pb.SaveCheckpointHeader,
        base: SaveBase | None,
        source: ChunkSource,
    ) -> None:
        self._channel = channel
        self._direct = direct
        self._header = header
        self._base_id = base.checkpoint_id if base is not None else ""
        self._source = source
        self._pool = ThreadPoolExecutor(direct.parallelism, thread_name_prefix="pulse-upload")
        self._futures: list[Future[None]] = []
        # Memory slots: a held chunk takes one from its read to its upload.
        self._slots = threading.Semaphore(direct.parallelism + 1)
        self._held: dict[int, memoryview] = {}
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._whole = hashlib.sha256()
        self._failure: BaseException | None = None
        self._uploaded_any = False
        self._released_any = False
        self._first: memoryview | None = None
        self._parts = 0
        self.plan_id = ""
        self.refs: list[pb.ChunkRef] = []
        self.size_bytes = 0
        self.existing: pb.Checkpoint | None = None

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of all the bytes read."""
        return self._whole.hexdigest()

    def reserve(self) -> None:
        """Makes room for the next chunk: raises an upload's failure, and for a
        held source waits for a slot (planning what waits first, so that
        uploads free slots)."""
        self._channel.check_open(_ACTION)
        self._raise_failure()
        if not self._source.holds:
            return
        if not self._slots.acquire(blocking=False):
            self._flush()
            while not self._slots.acquire(timeout=0.1):
                self._channel.check_open(_ACTION)
                self._raise_failure()

    def add(self, chunk: memoryview) -> None:
        """Hashes a chunk and plans it when its part is full."""
        index = len(self.refs)
        self.refs.append(pb.ChunkRef(sha256=hashlib.sha256(chunk).hexdigest(), size=chunk.nbytes))
        self._whole.update(chunk)
        self.size_bytes += chunk.nbytes
        if self._source.holds:
            self._held[index] = chunk
        # Kept until the first plan answers: a runtime without a direct path
        # then gets it through the stream path without a second read.
        self._first = chunk if index == 0 else None
        self._pending.append(index)
        # The first part is one chunk: a runtime without a direct path says so before more is read.
        part = self._next_part_chunks()
        if len(self._pending) >= part:
            self._flush()

    def _next_part_chunks(self) -> int:
        """Chunks of the part being gathered: 1 for the first, then ``parallelism``
        for a held source (its chunks wait in memory), else growing by
        ``parallelism`` up to _PART_CHUNKS."""
        if not self.plan_id:
            return 1
        if self._source.holds:
            return self._direct.parallelism
        return min(_PART_CHUNKS, self._direct.parallelism * self._parts, PLAN_CHUNKS_MAX)

    def finish(self) -> None:
        """Plans what is left and waits for every upload."""
        if self._pending:
            self._flush()
        for future in self._futures:
            future.result()
        self._raise_failure()
        self._pool.shutdown()

    def abandon(self) -> None:
        """Stops: no upload starts any more; those under way end."""
        self._failure = self._failure or PulseError("CANCELLED", "Cannot save checkpoint: abandoned")
        self._pool.shutdown(wait=True, cancel_futures=True)

    def unsent_pieces(self, source: FileSource) -> Callable[[], Iterator[Segment]] | None:
        """For the stream path: the chunks read so far, then the rest of the
        file, when they are all still here (held, or the first and only one);
        else ``None``: the file must be read again from its start."""
        if source.holds and not self._released_any:
            held = [self._held[index] for index in sorted(self._held)]
        elif self._first is not None and len(self.refs) == 1:
            held = [self._first]
        else:
            return None
        return lambda: itertools.chain(held, source.rest())

    def _flush(self) -> None:
        """Plans the pending chunks (a PlanSave part) and starts their uploads."""
        if self.existing is not None or not self._pending:
            return
        indices, self._pending = self._pending, []
        self._parts += 1
        response = self._plan([self.refs[index] for index in indices])
        if response.HasField("existing"):
            self.existing = response.existing
            return
        self.plan_id = response.plan_id
        planned = set()
        for upload in response.uploads:
            index = indices[upload.index]
            planned.add(index)
            self._futures.append(self._pool.submit(self._upload, index, upload.url, dict(upload.headers)))
        for index in indices:
            if index not in planned:
                self._release(index)

    def _plan(self, refs: list[pb.ChunkRef]) -> pb.PlanSaveResponse:
        """PlanSave of ``refs``, with this save's plan id once it has one.

        Raises:
            FallBack: FAILED_PRECONDITION (no direct path here) or UNIMPLEMENTED.
        """
        request = pb.PlanSaveRequest(
            worker_id=self._header.worker_id,
            plan_id=self.plan_id,
            idempotency_key=self._header.idempotency_key,
            base_checkpoint_id=self._base_id,
            chunks=refs,
        )
        try:
            response: pb.PlanSaveResponse = self._channel.unary(_ACTION, "PlanSave", request)
            return response
        except PulseError as error:
            if error.code in {code.name for code in _NO_DIRECT_PATH}:
                self._direct.fall_back(f"the runtime offers no direct path ({error.code}: {error.message})")
                raise FallBack() from None
            raise

    def _upload(self, index: int, url: str, headers: dict[str, str]) -> None:
        """PUTs chunk ``index``, with retries; a URL that expired is planned again."""
        if self._failure is not None:
            return
        try:
            self._put(index, url, headers)
            self._uploaded_any = True
            self._release(index)
        except TransferFailure as failure:
            self._fail(self._error_of(index, failure))
        except BaseException as error:
            self._fail(error)

    def _put(self, index: int, url: str, headers: dict[str, str]) -> None:
        ref = self.refs[index]
        held = self._held.get(index)
        body = held if held is not None else self._source.chunk_at(index, int(ref.size))
        target = {"url": url}
        signed = [headers]

        def replan() -> None:
            response = self._plan([ref])
            if not response.uploads:
                target["url"] = ""  # the store has it now (another save uploaded it)
                return
            target["url"], signed[0] = response.uploads[0].url, dict(response.uploads[0].headers)

        def put() -> None:
            if target["url"]:
                self._direct.http.put(target["url"], signed[0], body)

        with_retries(self._channel.retry_policy, put, replan)

    def _error_of(self, index: int, failure: TransferFailure) -> BaseException:
        """What a chunk's failed upload means for the save."""
        chunk = f"chunk {index} ({self.refs[index].sha256})"
        if failure.kind == "unreachable" and not self._uploaded_any:
            self._direct.fall_back(f"the bucket is not reachable from here ({failure})")
            return FallBack()
        if failure.kind == "digest":
            return PulseError("DATA_LOSS", f"Cannot save checkpoint: the bucket refused {chunk}: {failure}")
        code = "PERMISSION_DENIED" if failure.status == 403 else "UNAVAILABLE"
        return PulseError(code, f"Cannot save checkpoint: the upload of {chunk} failed: {failure}")

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = error

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _release(self, index: int) -> None:
        """Lets go of a chunk that is uploaded or needs no upload."""
        if self._source.holds:
            with self._lock:
                self._held.pop(index, None)
                self._released_any = True
            self._slots.release()


def _commit(channel: Channel, header: pb.SaveCheckpointHeader, uploads: _Uploads) -> pb.Checkpoint:
    """SaveCheckpoint with the plan id: the chunks named in order, then the
    trailer; retried on UNAVAILABLE (the chunks stay in the bucket, and the
    idempotency key finds a commit whose answer was lost)."""
    commit_header = pb.SaveCheckpointHeader()
    commit_header.CopyFrom(header)
    commit_header.plan_id = uploads.plan_id
    commit_header.base_checkpoint_id = ""
    trailer = pb.SaveCheckpointTrailer(
        size_bytes=uploads.size_bytes,
        sha256=uploads.sha256,
        chunks_sha256=chunks_sha256(ref.sha256 for ref in uploads.refs),
    )
    requests = [
        pb.SaveCheckpointRequest(header=commit_header),
        *(pb.SaveCheckpointRequest(chunk=ref) for ref in uploads.refs),
        pb.SaveCheckpointRequest(trailer=trailer),
    ]
    attempts = channel.attempts()
    while True:
        try:
            response: pb.SaveCheckpointResponse = channel.start(
                _ACTION, lambda: attempts.stub.SaveCheckpoint(iter(requests), metadata=channel.metadata)
            )
            return response.checkpoint
        except grpc.RpcError as error:
            channel.check_open(_ACTION)
            if not attempts.retry(error):
                raise from_rpc_error(error) from None

