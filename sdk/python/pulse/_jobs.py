"""Job checkpoints: each rank of a distributed job saves its shard of a step
(a checkpoint of the job: the header's ``shard``), any rank commits the step,
all or nothing, and a job resumes from its latest complete step.

A shard is saved as a checkpoint is (``_checkpoint_save.py``: the same
chunks, hashes, trailer and retries under one idempotency key), incremental
against the same rank's shard of the job's latest complete step; it is loaded
as a checkpoint is (``_checkpoint_load.py``), every chunk verified.

The twin of the TypeScript SDK's ``sdk/jobs.ts``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Union

import grpc

from ._channel import Channel
from ._checkpoint_load import load, write_all
from ._checkpoint_save import BinaryReader, SaveBase, Segment, buffer_pieces, file_pieces, save, save_header
from ._errors import PulseError, from_rpc_error
from ._generated import pulse_pb2 as pb
from ._pending_saves import PendingSaves, snapshot
from ._protocol import CHUNK_BYTES, LOAD_WINDOW_BYTES
from ._types import Checkpoint, Step, checkpoint_of, step_of
from ._wire import Metadata

#: What a shard's bytes may be: bytes in memory, a binary file object, or an
#: iterable of pieces of bytes (a list or tuple of them is read again for a
#: retry; another iterable once, so a save from it is not retried).
ShardData = Union[bytes, bytearray, memoryview, BinaryReader, Iterable[Union[bytes, bytearray, memoryview]]]

#: How much longer than the commit's own deadline its gRPC call may take: the
#: runtime decides at its deadline, then writes and answers.
COMMIT_ANSWER_SECONDS = 30.0

_SAVE = "save shard"
_COMMIT = "commit step"


def shard_ref(job_id: str, step: int, rank: int, world_size: int, *, step_metadata: bool = False) -> pb.ShardRef:
    """The ``shard`` of a save's header.

    Raises:
        PulseError: INVALID_ARGUMENT for a negative step, rank or world size
            (the runtime checks the rest: the job id, rank below world size).
    """
    for name, value in (("step", step), ("rank", rank), ("world_size", world_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PulseError("INVALID_ARGUMENT", f"Cannot {_SAVE}: {name} is {value!r}, expected an integer of 0 or more")
    return pb.ShardRef(job_id=job_id, step=step, rank=rank, world_size=world_size, step_metadata=step_metadata)


def previous_shard_base(channel: Channel, shard: pb.ShardRef) -> SaveBase | None:
    """The same rank's shard of the job's latest complete step and its chunks,
    the base of an incremental shard save; ``None`` when there is none (no
    complete step, another world size, no shard of the rank, no chunks)."""
    try:
        latest = channel.unary(_SAVE, "GetStep", pb.GetStepRequest(job_id=shard.job_id)).step
        if latest.world_size != shard.world_size:
            return None
        previous = next((s for s in latest.shards if s.rank == shard.rank), None)
        if previous is None:
            return None
        request = pb.GetCheckpointRequest(
            job_id=shard.job_id, checkpoint_id=previous.checkpoint_id, include_chunks=True
        )
        response = channel.unary(_SAVE, "GetCheckpoint", request)
    except PulseError as error:
        # No complete step, or its shard deleted meanwhile (retention): save whole.
        if error.code == "NOT_FOUND":
            return None
        raise
    if not response.chunk_sha256s:
        return None
    return SaveBase(response.checkpoint.checkpoint_id, frozenset(response.chunk_sha256s))


def save_job_checkpoint(
    channel: Channel,
    pending: PendingSaves,
    shard: pb.ShardRef,
    data: ShardData,
    *,
    metadata: Metadata | None,
    worker_id: str | None,
    incremental: bool,
    wait: bool,
) -> Checkpoint | Future[Checkpoint]:
    """Saves a shard (or a step's metadata) as a checkpoint of the job, with one
    idempotency key for every attempt; with ``wait=False`` in the background,
    in the slot of the rank's worker (of the job's rank when it names none).

    Raises:
        PulseError: the save failed (with ``wait=False``: the future raises it,
            but for what is checked before sending).
        TypeError, ValueError: metadata that is not JSON, data of another type.
    """
    header = save_header(worker_id or "", metadata, None)
    header.shard.CopyFrom(shard)
    pieces, rewind = _pieces_of(data)

    def run(pieces: Callable[[], Iterator[Segment]]) -> Checkpoint:
        base = previous_shard_base(channel, shard) if incremental else None
        return checkpoint_of(save(channel, header, pieces, rewind, incremental=False, base=(base,)))

    if wait:
        return run(pieces)

    def start() -> Callable[[], Checkpoint]:
        # Bytes in memory are copied once the save has its slot, unless they cannot change.
        owned = buffer_pieces(snapshot(data)) if isinstance(data, (bytes, bytearray, memoryview)) else pieces
        return lambda: run(owned)

    # Worker ids have no "@" or "/": a job's rank never shares a worker's slots.
    slot = worker_id or f"@{shard.job_id}/{shard.rank}"
    return pending.submit(_SAVE, slot, start)


def commit_step(
    channel: Channel,
    pending: PendingSaves,
    job_id: str,
    step: int,
    world_size: int,
    *,
    metadata: bytes | bytearray | memoryview | None,
    timeout: float | None,
) -> Step:
    """Saves the step's metadata if given (rank 0's ``step_metadata`` checkpoint),
    then commits the step: the runtime waits up to ``timeout`` seconds (its
    ``jobs.commit_timeout_ms`` when ``None``) for every rank's shard. The call's
    own deadline is later than the runtime's, which answers at its deadline.

    Raises:
        PulseError: ABORTED, naming the missing ranks, when the step is or
            becomes ABORTED; INVALID_ARGUMENT for a bad job, step, world size
            or timeout.
    """
    shard = shard_ref(job_id, step, 0, world_size, step_metadata=True)
    request = pb.CommitStepRequest(job_id=job_id, step=step, world_size=world_size)
    deadline: float | None = None
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise PulseError("INVALID_ARGUMENT", f"Cannot {_COMMIT}: timeout is {timeout!r} s, minimum is 0")
        request.timeout_ms = round(timeout * 1000)
        deadline = timeout + COMMIT_ANSWER_SECONDS
    if metadata is not None:
        if not isinstance(metadata, (bytes, bytearray, memoryview)):
            raise TypeError(f"Cannot {_COMMIT}: metadata is {type(metadata).__name__}, expected bytes")
        save_job_checkpoint(
            channel, pending, shard, metadata, metadata=None, worker_id=None, incremental=False, wait=True
        )
    # Without a timeout the runtime's own deadline (10 min by default) is not
    # known here: the call waits for its answer.
    return step_of(channel.unary(_COMMIT, "CommitStep", request, timeout=deadline).step)


def get_step(channel: Channel, job_id: str, step: int | None) -> Step:
    """A step with its state; without ``step``, the job's latest COMPLETE one.

    Raises:
        PulseError: NOT_FOUND when the job has no such step.
    """
    request = pb.GetStepRequest(job_id=job_id)
    if step is not None:
        request.step = step
    return step_of(channel.unary("get step", "GetStep", request).step)


def latest_step(channel: Channel, job_id: str) -> Step | None:
    """The job's latest COMPLETE step, or ``None`` when it has none."""
    try:
        return get_step(channel, job_id, None)
    except PulseError as error:
        if error.code == "NOT_FOUND":
            return None
        raise


