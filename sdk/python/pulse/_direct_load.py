"""Loads through the direct path: PlanLoad pages of presigned GETs (the first
page also fixes which checkpoint "the latest" is), ``parallelism`` chunks
fetched at once, each checked against its size and SHA-256 before a byte of
it reaches the caller, and handed over in order; the whole is checked
against the checkpoint's SHA-256 at the end. At most ``parallelism + 1``
chunks are in memory: those being fetched or waiting for their turn, and the
one being written.

A GET that fails is tried again with backoff and full jitter, and one whose
URL expired gets a fresh page from that chunk on; chunks already handed over
stay handed over (the load resumes). A runtime answering FAILED_PRECONDITION,
or a bucket out of reach before any byte was handed over, raises
:class:`FallBack`: the caller loads through the stream path instead.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from ._channel import Channel
from ._direct_transfer import DirectPath, FallBack, TransferFailure, with_retries
from ._errors import PulseError
from ._generated import pulse_pb2 as pb
from ._protocol import CHUNK_BYTES
from ._types import Checkpoint, checkpoint_of

_ACTION = "load checkpoint"
_NO_DIRECT_PATH = ("FAILED_PRECONDITION", "UNIMPLEMENTED")


def direct_load(
    channel: Channel,
    direct: DirectPath,
    worker_id: str,
    checkpoint_id: str | None,
    write: Callable[[bytes], object],
) -> Checkpoint:
    """Loads a checkpoint (the worker's latest when ``checkpoint_id`` is
    ``None``) from the bucket, passing it to ``write`` one verified chunk at a time.

    Raises:
        FallBack: no direct path here, or no connection to the bucket before
            any byte was written.
        PulseError: the load failed; DATA_LOSS naming the checkpoint and the
            chunk when a chunk's bytes do not match its SHA-256.
    """
    pages = _Pages(channel, direct, worker_id, checkpoint_id or "")
    listed = pages.checkpoint
    count = -(-int(listed.size_bytes) // CHUNK_BYTES)
    whole = hashlib.sha256()
    written = 0
    pool = ThreadPoolExecutor(direct.parallelism, thread_name_prefix="pulse-download")
    in_flight: deque[Future[bytes]] = deque()
    try:
        fetched = 0
        while written < count:
            while fetched < count and len(in_flight) < direct.parallelism:
                in_flight.append(pool.submit(_fetch, pages, fetched))
                fetched += 1
            chunk = _result(in_flight.popleft(), pages, written)
            whole.update(chunk)
            write(chunk)
            written += 1
            del chunk
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if whole.hexdigest() != listed.sha256:
        raise pages.data_loss(
            f"its {count} chunks matched their SHA-256s, but the whole has SHA-256 {whole.hexdigest()}, "
            f"the checkpoint says {listed.sha256}"
        )
    return checkpoint_of(listed)


def _result(future: Future[bytes], pages: _Pages, written: int) -> bytes:
    """A fetched chunk; an unreachable bucket before anything was written is a fall-back."""
    try:
        return future.result()
    except TransferFailure as failure:
        if failure.kind == "unreachable" and written == 0:
            pages.direct.fall_back(f"the bucket is not reachable from here ({failure})")
            raise FallBack() from None
        code = "PERMISSION_DENIED" if failure.status == 403 else "UNAVAILABLE"
        raise PulseError(
            code, f"Cannot load checkpoint {pages.checkpoint.checkpoint_id}: {pages.chunk_name(written)}: {failure}"
        ) from None


def _fetch(pages: _Pages, index: int) -> bytes:
    """GETs chunk ``index`` and checks it, with retries; an expired URL gets a fresh page."""
    chunk = pages.chunk(index)
    data = with_retries(
        pages.channel.retry_policy,
        lambda: pages.direct.http.get(pages.chunk(index).url),
        lambda: pages.renew(index),
    )
    if len(data) != chunk.size or hashlib.sha256(data).hexdigest() != chunk.sha256:
        raise pages.data_loss(
            f"{pages.chunk_name(index)} arrived as {len(data)} bytes with SHA-256 {hashlib.sha256(data).hexdigest()}, "
            f"the checkpoint's chunk list says {chunk.size} bytes with SHA-256 {chunk.sha256}"
        )
    return data


class _Pages:
    """A checkpoint's chunks with their presigned GETs, fetched a PlanLoad page at a time."""

    def __init__(self, channel: Channel, direct: DirectPath, worker_id: str, checkpoint_id: str) -> None:
        self.channel = channel
        self.direct = direct
        self._worker_id = worker_id
        self._lock = threading.Lock()
        self._chunks: dict[int, pb.ChunkDownload] = {}
        first = self._page(checkpoint_id, 0)
        #: The checkpoint being loaded, fixed by the first page.
        self.checkpoint = first.checkpoint
        self._take(first, 0)

    def chunk(self, index: int) -> pb.ChunkDownload:
        """Chunk ``index`` and its URL, asking for its page when it is not known yet."""
        with self._lock:
            known = self._chunks.get(index)
        if known is None:
            self.renew(index)
            with self._lock:
                known = self._chunks.get(index)
        if known is None:
            raise self.data_loss(f"the runtime's pages list no {self.chunk_name(index)}")
        return known

    def renew(self, index: int) -> None:
        """Fresh URLs from chunk ``index`` on."""
        page = self._page(self.checkpoint.checkpoint_id, index)
        if (page.checkpoint.checkpoint_id, page.checkpoint.sha256) != (
            self.checkpoint.checkpoint_id,
            self.checkpoint.sha256,
        ):
            raise self.data_loss(f"the page from chunk {index} describes checkpoint {page.checkpoint.checkpoint_id}")
        self._take(page, index)

    def chunk_name(self, index: int) -> str:
        """E.g. ``chunk 2 of 5 (from byte 16777216)``."""
        count = -(-int(self.checkpoint.size_bytes) // CHUNK_BYTES)
        return f"chunk {index} of {count} (from byte {index * CHUNK_BYTES})"

    def data_loss(self, reason: str) -> PulseError:
        """The DATA_LOSS error of this checkpoint, for ``reason``."""
        return PulseError("DATA_LOSS", f"Cannot load checkpoint {self.checkpoint.checkpoint_id}: {reason}")

    def _take(self, page: pb.PlanLoadResponse, first: int) -> None:
        with self._lock:
            for offset, chunk in enumerate(page.chunks):
                self._chunks[first + offset] = chunk

    def _page(self, checkpoint_id: str, first: int) -> pb.PlanLoadResponse:
        """PlanLoad from chunk ``first``.

        Raises:
            FallBack: FAILED_PRECONDITION (no direct path here) or UNIMPLEMENTED.
        """
        request = pb.PlanLoadRequest(worker_id=self._worker_id, checkpoint_id=checkpoint_id, first_chunk=first)
        try:
            response: pb.PlanLoadResponse = self.channel.unary(_ACTION, "PlanLoad", request)
            return response
        except PulseError as error:
            if error.code in _NO_DIRECT_PATH:
                self.direct.fall_back(f"the runtime offers no direct path ({error.code}: {error.message})")
                raise FallBack() from None
            raise
