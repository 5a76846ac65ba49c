"""What the runtime returns: workers, datasets, checkpoints, heartbeats, as frozen
dataclasses, and how they are made from the wire messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from ._generated import pulse_pb2 as pb
from ._wire import JsonObject, from_struct, from_timestamp


class WorkerState(str, enum.Enum):
    """The state of a worker. Members compare equal to their names (``WorkerState.ACTIVE == "ACTIVE"``)."""

    #: A heartbeat arrived within the runtime's heartbeat timeout.
    ACTIVE = "ACTIVE"
    #: No heartbeat within the heartbeat timeout.
    STALE = "STALE"
    #: The worker left through :meth:`pulse.Runtime.deregister_worker`.
    DEREGISTERED = "DEREGISTERED"
    #: A state this SDK does not know (a newer runtime).
    UNSPECIFIED = "UNSPECIFIED"

    def __str__(self) -> str:
        """The state's name, e.g. ``"ACTIVE"``."""
        return self.value


@dataclass(frozen=True)
class Worker:
    """A registered worker."""

    #: 1-128 characters of ``[A-Za-z0-9._-]``, starting with a letter or digit.
    worker_id: str
    #: The metadata given at registration.
    metadata: JsonObject
    #: When the worker was first registered (UTC).
    registered_at: datetime
    #: When the runtime last heard from the worker (UTC).
    last_heartbeat: datetime
    #: Whether the worker is alive, late or gone.
    state: WorkerState


@dataclass(frozen=True)
class Dataset:
    """A registered dataset."""

    #: 1-128 characters of ``[A-Za-z0-9._-]``, starting with a letter or digit.
    name: str
    #: A URI such as ``s3://bucket/data``.
    path: str
    #: The metadata given at registration.
    metadata: JsonObject
    #: When the dataset was registered (UTC).
    registered_at: datetime


@dataclass(frozen=True)
class ShardRef:
    """Which part of a job's step a checkpoint is (see :meth:`pulse.Runtime.save_shard`)."""

    #: The job.
    job_id: str
    #: The step.
    step: int
    #: The rank whose shard it is; 0 for the step's metadata.
    rank: int
    #: The ranks of the step.
    world_size: int
    #: Whether it is the step's metadata (:meth:`pulse.Runtime.commit_step`'s ``metadata``) rather than a shard.
    step_metadata: bool


@dataclass(frozen=True)
class Checkpoint:
    """A saved checkpoint (its description; the bytes come from ``load_checkpoint``)."""

    #: ``"chk_"`` followed by a ULID: sortable by creation time.
    checkpoint_id: str
    #: The worker that saved it.
    worker_id: str
    #: Its length in bytes.
    size_bytes: int
    #: Hex SHA-256 of its bytes.
    sha256: str
    #: The metadata given when it was saved.
    metadata: JsonObject
    #: When it was saved (UTC).
    created_at: datetime
    #: The idempotency key of the save that made it.
    idempotency_key: str
    #: For a checkpoint of a job (a rank's shard, a step's metadata), where it
    #: belongs; ``None`` for a worker's checkpoint.
    shard: ShardRef | None = None


@dataclass(frozen=True)
class Heartbeat:
    """The runtime's answer to a heartbeat."""

    #: The runtime's clock when it recorded the heartbeat (UTC).
    server_time: datetime
    #: How often the runtime expects a heartbeat, in milliseconds.
    heartbeat_interval_ms: int


@dataclass(frozen=True)
class GcReport:
    """What a garbage collection run scanned, kept and deleted."""

    #: Whether the run only counted.
    dry_run: bool
    #: The grace period the run used, in milliseconds.
    grace_ms: int
    #: Manifests read while marking.
    manifests_scanned: int
    #: Chunks listed while sweeping.
    chunks_scanned: int
    #: Bytes of the chunks listed.
    bytes_scanned: int
    #: Chunks that a manifest references.
    chunks_referenced: int
    #: Unreferenced chunks kept: written within the grace period, or held by a save in progress.
    chunks_protected: int
    #: Unreferenced chunks deleted (in a dry run: that would be deleted).
    chunks_deleted: int
    #: Bytes of the chunks deleted.
    bytes_reclaimed: int
    #: How long the run took, in milliseconds.
    duration_ms: int


def worker_of(message: pb.Worker) -> Worker:
    """The :class:`Worker` of a wire message; a state this SDK does not know is UNSPECIFIED."""
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


def dataset_of(message: pb.Dataset) -> Dataset:
    """The :class:`Dataset` of a wire message."""
    return Dataset(
        name=message.name,
        path=message.path,
        metadata=from_struct(message.metadata),
        registered_at=from_timestamp(message.registered_at),
    )


