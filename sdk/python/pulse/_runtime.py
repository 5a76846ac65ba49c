"""The client of a PulseCheckpoint Runtime: :class:`Runtime`."""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Sequence, TypeVar

import grpc

from ._connection import TlsOptions, call_metadata, connection_of
from ._errors import PulseError, from_rpc_error, status_code_of
from ._generated import pulse_pb2 as pb
from ._generated import pulse_pb2_grpc
from ._protocol import CHUNK_BYTES, DATA_MESSAGE_BYTES, LOAD_WINDOW_BYTES, REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX
from ._retry import RetryPolicy
from ._types import Checkpoint, Dataset, GcReport, Heartbeat, Worker, WorkerState
from ._wire import Metadata, from_struct, from_timestamp, to_struct

_T = TypeVar("_T")
_Response = TypeVar("_Response")


class BinaryReader(Protocol):
    """What :meth:`Runtime.save_checkpoint_stream` reads from: a binary file object."""

    def read(self, size: int, /) -> bytes | None:
        """Returns at most ``size`` bytes; ``b""`` at the end."""
        ...


class BinaryWriter(Protocol):
    """What :meth:`Runtime.load_checkpoint_to` writes to: a binary file object."""

    def write(self, data: bytes, /) -> int | None:
        """Writes ``data``; returns how many bytes were written."""
        ...