def list_steps_page(channel: Channel, job_id: str, page_size: int, token: str) -> tuple[list[Step], str]:
    """One page of the job's decided steps, newest first, and the next page's token."""
    request = pb.ListStepsRequest(job_id=job_id, page_size=page_size, page_token=token)
    response = channel.unary("list steps", "ListSteps", request)
    return [step_of(step) for step in response.steps], response.next_page_token


def shard_of(channel: Channel, job_id: str, rank: int, step: int | None) -> tuple[Step, str]:
    """The step (``step``, or the latest COMPLETE one) and the checkpoint id of rank's shard in it.

    Raises:
        PulseError: NOT_FOUND when there is no such step or the rank has no shard in it.
    """
    found = get_step(channel, job_id, step)
    shard = found.shard(rank)
    if shard is None:
        raise PulseError(
            "NOT_FOUND",
            f"Cannot load shard: step {found.step} of job {job_id} has no shard of rank {rank} ({found.state})",
        )
    return found, shard.checkpoint_id


def load_shard(channel: Channel, job_id: str, rank: int, step: int | None, write: Callable[[bytes], object]) -> Checkpoint:
    """Loads rank's shard of a step (the latest COMPLETE one when ``step`` is
    ``None``), passing its verified chunks to ``write``."""
    _, checkpoint_id = shard_of(channel, job_id, rank, step)
    return load(channel, "", checkpoint_id, write, job_id=job_id)


