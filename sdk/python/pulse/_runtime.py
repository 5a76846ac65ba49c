"""The client of a PulseCheckpoint Runtime: :class:`Runtime`, thin methods over
the channel (``_channel.py``), saves (``_checkpoint_save.py``) and loads
(``_checkpoint_load.py``)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

from ._channel import Channel
from ._checkpoint_load import BinaryWriter, load, write_all
from ._checkpoint_save import BinaryReader, SaveBase, Segment, buffer_pieces, file_pieces, save, save_header
from ._connection import TlsOptions
from ._direct_load import direct_load
from ._direct_save import ChunkSource, FileSource, buffer_source, direct_save
from ._direct_transfer import PARALLELISM_DEFAULT, DirectPath, FallBack
from ._errors import PulseError
from ._jobs import (
    ShardData,
    commit_step,
    get_step,
    latest_step,
    list_steps_page,
    load_shard,
    load_shard_to,
    load_step_metadata,
    save_job_checkpoint,
    shard_ref,
)
from ._generated import pulse_pb2 as pb
from ._pending_saves import PENDING_SAVES_PER_WORKER_DEFAULT, PendingSaves, snapshot
from ._retry import RetryPolicy
from ._types import (
    Checkpoint,
    Dataset,
    GcReport,
    Heartbeat,
    Step,
    Worker,
    checkpoint_of,
    dataset_of,
    gc_report_of,
    heartbeat_of,
    worker_of,
)
from ._wire import Metadata, metadata_struct

_T = TypeVar("_T")


class Runtime:
    """A connection to a PulseCheckpoint Runtime, or to its replicas.

    Every method blocks until the runtime has answered (but saves with
    ``wait=False``, which return a future), and raises
    :class:`~pulse.PulseError` when a call fails. Calls that the runtime could
    not take (status UNAVAILABLE) go to the next replica, and are tried again
    with backoff once every replica has failed them, as ``retry`` says; a save
    keeps one idempotency key across its attempts, so a retry never makes a
    second checkpoint. A ``Runtime`` may be shared by threads.

    Use it as a context manager, or call :meth:`close` when done::

        with Runtime("grpc://localhost:50051") as rt:
            rt.register_worker("worker-1")
            checkpoint_id = rt.save_checkpoint(worker_id="worker-1", data=b"state")
    """

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        token: str | None = None,
        tls: TlsOptions | None = None,
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        channel_options: Sequence[tuple[str, Any]] = (),
        max_pending_saves: int = PENDING_SAVES_PER_WORKER_DEFAULT,
        direct_transfer: bool = True,
        parallelism: int = PARALLELISM_DEFAULT,
    ) -> None:
        """Opens a channel to each address; connections are made on the first call.

        Args:
            address: ``grpc://host:port`` (plaintext; a bare ``host:port`` too) or
                ``grpcs://host:port`` (TLS), e.g. ``grpc://localhost:50051``; or
                a list of them, the replicas of one runtime (sharing one store),
                which calls take in turn, moving on to the next when one is
                UNAVAILABLE. A name that resolves to several addresses is used
                round robin.
            token: a bearer token, sent as ``authorization: Bearer <token>`` with
                every call, for a runtime with ``[[auth.tokens]]`` configured.
            tls: CA, client certificate and key, server name of ``grpcs://``
                addresses; the system's trusted roots when absent.
            timeout: deadline of each attempt of a unary call, in seconds; ``None``
                for none. Saves and loads stream for as long as they take.
            retry: how UNAVAILABLE is retried; ``RetryPolicy()`` when absent.
            channel_options: gRPC channel arguments, added to (and overriding) the
                SDK's: the largest message sent is the largest the runtime
                accepts, the largest received 16 MiB, balancing round robin.
            max_pending_saves: saves started with ``wait=False`` that may run
                at once for each worker (at least 1); a further one blocks its
                caller until one of them ends. Keep it within the runtime's
                ``limits.saves_per_worker_max`` (4 by default).
            direct_transfer: move checkpoint bytes straight between this
                client and the bucket when the runtime offers it (an S3 store
                with ``storage.direct_transfer``): the runtime plans and
                commits, the SDK PUTs and GETs presigned URLs. ``False`` sends
                every byte through the runtime (the stream path). Where the
                runtime offers no direct path, or the bucket cannot be reached
                from here, saves and loads take the stream path by themselves
                (logged once, on the ``pulse`` logger).
            parallelism: chunk uploads or downloads of one save or load that
                run at once on the direct path (1 to 64); each holds an 8 MiB
                chunk, so a save or load holds at most ``parallelism + 1``.

        Raises:
            ValueError: no address, or one that is not ``grpc://host:port`` or
                ``grpcs://host:port``, ``tls`` with a plaintext address, a token
                that cannot be a header value, ``max_pending_saves`` below 1,
                ``parallelism`` out of its range.
        """
        self._addresses = _addresses_of(address)
        self._direct = DirectPath(enabled=direct_transfer, parallelism=parallelism)
        self._pending = PendingSaves(max_pending_saves)
        self._channel = Channel(
            self._addresses,
            token=token,
            tls=tls,
            timeout=timeout,
            retry=retry if retry is not None else RetryPolicy(),
            channel_options=channel_options,
        )

    @property
    def address(self) -> str:
        """The address this runtime was opened with; the first, when it was given several."""
        return self._addresses[0]

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address this runtime was opened with, in order."""
        return self._addresses

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._channel.closed

    def __repr__(self) -> str:
        """``Runtime('<address>')`` (a list of them for several), with ``closed`` when it is."""
        shown = repr(self._addresses[0]) if len(self._addresses) == 1 else repr(list(self._addresses))
        return f"Runtime({shown}{', closed' if self._channel.closed else ''})"

    def __enter__(self) -> Runtime:
        """Returns this runtime."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes this runtime, waiting for its saves in the background."""
        self.close()

    def close(self, *, cancel_pending: bool = False) -> None:
        """Closes the runtime. Saves started with ``wait=False`` are waited for
        first, whatever their outcome (their futures hold it); with
        ``cancel_pending=True`` they are cancelled instead, and their futures
        raise PulseError CANCELLED. Then the channels close: other calls in
        flight end with PulseError CANCELLED, and so does every later call.
        Closing twice is harmless.

        Args:
            cancel_pending: cancel the saves in the background instead of waiting for them.
        """
        self._pending.close()
        if not cancel_pending:
            self._pending.wait()
        self._channel.close()
        # Cancelled saves end once gRPC has cancelled their calls (and a file
        # being read has returned from its read).
        self._pending.wait()

    # Workers

    def register_worker(self, worker_id: str, metadata: Metadata | None = None) -> Worker:
        """Registers a worker, or replaces the metadata of a registered one.

        Args:
            worker_id: 1-128 characters of ``[A-Za-z0-9._-]``, starting with a letter or digit.
            metadata: a JSON object, e.g. ``{"gpu": "A100"}``; at most 64 KiB as JSON.

        Returns:
            The worker, ACTIVE.

        Raises:
            PulseError: INVALID_ARGUMENT for a bad id or metadata.
            TypeError, ValueError: metadata that is not JSON.
        """
        request = pb.RegisterWorkerRequest(
            worker_id=worker_id, metadata=metadata_struct("register worker", metadata)
        )
        return worker_of(self._channel.unary("register worker", "RegisterWorker", request).worker)

    def heartbeat(self, worker_id: str) -> Heartbeat:
        """Tells the runtime that a worker is alive.

        Args:
            worker_id: a registered worker.

        Returns:
            The runtime's time and how often it expects heartbeats.

        Raises:
            PulseError: NOT_FOUND for an unknown worker, FAILED_PRECONDITION for
                a deregistered one (register it again first).
        """
        return heartbeat_of(self._channel.unary("heartbeat", "Heartbeat", pb.HeartbeatRequest(worker_id=worker_id)))

    def deregister_worker(self, worker_id: str) -> None:
        """Marks a worker as gone (graceful leave); its checkpoints stay.

        Args:
            worker_id: a registered worker.

        Raises:
            PulseError: NOT_FOUND for an unknown worker.
        """
        request = pb.DeregisterWorkerRequest(worker_id=worker_id)
        self._channel.unary("deregister worker", "DeregisterWorker", request)

    def get_worker(self, worker_id: str) -> Worker:
        """Describes a worker.

        Args:
            worker_id: a registered worker.

        Returns:
            The worker, with its state (ACTIVE, STALE or DEREGISTERED).

        Raises:
            PulseError: NOT_FOUND for an unknown worker.
        """
        response = self._channel.unary("get worker", "GetWorker", pb.GetWorkerRequest(worker_id=worker_id))
        return worker_of(response.worker)

    def list_workers(self, *, page_size: int = 0) -> Iterator[Worker]:
        """Lists all workers, ordered by id.

        The first page is fetched before this returns (so errors are raised
        here); later pages are fetched as the iterator reaches them.

        Args:
            page_size: workers fetched per call; 0 for the runtime's default (100).

        Returns:
            An iterator over every worker.

        Raises:
            PulseError: INVALID_ARGUMENT for a page size above the runtime's limit (500).
        """

        def fetch(token: str) -> tuple[list[Worker], str]:
            request = pb.ListWorkersRequest(page_size=page_size, page_token=token)
            response = self._channel.unary("list workers", "ListWorkers", request)
            return [worker_of(worker) for worker in response.workers], response.next_page_token

        return _all_pages(fetch)

    # Datasets

    def register_dataset(self, name: str, path: str, metadata: Metadata | None = None) -> Dataset:
        """Registers a dataset, or replaces the path and metadata of a registered one.

        Args:
            name: 1-128 characters of ``[A-Za-z0-9._-]``, starting with a letter or digit.
            path: where the data is, a URI such as ``s3://bucket/data``.
            metadata: a JSON object; at most 64 KiB as JSON.

        Returns:
            The dataset.

        Raises:
            PulseError: INVALID_ARGUMENT for a bad name, path or metadata.
            TypeError, ValueError: metadata that is not JSON.
        """
        request = pb.RegisterDatasetRequest(
            name=name, path=path, metadata=metadata_struct("register dataset", metadata)
        )
        return dataset_of(self._channel.unary("register dataset", "RegisterDataset", request).dataset)

    def get_dataset(self, name: str) -> Dataset:
        """Describes a dataset.

        Args:
            name: a registered dataset.

        Returns:
            The dataset.

        Raises:
            PulseError: NOT_FOUND for an unknown dataset.
        """
        response = self._channel.unary("get dataset", "GetDataset", pb.GetDatasetRequest(name=name))
        return dataset_of(response.dataset)

    def list_datasets(self, *, page_size: int = 0) -> Iterator[Dataset]:
        """Lists all datasets, ordered by name.

        The first page is fetched before this returns (so errors are raised
        here); later pages are fetched as the iterator reaches them.

        Args:
            page_size: datasets fetched per call; 0 for the runtime's default (100).

        Returns:
            An iterator over every dataset.

        Raises:
            PulseError: INVALID_ARGUMENT for a page size above the runtime's limit (500).
        """

        def fetch(token: str) -> tuple[list[Dataset], str]:
            request = pb.ListDatasetsRequest(page_size=page_size, page_token=token)
            response = self._channel.unary("list datasets", "ListDatasets", request)
            return [dataset_of(dataset) for dataset in response.datasets], response.next_page_token

        return _all_pages(fetch)

    # Checkpoints

    @overload
    def save_checkpoint(
        self,
        worker_id: str,
        data: bytes | bytearray | memoryview,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: Literal[True] = True,
    ) -> str: ...

    @overload
    def save_checkpoint(
        self,
        worker_id: str,
        data: bytes | bytearray | memoryview,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: Literal[False],
    ) -> Future[str]: ...

    @overload
    def save_checkpoint(
        self,
        worker_id: str,
        data: bytes | bytearray | memoryview,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: bool,
    ) -> str | Future[str]: ...

    def save_checkpoint(
        self,
        worker_id: str,
        data: bytes | bytearray | memoryview,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: bool = True,
    ) -> str | Future[str]:
        """Saves bytes as a new checkpoint of a worker.

        The bytes are cut into 8 MiB chunks, as the runtime stores them; each
        chunk is hashed once and sent in 1 MiB messages. When the runtime answers
        UNAVAILABLE the save is sent again with the same idempotency key, so it
        makes at most one checkpoint. Where the runtime offers the direct path
        (an S3 store), the chunks the store lacks are PUT straight to the
        bucket instead, ``parallelism`` at once, and the runtime commits them
        (see ``direct_transfer``).

        With ``wait=False`` the save runs in the background and this returns a
        :class:`concurrent.futures.Future` of the checkpoint id at once, so
        training goes on while it uploads. ``bytes`` (and views of ``bytes``)
        are used as they are; bytes the caller may change (a ``bytearray``, a
        view of writable memory such as a numpy array's) are copied first, so
        changing them afterwards does not change what is saved. At most
        ``max_pending_saves`` saves of a worker run at once (a ``Runtime``
        option, 2 by default): a further call blocks until one ends.

        Args:
            worker_id: a registered worker.
            data: the checkpoint's bytes (any length, 0 included).
            metadata: a JSON object, e.g. ``{"epoch": 10, "loss": 0.001}``; at most 64 KiB as JSON.
            idempotency_key: a save repeated with the same key (for the same
                worker) returns the checkpoint of the first instead of making a
                second; a new random key (uuid4) when ``None`` or empty.
            incremental: send only the 8 MiB chunks that the worker's latest
                checkpoint does not have; the others are named by their SHA-256
                and the runtime takes them from that checkpoint. Costs one
                GetCheckpoint call first; a worker without a checkpoint saves
                whole. Retries use the same latest checkpoint.
            wait: ``True`` to return when the checkpoint is durable; ``False``
                to return a future of it at once.

        Returns:
            The id of the checkpoint, ``"chk_"`` followed by a ULID; with
            ``wait=False``, a future whose result it is (or whose exception is
            the save's PulseError).

        Raises:
            PulseError: NOT_FOUND for an unregistered worker, INVALID_ARGUMENT
                for a bad id, metadata or key, UNAVAILABLE when the store stays
                unavailable after retries. With ``wait=False`` the future
                raises them, but for what the SDK checks before sending
                (metadata over its limit), which is raised here, as is
                CANCELLED when the Runtime is closed.
            TypeError, ValueError: metadata that is not JSON, data that is not bytes.
        """
        pieces = buffer_pieces(data)
        header = save_header(worker_id, metadata, idempotency_key)
        if wait:
            return self._save(header, pieces, lambda: True, lambda: buffer_source(pieces), incremental)

        def start() -> Callable[[], str]:
            # The copy is made once the save has its slot: a worker holds at most max_pending_saves.
            owned = buffer_pieces(snapshot(data))
            return lambda: self._save(header, owned, lambda: True, lambda: buffer_source(owned), incremental)

        return self._pending.submit("save checkpoint", worker_id, start)

    @overload
    def save_checkpoint_stream(
        self,
        worker_id: str,
        fileobj: BinaryReader,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: Literal[True] = True,
    ) -> str: ...

    @overload
    def save_checkpoint_stream(
        self,
        worker_id: str,
        fileobj: BinaryReader,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: Literal[False],
    ) -> Future[str]: ...

    @overload
    def save_checkpoint_stream(
        self,
        worker_id: str,
        fileobj: BinaryReader,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: bool,
    ) -> str | Future[str]: ...

    def save_checkpoint_stream(
        self,
        worker_id: str,
        fileobj: BinaryReader,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
        wait: bool = True,
    ) -> str | Future[str]:
        """Saves the rest of a binary file object as a new checkpoint, reading it
        in 1 MiB pieces as fast as the runtime takes them: memory use does not
        grow with the size of the file (an incremental save holds one 8 MiB
        chunk at a time, until it knows whether to send it or name it).

        When the runtime answers UNAVAILABLE the save is tried again (with the
        same idempotency key) only if ``fileobj`` is seekable: it is rewound to
        where it was when this was called.

        With ``wait=False`` the save runs in the background, as for
        :meth:`save_checkpoint`, and reads ``fileobj`` there: the caller must
        not read, seek, write or close it until the future is done.

        Args:
            worker_id: a registered worker.
            fileobj: a file object opened for binary reading (``open(path, "rb")``,
                ``io.BytesIO``, a socket's ``makefile("rb")``, ...); read from its
                current position to its end.
            metadata: a JSON object; at most 64 KiB as JSON.
            idempotency_key: as for :meth:`save_checkpoint`.
            incremental: as for :meth:`save_checkpoint`: send only the 8 MiB
                chunks that the worker's latest checkpoint does not have.
            wait: as for :meth:`save_checkpoint`.

        Returns:
            The id of the checkpoint; with ``wait=False``, a future of it.

        Raises:
            PulseError: as for :meth:`save_checkpoint`.
            TypeError: ``fileobj`` is not binary.
            OSError: reading ``fileobj`` failed; the save is cancelled and makes no checkpoint.
        """
        pieces, rewind = file_pieces(fileobj)
        header = save_header(worker_id, metadata, idempotency_key)
        if wait:
            return self._save(header, pieces, rewind, lambda: FileSource(fileobj), incremental)

        def start() -> Callable[[], str]:
            return lambda: self._save(header, pieces, rewind, lambda: FileSource(fileobj), incremental)

        return self._pending.submit("save checkpoint", worker_id, start)

    def load_checkpoint(self, worker_id: str, checkpoint_id: str | None = None) -> bytes:
        """Loads a checkpoint's bytes into memory. For large checkpoints use
        :meth:`load_checkpoint_to`, which writes them to a file as they arrive.

        The checkpoint's chunk list comes first (one GetCheckpoint call, which
        also fixes which checkpoint "the latest" is), then its bytes in windows
        of 32 MiB; a window cut off by UNAVAILABLE is resumed where it stopped.
        Each 8 MiB chunk is checked against its size and SHA-256 in the list,
        and the whole against the checkpoint's SHA-256. Where the runtime
        offers the direct path (an S3 store), the chunk list comes with
        presigned URLs (PlanLoad) and the chunks are fetched from the bucket,
        ``parallelism`` at once, with the same checks.

        Args:
            worker_id: the worker.
            checkpoint_id: the checkpoint; the worker's latest when ``None``.

        Returns:
            The checkpoint's bytes.

        Raises:
            PulseError: NOT_FOUND when there is no such checkpoint (or none at
                all), INVALID_ARGUMENT for a malformed id, DATA_LOSS when the
                bytes (or the chunk list) do not match the checkpoint.
        """
        buffer = io.BytesIO()
        self._load(worker_id, checkpoint_id, buffer.write)
        # getvalue() of a BytesIO written from the start shares its buffer: no copy.
        return buffer.getvalue()

    def load_checkpoint_to(
        self,
        worker_id: str,
        fileobj: BinaryWriter,
        checkpoint_id: str | None = None,
    ) -> Checkpoint:
        """Loads a checkpoint into a binary file object, one 8 MiB chunk at a time:
        each chunk is held until all its bytes are there and match its size and
        SHA-256 (from the checkpoint's chunk list), then written in pieces of at
        most 1 MiB. Memory use does not grow with the size of the checkpoint,
        and no byte of a chunk that fails its check is written.

        The bytes come in windows of 32 MiB, all of one checkpoint (the latest
        is fixed when the load starts); a window cut off by UNAVAILABLE is
        resumed where it stopped, so nothing is written twice. At the end the
        whole is checked against the checkpoint's SHA-256. If a check fails, or
        the load fails midway, ``fileobj`` holds the chunks that passed before:
        a partial copy, to discard.

        Args:
            worker_id: the worker.
            fileobj: a file object opened for binary writing (``open(path, "wb")``, ...).
            checkpoint_id: the checkpoint; the worker's latest when ``None``.

        Returns:
            The checkpoint that was loaded.

        Raises:
            PulseError: as for :meth:`load_checkpoint`.
            OSError: writing ``fileobj`` failed; the load is cancelled.
        """
        return self._load(worker_id, checkpoint_id, write_all(fileobj))

    def _save(
        self,
        header: pb.SaveCheckpointHeader,
        pieces: Callable[[], Iterator[Segment]],
        rewind: Callable[[], bool],
        source: Callable[[], ChunkSource],
        incremental: bool,
    ) -> str:
        """A save through the direct path when there is one, else through the stream path."""
        base: tuple[SaveBase | None] | None = None
        if self._direct.usable:
            try:
                return direct_save(self._channel, self._direct, header, source(), incremental=incremental).checkpoint_id
            except FallBack as fallback:
                base = fallback.base
                if fallback.pieces is not None:
                    # The bytes read so far, then the rest; a retry reads again from the start.
                    pieces = _first_then(fallback.pieces, pieces)
                elif not rewind():
                    raise PulseError(
                        "UNAVAILABLE",
                        "Cannot save checkpoint: the direct path failed after reading from the file object, "
                        "which cannot seek back for the stream path",
                    ) from None
        return save(self._channel, header, pieces, rewind, incremental=incremental, base=base).checkpoint_id

    def _load(self, worker_id: str, checkpoint_id: str | None, write: Callable[[bytes], object]) -> Checkpoint:
        """A load through the direct path when there is one, else through the stream path."""
        if self._direct.usable:
            try:
                return direct_load(self._channel, self._direct, worker_id, checkpoint_id, write)
            except FallBack:
                pass  # nothing was written
        return load(self._channel, worker_id, checkpoint_id, write)

    def get_checkpoint(self, worker_id: str, checkpoint_id: str | None = None) -> Checkpoint:
        """Describes a checkpoint.

        Args:
            worker_id: the worker.
            checkpoint_id: the checkpoint; the worker's latest when ``None``.

        Returns:
            The checkpoint.

        Raises:
            PulseError: NOT_FOUND when there is no such checkpoint, INVALID_ARGUMENT for a malformed id.
        """
        request = pb.GetCheckpointRequest(worker_id=worker_id, checkpoint_id=checkpoint_id or "")
        return checkpoint_of(self._channel.unary("get checkpoint", "GetCheckpoint", request).checkpoint)

    def list_checkpoints(self, worker_id: str, *, page_size: int = 0) -> Iterator[Checkpoint]:
        """Lists all checkpoints of a worker, newest first.

        The first page is fetched before this returns (so errors are raised
        here); later pages are fetched as the iterator reaches them.

        Args:
            worker_id: the worker.
            page_size: checkpoints fetched per call; 0 for the runtime's default (100).

        Returns:
            An iterator over every checkpoint of the worker, newest first.

        Raises:
            PulseError: INVALID_ARGUMENT for a bad worker id or a page size above
                the runtime's limit (500).
        """

        def fetch(token: str) -> tuple[list[Checkpoint], str]:
            request = pb.ListCheckpointsRequest(worker_id=worker_id, page_size=page_size, page_token=token)
            response = self._channel.unary("list checkpoints", "ListCheckpoints", request)
            return [checkpoint_of(checkpoint) for checkpoint in response.checkpoints], response.next_page_token

        return _all_pages(fetch)

    def delete_checkpoint(self, worker_id: str, checkpoint_id: str) -> None:
        """Deletes a checkpoint.

        Args:
            worker_id: the worker.
            checkpoint_id: the checkpoint.

        Raises:
            PulseError: NOT_FOUND when there is no such checkpoint (unless an
                earlier attempt of this same call deleted it), INVALID_ARGUMENT
                for a malformed id.
        """
        request = pb.DeleteCheckpointRequest(worker_id=worker_id, checkpoint_id=checkpoint_id)
        gone = pb.DeleteCheckpointResponse
        self._channel.unary("delete checkpoint", "DeleteCheckpoint", request, gone_after_retry=gone)

    # Jobs

    @overload
    def save_shard(
        self,
        job_id: str,
        step: int,
        rank: int,
        world_size: int,
        data: ShardData,
        metadata: Metadata | None = None,
        wait: Literal[True] = True,
        *,
        worker_id: str | None = None,
        incremental: bool = True,
    ) -> Checkpoint: ...

    @overload
    def save_shard(
        self,
        job_id: str,
        step: int,
        rank: int,
        world_size: int,
        data: ShardData,
        metadata: Metadata | None = None,
        *,
        wait: Literal[False],
        worker_id: str | None = None,
        incremental: bool = True,
    ) -> Future[Checkpoint]: ...

    @overload
    def save_shard(
        self,
        job_id: str,
        step: int,
        rank: int,
        world_size: int,
        data: ShardData,
        metadata: Metadata | None = None,
        *,
        wait: bool,
        worker_id: str | None = None,
        incremental: bool = True,
    ) -> Checkpoint | Future[Checkpoint]: ...

    def save_shard(
        self,
        job_id: str,
        step: int,
        rank: int,
        world_size: int,
        data: ShardData,
        metadata: Metadata | None = None,
        wait: bool = True,
        *,
        worker_id: str | None = None,
        incremental: bool = True,
    ) -> Checkpoint | Future[Checkpoint]:
        """Saves one rank's shard of a job's step, as a checkpoint of the job.

        The shard travels as a checkpoint does (8 MiB chunks hashed once,
        retried under one idempotency key) and, by default, names the chunks
        that the same rank's shard of the job's latest complete step has
        instead of sending them (one GetStep and one GetCheckpoint call
        first). The step stays invisible until :meth:`commit_step` finds every
        rank's shard durable.

        With ``wait=False`` the save runs in the background, as for
        :meth:`save_checkpoint` (bytes the caller may change are copied
        first; at most ``max_pending_saves`` per worker, or per rank of a job
        when no worker is named), and a future of the checkpoint is returned.

        Args:
            job_id: 1-128 characters of ``[A-Za-z0-9._-]``, starting with a letter or digit.
            step: the step, 0 or more.
            rank: this rank, 0 to ``world_size - 1``.
            world_size: the ranks of the step.
            data: the shard's bytes: ``bytes`` (or a ``bytearray``, a
                ``memoryview``), a binary file object read from where it is
                (retried only if it can seek), or an iterable of pieces of
                bytes (a list or tuple is read again for a retry; another
                iterable once, so it is not retried).
            metadata: a JSON object saved with the shard; at most 64 KiB as JSON.
            wait: ``True`` to return once the shard is durable; ``False`` to
                return a future of it at once.
            worker_id: the rank's registered worker: its going STALE before
                the shard lands aborts the step. ``None`` for none.
            incremental: name the chunks the previous shard of this rank has.

        Returns:
            The shard's checkpoint (with ``wait=False``, a future of it).

        Raises:
            PulseError: FAILED_PRECONDITION when the step is decided already
                (COMPLETE or ABORTED: save the next step), INVALID_ARGUMENT
                for a bad job id, step, rank or metadata, NOT_FOUND for an
                unregistered worker. With ``wait=False`` the future raises
                them, but for what the SDK checks before sending.
            TypeError, ValueError: metadata that is not JSON, data of another type.
        """
        shard = shard_ref(job_id, step, rank, world_size)
        return save_job_checkpoint(
            self._channel,
            self._pending,
            shard,
            data,
            metadata=metadata,
            worker_id=worker_id,
            incremental=incremental,
            wait=wait,
        )

    def commit_step(
        self,
        job_id: str,
        step: int,
        world_size: int,
        metadata: bytes | bytearray | memoryview | None = None,
        timeout: float | None = None,
    ) -> Step:
        """Commits a job's step, all or nothing: saves its metadata first if
        given, then waits until every rank's shard is durable and makes the
        step visible (one record, written once whichever rank or replica
        commits). Any rank may call it; later calls return the same step.

        The call waits as long as the runtime does: its deadline is
        ``timeout`` plus 30 s, or none when ``timeout`` is ``None`` (the
        runtime then waits its ``jobs.commit_timeout_ms``, 10 minutes by
        default), whatever the Runtime's ``timeout``.

        Args:
            job_id: the job.
            step: the step.
            world_size: the ranks of the step.
            metadata: bytes a coordinator records for the step (such as DCP's
                ``.metadata``), loaded back by :meth:`load_step_metadata`.
            timeout: how long the runtime waits for the shards, in seconds;
                its ``jobs.commit_timeout_ms`` when ``None``.

        Returns:
            The step, COMPLETE.

        Raises:
            PulseError: ABORTED, naming the missing ranks and why, when shards
                were missing at the deadline or a rank's worker went STALE;
                INVALID_ARGUMENT for a bad job id, step, world size or timeout.
            TypeError: metadata that is not bytes.
        """
        return commit_step(
            self._channel, self._pending, job_id, step, world_size, metadata=metadata, timeout=timeout
        )

    def latest_step(self, job_id: str) -> Step | None:
        """The job's latest COMPLETE step: what it resumes from.

        Args:
            job_id: the job.

        Returns:
            The step, or ``None`` when the job has no complete step.

        Raises:
            PulseError: INVALID_ARGUMENT for a bad job id.
        """
        return latest_step(self._channel, job_id)

    def get_step(self, job_id: str, step: int) -> Step:
        """Any step of a job, with its state (PENDING, COMPLETE or ABORTED) and,
        unless COMPLETE, its missing ranks.

        Args:
            job_id: the job.
            step: the step.

        Returns:
            The step.

        Raises:
            PulseError: NOT_FOUND when the step has no shard and no decision.
        """
        return get_step(self._channel, job_id, step)

    def list_steps(self, job_id: str, *, page_size: int = 0) -> Iterator[Step]:
        """Lists a job's decided steps (COMPLETE and ABORTED), newest first.

        The first page is fetched before this returns (so errors are raised
        here); later pages are fetched as the iterator reaches them.

        Args:
            job_id: the job.
            page_size: steps fetched per call; 0 for the runtime's default (100).

        Returns:
            An iterator over every decided step of the job, newest first.

        Raises:
            PulseError: INVALID_ARGUMENT for a bad job id or a page size above the runtime's limit.
        """
        return _all_pages(lambda token: list_steps_page(self._channel, job_id, page_size, token))

    def load_shard(self, job_id: str, rank: int, step: int | None = None) -> bytes:
        """Loads a rank's shard into memory, each chunk verified as
        :meth:`load_checkpoint` verifies it.

        Args:
            job_id: the job.
            rank: the rank.
            step: the step; the latest COMPLETE one when ``None``.

        Returns:
            The shard's bytes.

        Raises:
            PulseError: NOT_FOUND when there is no such step (or no complete
                one) or the rank has no shard in it; DATA_LOSS when the bytes
                do not match the shard.
        """
        buffer = io.BytesIO()
        load_shard(self._channel, job_id, rank, step, buffer.write)
        return buffer.getvalue()

    def load_shard_to(
        self, job_id: str, rank: int, path: str | os.PathLike[str], step: int | None = None
    ) -> Checkpoint:
        """Loads a rank's shard into a file, one verified chunk at a time; the
        file appears whole or not at all (written beside it, synced, renamed).

        Args:
            job_id: the job.
            rank: the rank.
            path: the file to write; replaced if it exists.
            step: the step; the latest COMPLETE one when ``None``.

        Returns:
            The shard's checkpoint.

        Raises:
            PulseError: as for :meth:`load_shard`.
            OSError: writing the file failed.
        """
        return load_shard_to(self._channel, job_id, rank, path, step)

    def load_step_metadata(self, job_id: str, step: int | None = None) -> bytes | None:
        """The metadata bytes a step was committed with, verified.

        Args:
            job_id: the job.
            step: the step; the latest COMPLETE one when ``None``.

        Returns:
            The bytes, or ``None`` when the step has none.

        Raises:
            PulseError: NOT_FOUND when there is no such step (or no complete one).
        """
        return load_step_metadata(self._channel, job_id, step)

    # Maintenance

    def run_gc(self, *, dry_run: bool = False, grace_ms: int | None = None) -> GcReport:
        """Runs garbage collection now: deletes the chunks that no checkpoint
        references (left by deleted checkpoints and failed saves) and that were
        written before the grace period. Needs an admin token when the runtime
        has tokens configured. Waits for a run already in progress first.

        Args:
            dry_run: only count what would be deleted.
            grace_ms: keep unreferenced chunks written less than this long ago;
                the runtime's ``gc.grace_ms`` when ``None``.

        Returns:
            What the run scanned, kept and deleted.

        Raises:
            PulseError: PERMISSION_DENIED without an admin token, INVALID_ARGUMENT
                for a bad ``grace_ms``, DATA_LOSS when a manifest cannot be read
                (nothing is deleted then).
        """
        request = pb.RunGcRequest(dry_run=dry_run)
        if grace_ms is not None:
            request.grace_ms = grace_ms
        return gc_report_of(self._channel.unary("run garbage collection", "RunGc", request))


def _addresses_of(address: str | Sequence[str]) -> tuple[str, ...]:
    """The addresses of one address or of a list of them; anything else is
    passed on as one address, for the channel to refuse."""
    if isinstance(address, str) or not isinstance(address, Sequence):
        return (address,)
    return tuple(address)


def _first_then(first: Callable[[], _T], then: Callable[[], _T]) -> Callable[[], _T]:
    """A function answering ``first()`` when first called, ``then()`` after."""
    calls = iter((first,))
    return lambda: next(calls, then)()


def _all_pages(fetch: Callable[[str], tuple[list[_T], str]]) -> Iterator[_T]:
    """Every item of a paginated listing. The first page is fetched now, the
    others as the iterator reaches them."""
    items, token = fetch("")

    def rest() -> Iterator[_T]:
        page, next_token = items, token
        while True:
            yield from page
            if not next_token:
                return
            page, next_token = fetch(next_token)

    return rest()