class Runtime:
    """A connection to a PulseCheckpoint Runtime.

    Every method blocks until the runtime has answered, and raises
    :class:`~pulse.PulseError` when a call fails. Calls that the runtime could
    not take (status UNAVAILABLE) are tried again with backoff, as ``retry``
    says; a save keeps one idempotency key across its attempts, so a retry never
    makes a second checkpoint. A ``Runtime`` may be shared by threads.

    Use it as a context manager, or call :meth:`close` when done::

        with Runtime("grpc://localhost:50051") as rt:
            rt.register_worker("worker-1")
            checkpoint_id = rt.save_checkpoint(worker_id="worker-1", data=b"state")
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        tls: TlsOptions | None = None,
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        """Opens a channel to the runtime; the connection is made on the first call.

        Args:
            address: ``grpc://host:port`` (plaintext; a bare ``host:port`` too) or
                ``grpcs://host:port`` (TLS), e.g. ``grpc://localhost:50051``.
            token: a bearer token, sent as ``authorization: Bearer <token>`` with
                every call, for a runtime with ``[[auth.tokens]]`` configured.
            tls: CA, client certificate and key, server name of a ``grpcs://``
                address; the system's trusted roots when absent.
            timeout: deadline of each attempt of a unary call, in seconds; ``None``
                for none. Saves and loads stream for as long as they take.
            retry: how UNAVAILABLE is retried; ``RetryPolicy()`` when absent.
            channel_options: gRPC channel arguments, added to (and overriding) the
                SDK's: the largest message sent is the largest the runtime
                accepts, the largest received 16 MiB.

        Raises:
            ValueError: an address that is not ``grpc://host:port`` or
                ``grpcs://host:port``, ``tls`` with a plaintext address, a token
                that cannot be a header value.
        """
        connection = connection_of(address, tls)
        self._metadata = call_metadata(token)
        self._address = address
        self._timeout = timeout
        self._retry = retry if retry is not None else RetryPolicy()
        self._closed = False
        options: dict[str, Any] = {
            # The largest message the client sends is the largest the runtime
            # accepts (a data message and its framing): a bigger one fails here,
            # before it is sent.
            "grpc.max_send_message_length": REQUEST_BYTES_MAX,
            # The largest the runtime sends: the chunk list of the largest checkpoint.
            "grpc.max_receive_message_length": RESPONSE_BYTES_MAX,
            **connection.options,
        }
        options.update(dict(channel_options))
        if connection.credentials is None:
            self._channel = grpc.insecure_channel(connection.target, options=list(options.items()))
        else:
            self._channel = grpc.secure_channel(
                connection.target, connection.credentials, options=list(options.items())
            )
        # The generated stub is untyped; the request and response types come from pulse_pb2.pyi.
        self._stub: Any = pulse_pb2_grpc.PulseRuntimeStub(self._channel)  # type: ignore[no-untyped-call]

    @property
    def address(self) -> str:
        """The address this runtime was opened with."""
        return self._address

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        """``Runtime('<address>')``, with ``closed`` when it is."""
        return f"Runtime({self._address!r}{', closed' if self._closed else ''})"

    def __enter__(self) -> Runtime:
        """Returns this runtime."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes this runtime."""
        self.close()

    def close(self) -> None:
        """Closes the channel. Calls in flight end with PulseError CANCELLED, and so
        does every later call. Closing twice is harmless."""
        self._closed = True
        # gRPC cancels every call in flight on the channel.
        self._channel.close()

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
        request = pb.RegisterWorkerRequest(worker_id=worker_id, metadata=to_struct(metadata))
        return _to_worker(self._unary("register worker", self._stub.RegisterWorker, request).worker)

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
        response = self._unary("heartbeat", self._stub.Heartbeat, pb.HeartbeatRequest(worker_id=worker_id))
        return Heartbeat(
            server_time=from_timestamp(response.server_time),
            heartbeat_interval_ms=response.heartbeat_interval_ms,
        )

    def deregister_worker(self, worker_id: str) -> None:
        """Marks a worker as gone (graceful leave); its checkpoints stay.

        Args:
            worker_id: a registered worker.

        Raises:
            PulseError: NOT_FOUND for an unknown worker.
        """
        self._unary("deregister worker", self._stub.DeregisterWorker, pb.DeregisterWorkerRequest(worker_id=worker_id))

    def get_worker(self, worker_id: str) -> Worker:
        """Describes a worker.

        Args:
            worker_id: a registered worker.

        Returns:
            The worker, with its state (ACTIVE, STALE or DEREGISTERED).

        Raises:
            PulseError: NOT_FOUND for an unknown worker.
        """
        response = self._unary("get worker", self._stub.GetWorker, pb.GetWorkerRequest(worker_id=worker_id))
        return _to_worker(response.worker)

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
            response = self._unary("list workers", self._stub.ListWorkers, request)
            return [_to_worker(worker) for worker in response.workers], response.next_page_token

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
        request = pb.RegisterDatasetRequest(name=name, path=path, metadata=to_struct(metadata))
        return _to_dataset(self._unary("register dataset", self._stub.RegisterDataset, request).dataset)

    def get_dataset(self, name: str) -> Dataset:
        """Describes a dataset.

        Args:
            name: a registered dataset.

        Returns:
            The dataset.

        Raises:
            PulseError: NOT_FOUND for an unknown dataset.
        """
        response = self._unary("get dataset", self._stub.GetDataset, pb.GetDatasetRequest(name=name))
        return _to_dataset(response.dataset)

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
            response = self._unary("list datasets", self._stub.ListDatasets, request)
            return [_to_dataset(dataset) for dataset in response.datasets], response.next_page_token

        return _all_pages(fetch)

    # Checkpoints

    def save_checkpoint(
        self,
        worker_id: str,
        data: bytes | bytearray | memoryview,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
    ) -> str:
        """Saves bytes as a new checkpoint of a worker.

        The bytes are cut into 8 MiB chunks, as the runtime stores them; each
        chunk is hashed once and sent in 1 MiB messages. When the runtime answers
        UNAVAILABLE the save is sent again with the same idempotency key, so it
        makes at most one checkpoint.

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

        Returns:
            The id of the checkpoint, ``"chk_"`` followed by a ULID.

        Raises:
            PulseError: NOT_FOUND for an unregistered worker, INVALID_ARGUMENT
                for a bad id, metadata or key, UNAVAILABLE when the store stays
                unavailable after retries.
            TypeError, ValueError: metadata that is not JSON.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"Cannot save checkpoint: data is {type(data).__name__}, expected bytes")
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")

        def pieces() -> Iterator[bytes | memoryview]:
            # One piece: the save cuts views of it, never a copy of it whole.
            if view.nbytes:
                yield view

        header = _save_header(worker_id, metadata, idempotency_key)
        return self._save(header, pieces, restart=lambda: True, incremental=incremental).checkpoint_id

    def save_checkpoint_stream(
        self,
        worker_id: str,
        fileobj: BinaryReader,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        *,
        incremental: bool = False,
    ) -> str:
        """Saves the rest of a binary file object as a new checkpoint, reading it
        in 1 MiB pieces as fast as the runtime takes them: memory use does not
        grow with the size of the file (an incremental save holds one 8 MiB
        chunk at a time, until it knows whether to send it or name it).

        When the runtime answers UNAVAILABLE the save is tried again (with the
        same idempotency key) only if ``fileobj`` is seekable: it is rewound to
        where it was when this was called.

        Args:
            worker_id: a registered worker.
            fileobj: a file object opened for binary reading (``open(path, "rb")``,
                ``io.BytesIO``, a socket's ``makefile("rb")``, ...); read from its
                current position to its end.
            metadata: a JSON object; at most 64 KiB as JSON.
            idempotency_key: as for :meth:`save_checkpoint`.
            incremental: as for :meth:`save_checkpoint`: send only the 8 MiB
                chunks that the worker's latest checkpoint does not have.

        Returns:
            The id of the checkpoint.

        Raises:
            PulseError: as for :meth:`save_checkpoint`.
            TypeError: ``fileobj`` is not binary.
            OSError: reading ``fileobj`` failed; the save is cancelled and makes no checkpoint.
        """
        start = _position_of(fileobj)

        def pieces() -> Iterator[bytes | memoryview]:
            while True:
                piece = fileobj.read(DATA_MESSAGE_BYTES)
                if piece is None:
                    raise BlockingIOError("Cannot save checkpoint: the file object has no data ready (non-blocking)")
                if not isinstance(piece, (bytes, bytearray)):
                    raise TypeError(
                        f"Cannot save checkpoint: fileobj.read() returned {type(piece).__name__}; "
                        "open it in binary mode"
                    )
                if not piece:
                    return
                # A bytearray is copied: the reader may reuse it once it reads again.
                yield piece if isinstance(piece, bytes) else bytes(piece)

        def restart() -> bool:
            if start is None:
                return False
            getattr(fileobj, "seek")(start)
            return True

        header = _save_header(worker_id, metadata, idempotency_key)
        return self._save(header, pieces, restart, incremental=incremental).checkpoint_id

    def load_checkpoint(self, worker_id: str, checkpoint_id: str | None = None) -> bytes:
        """Loads a checkpoint's bytes into memory. For large checkpoints use
        :meth:`load_checkpoint_to`, which writes them to a file as they arrive.

        The bytes come in windows of 32 MiB; a window cut off by UNAVAILABLE
        is resumed where it stopped. They are checked against the checkpoint's
        size and SHA-256.

        Args:
            worker_id: the worker.
            checkpoint_id: the checkpoint; the worker's latest when ``None``.

        Returns:
            The checkpoint's bytes.

        Raises:
            PulseError: NOT_FOUND when there is no such checkpoint (or none at
                all), INVALID_ARGUMENT for a malformed id, DATA_LOSS when stored
                bytes fail their hash.
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
        """Loads a checkpoint into a binary file object, writing each 1 MiB piece as
        it arrives: memory use does not grow with the size of the checkpoint.

        The bytes come in windows of 32 MiB; a window cut off by UNAVAILABLE is
        resumed where it stopped, so nothing is written twice. They are checked
        against the checkpoint's size and SHA-256 as they pass; if the check
        fails, or the load fails midway, ``fileobj`` holds a partial copy:
        discard it.

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
        return self._load(worker_id, checkpoint_id, lambda data: _write_all(fileobj, data))

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
        return _to_checkpoint(self._unary("get checkpoint", self._stub.GetCheckpoint, request).checkpoint)

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
            response = self._unary("list checkpoints", self._stub.ListCheckpoints, request)
            return [_to_checkpoint(checkpoint) for checkpoint in response.checkpoints], response.next_page_token

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
        self._unary(
            "delete checkpoint", self._stub.DeleteCheckpoint, request, gone_after_retry=pb.DeleteCheckpointResponse
        )

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
        response = self._unary("run garbage collection", self._stub.RunGc, request)
        return GcReport(
            dry_run=response.dry_run,
            grace_ms=response.grace_ms,
            manifests_scanned=response.manifests_scanned,
            chunks_scanned=response.chunks_scanned,
            bytes_scanned=response.bytes_scanned,
            chunks_referenced=response.chunks_referenced,
            chunks_protected=response.chunks_protected,
            chunks_deleted=response.chunks_deleted,
            bytes_reclaimed=response.bytes_reclaimed,
            duration_ms=response.duration_ms,
        )

    # Calls

    def _unary(
        self,
        action: str,
        method: Callable[..., _Response],
        request: object,
        *,
        gone_after_retry: Callable[[], _Response] | None = None,
    ) -> _Response:
        """Calls a unary method, retrying UNAVAILABLE as the retry policy says.

        For a delete, NOT_FOUND after a retry means that an earlier attempt
        deleted the thing and its answer was lost: that is success, and
        ``gone_after_retry()`` is the answer.
        """
        attempt = 1
        while True:
            self._check_open(action)
            try:
                return method(request, timeout=self._timeout, metadata=self._metadata)
            except grpc.RpcError as error:
                code = status_code_of(error)
                if self._closed:
                    raise self._closed_error(action) from None
                if code == grpc.StatusCode.NOT_FOUND and gone_after_retry is not None and attempt > 1:
                    return gone_after_retry()
                if code == grpc.StatusCode.UNAVAILABLE and attempt < self._retry.max_attempts:
                    self._retry.wait(attempt)
                    attempt += 1
                    continue
                raise from_rpc_error(error) from None
            except ValueError:
                # grpc raises ValueError for a call on a channel closed meanwhile.
                if self._closed:
                    raise self._closed_error(action) from None
                raise

    def _save(
        self,
        header: pb.SaveCheckpointHeader,
        pieces: Callable[[], Iterator[bytes | memoryview]],
        restart: Callable[[], bool],
        *,
        incremental: bool = False,
    ) -> Checkpoint:
        """Runs SaveCheckpoint: the header, the chunks of the pieces' bytes (sent as
        data messages, or named when the base has them), then the trailer; on
        UNAVAILABLE, again from ``restart()`` (when it allows) with the same header
        and base. An incremental save's base is the worker's latest checkpoint."""
        action = "save checkpoint"
        base = self._latest_chunks(header.worker_id) if incremental else None
        if base is not None:
            header.base_checkpoint_id = base.checkpoint_id
        named = base.chunk_sha256s if base is not None else frozenset()
        attempt = 1
        while True:
            self._check_open(action)
            feed = _SaveFeed(header, pieces(), named)
            try:
                call = self._stub.SaveCheckpoint.future(feed, metadata=self._metadata)
            except ValueError:
                if self._closed:
                    raise self._closed_error(action) from None
                raise
            feed.attach(call)
            try:
                response = call.result()
                return _to_checkpoint(response.checkpoint)
            except (grpc.RpcError, grpc.FutureCancelledError) as error:
                feed.close()
                if feed.error is not None:
                    raise feed.error from None
                if self._closed:
                    raise self._closed_error(action) from None
                if not isinstance(error, grpc.RpcError):
                    raise PulseError("CANCELLED", "Cannot save checkpoint: the call was cancelled") from None
                if (
                    status_code_of(error) == grpc.StatusCode.UNAVAILABLE
                    and attempt < self._retry.max_attempts
                    and restart()
                ):
                    self._retry.wait(attempt)
                    attempt += 1
                    continue
                raise from_rpc_error(error) from None
            except BaseException:
                # Interrupted (KeyboardInterrupt, ...): end the call before the
                # feed, so the runtime never sees a complete-looking stream.
                call.cancel()
                raise
            finally:
                feed.close()

    def _latest_chunks(self, worker_id: str) -> _SaveBase | None:
        """The worker's latest checkpoint and its chunks, for an incremental save;
        ``None`` when it has no checkpoint, or one without chunks (nothing to name)."""
        request = pb.GetCheckpointRequest(worker_id=worker_id, include_chunks=True)
        try:
            response = self._unary("save checkpoint", self._stub.GetCheckpoint, request)
        except PulseError as error:
            if error.code == "NOT_FOUND":
                return None
            raise
        if not response.chunk_sha256s:
            return None
        return _SaveBase(response.checkpoint.checkpoint_id, frozenset(response.chunk_sha256s))

    def _load(self, worker_id: str, checkpoint_id: str | None, write: Callable[[bytes], object]) -> Checkpoint:
        """Loads a checkpoint window by window, passing each data message to
        ``write``, and checks its size and SHA-256 at the end.

        The first window names the checkpoint (the latest, when no id is given);
        every later one asks for that same checkpoint from the next offset. On
        UNAVAILABLE the window is asked for again from the first byte not yet
        received; the retry policy counts attempts since the last progress.
        """
        action = "load checkpoint"
        progress = _LoadProgress(worker_id, checkpoint_id or "", write)
        failures = 0
        while not progress.done:
            self._check_open(action)
            request = progress.next_request()
            try:
                call = self._stub.LoadCheckpoint(request, metadata=self._metadata)
            except ValueError:
                if self._closed:
                    raise self._closed_error(action) from None
                raise
            received_before = progress.offset
            try:
                progress.receive(call)
            except grpc.RpcError as error:
                if self._closed:
                    raise self._closed_error(action) from None
                if progress.offset > received_before:
                    failures = 0
                failures += 1
                if status_code_of(error) == grpc.StatusCode.UNAVAILABLE and failures < self._retry.max_attempts:
                    self._retry.wait(failures)
                    continue
                raise from_rpc_error(error) from None
            finally:
                call.cancel()  # a no-op once the call has ended
            failures = 0
        return progress.finish()

    def _check_open(self, action: str) -> None:
        if self._closed:
            raise self._closed_error(action)

    def _closed_error(self, action: str) -> PulseError:
        return PulseError("CANCELLED", f"Cannot {action}: the Runtime is closed")


class _SaveBase(NamedTuple):
    """A checkpoint whose chunks a save names by SHA-256 instead of sending them."""

    checkpoint_id: str
    chunk_sha256s: frozenset[str]


class _SaveFeed:
    """The request stream of a save: the header, then the data's chunks (see
    :func:`_save_requests`), then the trailer.

    gRPC reads it on a thread of its own. A lock keeps that thread from reading
    the source once :meth:`close` has returned, so that after a save returns the
    caller's file is theirs again, and a retry can rewind it. When the source
    fails, the call is cancelled (never ended normally, which would commit a
    truncated checkpoint) and the error is kept for the caller.
    """

    def __init__(
        self,
        header: pb.SaveCheckpointHeader,
        pieces: Iterator[bytes | memoryview],
        named: frozenset[str],
    ) -> None:
        self._header: pb.SaveCheckpointHeader | None = header
        self._pieces = pieces
        self._requests = _save_requests(pieces, named)
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


def _save_requests(
    pieces: Iterator[bytes | memoryview], named: frozenset[str]
) -> Generator[pb.SaveCheckpointRequest, None, None]:
    """The messages of a save after its header: the pieces' bytes cut into chunks of
    :data:`CHUNK_BYTES` as the runtime cuts them, each hashed once with SHA-256 and
    sent in data messages of at most :data:`DATA_MESSAGE_BYTES`, or named by a
    ``chunk_sha256`` message when ``named`` (the base's chunks) has its hash; then
    the trailer with the size and the SHA-256 of the chunk list.

    Chunks are views of the pieces, never copies. With nothing to name, each
    piece is sent as soon as it is hashed; otherwise a chunk is held until its
    hash says whether to send it or name it.
    """
    chunk_sha256s: list[str] = []
    size_bytes = 0
    chunk_hash = hashlib.sha256()
    chunk_filled = 0  # bytes of the current chunk so far
    held: list[bytes | memoryview] = []  # the current chunk's segments, when it may be named

    def end_chunk() -> Iterator[pb.SaveCheckpointRequest]:
        nonlocal chunk_hash, chunk_filled
        sha256 = chunk_hash.hexdigest()
        chunk_sha256s.append(sha256)
        chunk_hash = hashlib.sha256()
        chunk_filled = 0
        if not named:
            return
        if sha256 in named:
            yield pb.SaveCheckpointRequest(chunk_sha256=sha256)
        else:
            for segment in held:
                yield from _data_requests(segment)
        held.clear()

    for piece in pieces:
        length = len(piece) if isinstance(piece, bytes) else piece.nbytes
        offset = 0
        while offset < length:
            take = min(length - offset, CHUNK_BYTES - chunk_filled)
            segment = piece if take == length else memoryview(piece)[offset : offset + take]
            offset += take
            chunk_hash.update(segment)
            chunk_filled += take
            size_bytes += take
            if named:
                held.append(segment)
            else:
                yield from _data_requests(segment)
            if chunk_filled == CHUNK_BYTES:
                yield from end_chunk()
    if chunk_filled:
        yield from end_chunk()
    # The last message: without it the runtime commits nothing. The runtime
    # checks the chunks against it, so no byte is hashed twice.
    trailer = pb.SaveCheckpointTrailer(size_bytes=size_bytes, chunks_sha256=_chunks_sha256(chunk_sha256s))
    yield pb.SaveCheckpointRequest(trailer=trailer)


def _data_requests(segment: bytes | memoryview) -> Iterator[pb.SaveCheckpointRequest]:
    """Data messages of at most :data:`DATA_MESSAGE_BYTES` holding ``segment``."""
    if isinstance(segment, bytes) and len(segment) <= DATA_MESSAGE_BYTES:
        yield pb.SaveCheckpointRequest(data=segment)  # a whole piece: nothing to slice
        return
    view = memoryview(segment)
    for offset in range(0, view.nbytes, DATA_MESSAGE_BYTES):
        yield pb.SaveCheckpointRequest(data=view[offset : offset + DATA_MESSAGE_BYTES].tobytes())


def _chunks_sha256(chunk_sha256s: list[str]) -> str:
    """The ``chunks_sha256`` of a save's trailer: the hex SHA-256 of the chunks'
    hex SHA-256s in order, each followed by a line feed."""
    digest = hashlib.sha256()
    for sha256 in chunk_sha256s:
        digest.update(f"{sha256}\n".encode("ascii"))
    return digest.hexdigest()


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
        return _to_checkpoint(described)


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


def _save_header(worker_id: str, metadata: Metadata | None, idempotency_key: str | None) -> pb.SaveCheckpointHeader:
    """The header of a save, with a new random idempotency key unless one is given."""
    return pb.SaveCheckpointHeader(
        worker_id=worker_id,
        metadata=to_struct(metadata),
        idempotency_key=idempotency_key or str(uuid.uuid4()),
        # The feed ends every save with a trailer; a stream cut before it commits nothing.
        expect_trailer=True,
    )


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


def _write_all(fileobj: BinaryWriter, data: bytes) -> None:
    """Writes all of ``data``, also to raw files, whose writes may be partial.
    A ``write`` that returns ``None`` is taken to have written everything."""
    remaining = data
    while remaining:
        written = fileobj.write(remaining)
        if written is None or written >= len(remaining):
            return
        remaining = remaining[written:]


def _to_worker(message: pb.Worker) -> Worker:
    try:
        state_name = pb.WorkerState.Name(message.state).removeprefix("WORKER_STATE_")
    except ValueError:  # a state added after this SDK was made
        state_name = "UNSPECIFIED"
    state = WorkerState(state_name) if state_name in WorkerState.__members__ else WorkerState.UNSPECIFIED
    return Worker(
        worker_id=message.worker_id,
        metadata=from_struct(message.metadata),
        registered_at=from_timestamp(message.registered_at),
        last_heartbeat=from_timestamp(message.last_heartbeat),
        state=state,
    )


def _to_dataset(message: pb.Dataset) -> Dataset:
    return Dataset(
        name=message.name,
        path=message.path,
        metadata=from_struct(message.metadata),
        registered_at=from_timestamp(message.registered_at),
    )


def _to_checkpoint(message: pb.Checkpoint) -> Checkpoint:
    return Checkpoint(
        checkpoint_id=message.checkpoint_id,
        worker_id=message.worker_id,
        size_bytes=message.size_bytes,
        sha256=message.sha256,
        metadata=from_struct(message.metadata),
        created_at=from_timestamp(message.created_at),
        idempotency_key=message.idempotency_key,
    )