def checkpoint_of(message: pb.Checkpoint) -> Checkpoint:
    """The :class:`Checkpoint` of a wire message."""
    return Checkpoint(
        checkpoint_id=message.checkpoint_id,
        worker_id=message.worker_id,
        size_bytes=message.size_bytes,
        sha256=message.sha256,
        metadata=from_struct(message.metadata),
        created_at=from_timestamp(message.created_at),
        idempotency_key=message.idempotency_key,
        shard=_shard_ref_of(message.shard) if message.HasField("shard") else None,
    )


def _shard_ref_of(message: pb.ShardRef) -> ShardRef:
    return ShardRef(
        job_id=message.job_id,
        step=message.step,
        rank=message.rank,
        world_size=message.world_size,
        step_metadata=message.step_metadata,
    )


def heartbeat_of(message: pb.HeartbeatResponse) -> Heartbeat:
    """The :class:`Heartbeat` of the runtime's answer to one."""
    return Heartbeat(
        server_time=from_timestamp(message.server_time),
        heartbeat_interval_ms=message.heartbeat_interval_ms,
    )


def gc_report_of(message: pb.RunGcResponse) -> GcReport:
    """The :class:`GcReport` of the runtime's answer to a garbage collection."""
    return GcReport(
        dry_run=message.dry_run,
        grace_ms=message.grace_ms,
        manifests_scanned=message.manifests_scanned,
        chunks_scanned=message.chunks_scanned,
        bytes_scanned=message.bytes_scanned,
        chunks_referenced=message.chunks_referenced,
        chunks_protected=message.chunks_protected,
        chunks_deleted=message.chunks_deleted,
        bytes_reclaimed=message.bytes_reclaimed,
        duration_ms=message.duration_ms,
    )


class StepState(str, enum.Enum):
    """The state of a job's step. Members compare equal to their names (``StepState.COMPLETE == "COMPLETE"``)."""

    #: Not decided yet: shards may still land.
    PENDING = "PENDING"
    #: Every rank's shard is durable: the job may resume from it.
    COMPLETE = "COMPLETE"
    #: Shards were missing at the deadline, or a rank's worker went STALE.
    ABORTED = "ABORTED"
    #: A state this SDK does not know (a newer runtime).
    UNSPECIFIED = "UNSPECIFIED"

    def __str__(self) -> str:
        """The state's name, e.g. ``"COMPLETE"``."""
        return self.value


@dataclass(frozen=True)
class Shard:
    """One rank's durable shard of a step."""

    #: The rank, 0 to ``world_size - 1``.
    rank: int
    #: The shard's checkpoint, a checkpoint of the job.
    checkpoint_id: str
    #: Length of its bytes.
    size_bytes: int
    #: Hex SHA-256 of its bytes.
    sha256: str
    #: The rank's worker, if its save named one; ``""`` otherwise.
    worker_id: str


@dataclass(frozen=True)
class Step:
    """A step of a job: its ranks' shards, and whether they all landed."""

    #: The job.
    job_id: str
    #: The step.
    step: int
    #: Its ranks.
    world_size: int
    #: PENDING, COMPLETE or ABORTED.
    state: StepState
    #: When it was decided (UTC); ``None`` while PENDING.
    created_at: datetime | None
    #: The shards that landed, by rank.
    shards: list[Shard]
    #: The checkpoint of the step's metadata; ``""`` for none.
    metadata_checkpoint_id: str
    #: Ranks without a shard (PENDING, ABORTED).
    missing_ranks: list[int]
    #: Why an ABORTED step was aborted; ``""`` otherwise.
    reason: str

    def shard(self, rank: int) -> Shard | None:
        """The shard of ``rank``, or ``None`` when it has none in this step."""
        return next((shard for shard in self.shards if shard.rank == rank), None)


def step_of(message: pb.Step) -> Step:
    """The :class:`Step` of a wire message; a state this SDK does not know is UNSPECIFIED."""
    try:
        state_name = pb.StepState.Name(message.state).removeprefix("STEP_STATE_")
    except ValueError:  # a state added after this SDK was made
        state_name = "UNSPECIFIED"
    state = StepState(state_name) if state_name in StepState.__members__ else StepState.UNSPECIFIED
    return Step(
        job_id=message.job_id,
        step=message.step,
        world_size=message.world_size,
        state=state,
        created_at=from_timestamp(message.created_at) if message.HasField("created_at") else None,
        shards=[
            Shard(
                rank=shard.rank,
                checkpoint_id=shard.checkpoint_id,
                size_bytes=shard.size_bytes,
                sha256=shard.sha256,
                worker_id=shard.worker_id,
            )
            for shard in message.shards
        ],
        metadata_checkpoint_id=message.metadata_checkpoint_id,
        missing_ranks=list(message.missing_ranks),
        reason=message.reason,
    )
