"""What the runtime returns: workers, datasets, checkpoints, heartbeats, as frozen dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from ._wire import JsonObject


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
