from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKER_STATE_UNSPECIFIED: _ClassVar[WorkerState]
    WORKER_STATE_ACTIVE: _ClassVar[WorkerState]
    WORKER_STATE_STALE: _ClassVar[WorkerState]
    WORKER_STATE_DEREGISTERED: _ClassVar[WorkerState]

class StepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATE_UNSPECIFIED: _ClassVar[StepState]
    STEP_STATE_PENDING: _ClassVar[StepState]
    STEP_STATE_COMPLETE: _ClassVar[StepState]
    STEP_STATE_ABORTED: _ClassVar[StepState]
WORKER_STATE_UNSPECIFIED: WorkerState
WORKER_STATE_ACTIVE: WorkerState
WORKER_STATE_STALE: WorkerState
WORKER_STATE_DEREGISTERED: WorkerState
STEP_STATE_UNSPECIFIED: StepState
STEP_STATE_PENDING: StepState
STEP_STATE_COMPLETE: StepState
STEP_STATE_ABORTED: StepState

class Worker(_message.Message):
    __slots__ = ("worker_id", "metadata", "registered_at", "last_heartbeat", "state")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    metadata: _struct_pb2.Struct
    registered_at: _timestamp_pb2.Timestamp
    last_heartbeat: _timestamp_pb2.Timestamp
    state: WorkerState
    def __init__(self, worker_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., registered_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_heartbeat: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[WorkerState, str]] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("name", "path", "metadata", "registered_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    metadata: _struct_pb2.Struct
    registered_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., registered_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("checkpoint_id", "worker_id", "size_bytes", "sha256", "metadata", "created_at", "idempotency_key", "shard")
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    checkpoint_id: str
    worker_id: str
    size_bytes: int
    sha256: str
    metadata: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    idempotency_key: str
    shard: ShardRef
    def __init__(self, checkpoint_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., shard: _Optional[_Union[ShardRef, _Mapping]] = ...) -> None: ...

class RegisterWorkerRequest(_message.Message):
    __slots__ = ("worker_id", "metadata")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    metadata: _struct_pb2.Struct
    def __init__(self, worker_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RegisterWorkerResponse(_message.Message):
    __slots__ = ("worker",)
    WORKER_FIELD_NUMBER: _ClassVar[int]
    worker: Worker
    def __init__(self, worker: _Optional[_Union[Worker, _Mapping]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("server_time", "heartbeat_interval_ms")
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    heartbeat_interval_ms: int
    def __init__(self, server_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class DeregisterWorkerRequest(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class DeregisterWorkerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetWorkerRequest(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class GetWorkerResponse(_message.Message):
    __slots__ = ("worker",)
    WORKER_FIELD_NUMBER: _ClassVar[int]
    worker: Worker
    def __init__(self, worker: _Optional[_Union[Worker, _Mapping]] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers", "next_page_token")
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[Worker]
    next_page_token: str
    def __init__(self, workers: _Optional[_Iterable[_Union[Worker, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RegisterDatasetRequest(_message.Message):
    __slots__ = ("name", "path", "metadata")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    metadata: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RegisterDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: Dataset
    def __init__(self, dataset: _Optional[_Union[Dataset, _Mapping]] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: Dataset
    def __init__(self, dataset: _Optional[_Union[Dataset, _Mapping]] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets", "next_page_token")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    next_page_token: str
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SaveCheckpointHeader(_message.Message):
    __slots__ = ("worker_id", "metadata", "idempotency_key", "expect_trailer", "base_checkpoint_id", "plan_id", "shard")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECT_TRAILER_FIELD_NUMBER: _ClassVar[int]
    BASE_CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    metadata: _struct_pb2.Struct
    idempotency_key: str
    expect_trailer: bool
    base_checkpoint_id: str
    plan_id: str
    shard: ShardRef
    def __init__(self, worker_id: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., expect_trailer: bool = ..., base_checkpoint_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., shard: _Optional[_Union[ShardRef, _Mapping]] = ...) -> None: ...

class SaveCheckpointTrailer(_message.Message):
    __slots__ = ("size_bytes", "sha256", "chunks_sha256")
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_SHA256_FIELD_NUMBER: _ClassVar[int]
    size_bytes: int
    sha256: str
    chunks_sha256: str
    def __init__(self, size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., chunks_sha256: _Optional[str] = ...) -> None: ...

class SaveCheckpointRequest(_message.Message):
    __slots__ = ("header", "data", "trailer", "chunk_sha256", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TRAILER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SHA256_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: SaveCheckpointHeader
    data: bytes
    trailer: SaveCheckpointTrailer
    chunk_sha256: str
    chunk: ChunkRef
    def __init__(self, header: _Optional[_Union[SaveCheckpointHeader, _Mapping]] = ..., data: _Optional[bytes] = ..., trailer: _Optional[_Union[SaveCheckpointTrailer, _Mapping]] = ..., chunk_sha256: _Optional[str] = ..., chunk: _Optional[_Union[ChunkRef, _Mapping]] = ...) -> None: ...

class SaveCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class LoadCheckpointRequest(_message.Message):
    __slots__ = ("worker_id", "checkpoint_id", "offset", "length", "job_id")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    checkpoint_id: str
    offset: int
    length: int
    job_id: str
    def __init__(self, worker_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., job_id: _Optional[str] = ...) -> None: ...

class LoadCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint", "data")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    data: bytes
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ("worker_id", "checkpoint_id", "include_chunks", "job_id")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    checkpoint_id: str
    include_chunks: bool
    job_id: str
    def __init__(self, worker_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., include_chunks: bool = ..., job_id: _Optional[str] = ...) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint", "chunk_sha256s")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SHA256S_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    chunk_sha256s: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., chunk_sha256s: _Optional[_Iterable[str]] = ...) -> None: ...

class ListCheckpointsRequest(_message.Message):
    __slots__ = ("worker_id", "page_size", "page_token")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    page_size: int
    page_token: str
    def __init__(self, worker_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCheckpointsResponse(_message.Message):
    __slots__ = ("checkpoints", "next_page_token")
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    next_page_token: str
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteCheckpointRequest(_message.Message):
    __slots__ = ("worker_id", "checkpoint_id")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    checkpoint_id: str
    def __init__(self, worker_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ...) -> None: ...

class DeleteCheckpointResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunGcRequest(_message.Message):
    __slots__ = ("dry_run", "grace_ms")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    grace_ms: int
    def __init__(self, dry_run: bool = ..., grace_ms: _Optional[int] = ...) -> None: ...

class RunGcResponse(_message.Message):
    __slots__ = ("dry_run", "grace_ms", "manifests_scanned", "chunks_scanned", "bytes_scanned", "chunks_referenced", "chunks_protected", "chunks_deleted", "bytes_reclaimed", "duration_ms")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    MANIFESTS_SCANNED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_SCANNED_FIELD_NUMBER: _ClassVar[int]
    BYTES_SCANNED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_REFERENCED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_PROTECTED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_DELETED_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECLAIMED_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    grace_ms: int
    manifests_scanned: int
    chunks_scanned: int
    bytes_scanned: int
    chunks_referenced: int
    chunks_protected: int
    chunks_deleted: int
    bytes_reclaimed: int
    duration_ms: int
    def __init__(self, dry_run: bool = ..., grace_ms: _Optional[int] = ..., manifests_scanned: _Optional[int] = ..., chunks_scanned: _Optional[int] = ..., bytes_scanned: _Optional[int] = ..., chunks_referenced: _Optional[int] = ..., chunks_protected: _Optional[int] = ..., chunks_deleted: _Optional[int] = ..., bytes_reclaimed: _Optional[int] = ..., duration_ms: _Optional[int] = ...) -> None: ...

class ChunkRef(_message.Message):
    __slots__ = ("sha256", "size")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class PlanSaveRequest(_message.Message):
    __slots__ = ("worker_id", "plan_id", "idempotency_key", "base_checkpoint_id", "chunks", "job_id")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    plan_id: str
    idempotency_key: str
    base_checkpoint_id: str
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkRef]
    job_id: str
    def __init__(self, worker_id: _Optional[str] = ..., plan_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., base_checkpoint_id: _Optional[str] = ..., chunks: _Optional[_Iterable[_Union[ChunkRef, _Mapping]]] = ..., job_id: _Optional[str] = ...) -> None: ...

class ChunkUpload(_message.Message):
    __slots__ = ("index", "url", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    INDEX_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    index: int
    url: str
    headers: _containers.ScalarMap[str, str]
    def __init__(self, index: _Optional[int] = ..., url: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PlanSaveResponse(_message.Message):
    __slots__ = ("plan_id", "uploads", "expires_at", "existing")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOADS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    uploads: _containers.RepeatedCompositeFieldContainer[ChunkUpload]
    expires_at: _timestamp_pb2.Timestamp
    existing: Checkpoint
    def __init__(self, plan_id: _Optional[str] = ..., uploads: _Optional[_Iterable[_Union[ChunkUpload, _Mapping]]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., existing: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class PlanLoadRequest(_message.Message):
    __slots__ = ("worker_id", "checkpoint_id", "first_chunk", "job_id")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHUNK_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    checkpoint_id: str
    first_chunk: int
    job_id: str
    def __init__(self, worker_id: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., first_chunk: _Optional[int] = ..., job_id: _Optional[str] = ...) -> None: ...

class ChunkDownload(_message.Message):
    __slots__ = ("sha256", "size", "url")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    url: str
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ..., url: _Optional[str] = ...) -> None: ...

class PlanLoadResponse(_message.Message):
    __slots__ = ("checkpoint", "chunks", "next_chunk", "expires_at")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CHUNK_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkDownload]
    next_chunk: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., chunks: _Optional[_Iterable[_Union[ChunkDownload, _Mapping]]] = ..., next_chunk: _Optional[int] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ShardRef(_message.Message):
    __slots__ = ("job_id", "step", "rank", "world_size", "step_metadata")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    WORLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    STEP_METADATA_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    step: int
    rank: int
    world_size: int
    step_metadata: bool
    def __init__(self, job_id: _Optional[str] = ..., step: _Optional[int] = ..., rank: _Optional[int] = ..., world_size: _Optional[int] = ..., step_metadata: bool = ...) -> None: ...

class Shard(_message.Message):
    __slots__ = ("rank", "checkpoint_id", "size_bytes", "sha256", "worker_id")
    RANK_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    rank: int
    checkpoint_id: str
    size_bytes: int
    sha256: str
    worker_id: str
    def __init__(self, rank: _Optional[int] = ..., checkpoint_id: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., worker_id: _Optional[str] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("job_id", "step", "world_size", "state", "created_at", "shards", "metadata_checkpoint_id", "missing_ranks", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    WORLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    METADATA_CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    MISSING_RANKS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    step: int
    world_size: int
    state: StepState
    created_at: _timestamp_pb2.Timestamp
    shards: _containers.RepeatedCompositeFieldContainer[Shard]
    metadata_checkpoint_id: str
    missing_ranks: _containers.RepeatedScalarFieldContainer[int]
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., step: _Optional[int] = ..., world_size: _Optional[int] = ..., state: _Optional[_Union[StepState, str]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., shards: _Optional[_Iterable[_Union[Shard, _Mapping]]] = ..., metadata_checkpoint_id: _Optional[str] = ..., missing_ranks: _Optional[_Iterable[int]] = ..., reason: _Optional[str] = ...) -> None: ...

class CommitStepRequest(_message.Message):
    __slots__ = ("job_id", "step", "world_size", "timeout_ms")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    WORLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    step: int
    world_size: int
    timeout_ms: int
    def __init__(self, job_id: _Optional[str] = ..., step: _Optional[int] = ..., world_size: _Optional[int] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class CommitStepResponse(_message.Message):
    __slots__ = ("step",)
    STEP_FIELD_NUMBER: _ClassVar[int]
    step: Step
    def __init__(self, step: _Optional[_Union[Step, _Mapping]] = ...) -> None: ...

class GetStepRequest(_message.Message):
    __slots__ = ("job_id", "step")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    step: int
    def __init__(self, job_id: _Optional[str] = ..., step: _Optional[int] = ...) -> None: ...

class GetStepResponse(_message.Message):
    __slots__ = ("step",)
    STEP_FIELD_NUMBER: _ClassVar[int]
    step: Step
    def __init__(self, step: _Optional[_Union[Step, _Mapping]] = ...) -> None: ...

class ListStepsRequest(_message.Message):
    __slots__ = ("job_id", "page_size", "page_token")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    page_size: int
    page_token: str
    def __init__(self, job_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStepsResponse(_message.Message):
    __slots__ = ("steps", "next_page_token")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    next_page_token: str
    def __init__(self, steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