def load_shard_to(channel: Channel, job_id: str, rank: int, path: str | os.PathLike[str], step: int | None) -> Checkpoint:
    """Loads rank's shard into the file at ``path``, which appears whole or not
    at all: the bytes go to a temporary file beside it, synced, then renamed."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            loaded = load_shard(channel, job_id, rank, step, write_all(file))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return loaded


def load_step_metadata(channel: Channel, job_id: str, step: int | None) -> bytes | None:
    """The metadata bytes a step was committed with (the latest COMPLETE step's
    when ``step`` is ``None``), or ``None`` when it has none."""
    found = get_step(channel, job_id, step)
    if not found.metadata_checkpoint_id:
        return None
    parts: list[bytes] = []
    load(channel, "", found.metadata_checkpoint_id, parts.append, job_id=job_id)
    return b"".join(parts)


def _pieces_of(data: ShardData) -> tuple[Callable[[], Iterator[Segment]], Callable[[], bool]]:
    """The pieces of a shard's bytes and the function that prepares a retry
    (``False`` when it cannot: a file that cannot seek, an iterator).

    Raises:
        TypeError: data of another type (``str`` among them).
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return buffer_pieces(data), lambda: True
    if callable(getattr(data, "read", None)):
        return file_pieces(data)  # type: ignore[arg-type]
    if isinstance(data, str) or not isinstance(data, Iterable):
        raise TypeError(
            f"Cannot {_SAVE}: data is {type(data).__name__}, expected bytes, a binary file object or an iterable of bytes"
        )
    # A list or tuple is read again for a retry; another iterable only once.
    again = isinstance(data, (list, tuple))
    iterator = iter(data)

    def pieces() -> Iterator[Segment]:
        for piece in data if again else iterator:
            if isinstance(piece, bytes):
                yield piece
            elif isinstance(piece, (bytearray, memoryview)):
                yield bytes(piece)  # the caller may change it once it is yielded
            else:
                raise TypeError(f"Cannot {_SAVE}: a piece of data is {type(piece).__name__}, expected bytes")

    return pieces, lambda: again



def load_range(channel: Channel, job_id: str, checkpoint_id: str, offset: int, length: int) -> bytes:
    """Bytes ``offset`` to ``offset + length`` of a checkpoint of the job (a
    shard), loading only the 8 MiB chunks that hold them, each checked against
    its SHA-256 in the checkpoint's chunk list before a byte of it is returned.

    Raises:
        PulseError: INVALID_ARGUMENT for a range outside the checkpoint,
            DATA_LOSS when a chunk does not match its hash.
    """
    action = "load shard range"
    listed = channel.unary(
        action,
        "GetCheckpoint",
        pb.GetCheckpointRequest(job_id=job_id, checkpoint_id=checkpoint_id, include_chunks=True),
    )
    size = int(listed.checkpoint.size_bytes)
    if offset < 0 or length < 0 or offset + length > size:
        raise PulseError(
            "INVALID_ARGUMENT", f"Cannot {action}: bytes {offset} to {offset + length} are not within its {size}"
        )
    if length == 0:
        return b""
    first, last = offset // CHUNK_BYTES, (offset + length - 1) // CHUNK_BYTES
    start, end = first * CHUNK_BYTES, min(size, (last + 1) * CHUNK_BYTES)
    received = _receive_range(channel, action, listed.checkpoint, start, end, job_id)
    for index in range(first, last + 1):
        chunk = received[(index - first) * CHUNK_BYTES : (index - first + 1) * CHUNK_BYTES]
        sha256 = hashlib.sha256(chunk).hexdigest()
        if index >= len(listed.chunk_sha256s) or sha256 != listed.chunk_sha256s[index]:
            raise PulseError(
                "DATA_LOSS",
                f"Cannot {action}: chunk {index} of {checkpoint_id} has SHA-256 {sha256}, the chunk list disagrees",
            )
    return bytes(received[offset - start : offset - start + length])


def _receive_range(
    channel: Channel, action: str, listed: pb.Checkpoint, start: int, end: int, job_id: str
) -> bytearray:
    """Bytes ``start`` to ``end`` of the listed checkpoint, in LoadCheckpoint
    windows of at most LOAD_WINDOW_BYTES, each window retried (from where it
    stopped) on UNAVAILABLE as whole loads are."""
    received = bytearray()
    attempts = channel.attempts()
    while start + len(received) < end:
        window = pb.LoadCheckpointRequest(
            job_id=job_id,
            checkpoint_id=listed.checkpoint_id,
            offset=start + len(received),
            length=min(LOAD_WINDOW_BYTES, end - start - len(received)),
        )
        call = channel.start(action, lambda: attempts.stub.LoadCheckpoint(window, metadata=channel.metadata))
        before = len(received)
        try:
            for message in call:
                if message.WhichOneof("payload") == "checkpoint":
                    if message.checkpoint.sha256 != listed.sha256:
                        raise PulseError("DATA_LOSS", f"Cannot {action}: the window describes another checkpoint")
                else:
                    received += message.data
        except grpc.RpcError as error:
            channel.check_open(action)
            if len(received) > before:
                attempts.progressed()
            if not attempts.retry(error):
                raise from_rpc_error(error) from None
            continue
        finally:
            call.cancel()
        if len(received) == before or start + len(received) > end:
            raise PulseError("DATA_LOSS", f"Cannot {action}: the runtime sent {len(received) - before} bytes for a window")
        attempts.progressed()
    return received
