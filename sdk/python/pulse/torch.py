"""PyTorch Distributed Checkpoint (``torch.distributed.checkpoint``, DCP) on job
checkpoints: :class:`PulseStorageWriter` and :class:`PulseStorageReader`, so
that ``dcp.save``, ``dcp.async_save`` and ``dcp.load`` keep a job's state in
a PulseCheckpoint Runtime, one step at a time, all or nothing.

Saving: each rank's ``write_data`` writes the items DCP's plan gives it (each
tensor through ``torch.save``, each other object as DCP's bytes) one after
another into one shard, saved with :meth:`pulse.Runtime.save_shard`; its
``WriteResult`` locate each item in the shard (rank, offset, length). The
coordinator's ``finish`` pickles DCP's ``Metadata`` (which holds those
locations) and calls :meth:`pulse.Runtime.commit_step` with it as the step's
metadata: the step becomes visible only once every rank's shard is durable.

Loading: ``read_metadata`` loads the metadata of the step (the job's latest
complete step by default); ``read_data`` loads the shards that hold the items
this rank needs, which are other ranks' shards too when the checkpoint is
loaded by another number of ranks (DCP reshards), and fills the planner's
tensors. A shard is loaded whole when the rank needs half of it or more, else
only the 8 MiB chunks that hold its items (ranged reads), each verified.

PyTorch is an optional dependency (``pip install "pulsecheckpoint[torch]"``):
``import pulse`` never imports it; ``import pulse.torch`` does.

Example::

    import torch.distributed.checkpoint as dcp
    from pulse import Runtime
    from pulse.torch import PulseStorageReader, PulseStorageWriter

    rt = Runtime("grpc://localhost:50051")
    state = {"model": model.state_dict(), "optim": optimizer.state_dict()}
    dcp.save(state, storage_writer=PulseStorageWriter(rt, "llama-7b", step=100))
    dcp.load(state, storage_reader=PulseStorageReader(rt, "llama-7b"))  # the latest complete step

The metadata is a pickle, as DCP's own ``.metadata`` file is: load only from
a runtime (and job) you trust to hold what your job saved.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import os
import pickle
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

try:
    import torch
    from torch.distributed.checkpoint.metadata import Metadata, MetadataIndex, StorageMeta
    from torch.distributed.checkpoint.planner import (
        LoadItemType,
        LoadPlan,
        LoadPlanner,
        ReadItem,
        SavePlan,
        SavePlanner,
        WriteItem,
        WriteItemType,
    )
    from torch.distributed.checkpoint.storage import StorageReader, StorageWriter, WriteResult
    from torch.futures import Future
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'pulse.torch needs PyTorch: pip install "pulsecheckpoint[torch]" (or pip install torch)'
    ) from error

from ._errors import PulseError
from ._jobs import load_range
from ._protocol import CHUNK_BYTES
from ._runtime import Runtime
from ._types import Shard, StepState

__all__ = ["PulseStorageReader", "PulseStorageWriter", "PulseWriter", "PulseReader", "ShardItem"]

_SAVE = "save DCP checkpoint"
_LOAD = "load DCP checkpoint"


@dataclass(frozen=True)
class ShardItem:
    """Where one item of a DCP checkpoint is: in the shard of ``rank``, at
    ``offset``, ``length`` bytes. DCP's ``Metadata.storage_data`` maps each
    item's ``MetadataIndex`` to one of these."""

    rank: int
    offset: int
    length: int


@dataclass(frozen=True)
class _ShardPlan:
    """The storage data of a rank's save plan: which shard of the step it writes."""

    rank: int
    world_size: int


def _step_of(checkpoint_id: str | os.PathLike[str] | int) -> int:
    """The step a DCP ``checkpoint_id`` names: an int, or a string of digits."""
    text = os.fspath(checkpoint_id) if not isinstance(checkpoint_id, int) else str(checkpoint_id)
    if isinstance(checkpoint_id, bool) or not text.isdigit():
        raise ValueError(f"Cannot use checkpoint_id {checkpoint_id!r}: expected a step number")
    return int(text)


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    """A tensor as ``torch.save`` writes it, on the CPU and with only its own
    elements (a view of a larger storage would save all of it)."""
    tensor = tensor.detach().cpu()
    if tensor.untyped_storage().nbytes() != tensor.nbytes:
        tensor = tensor.clone()
    buffer = io.BytesIO()
    torch.save(tensor, buffer)
    return buffer.getvalue()


class PulseStorageWriter(StorageWriter):  # type: ignore[misc]  # torch is not followed: Any
    """A DCP ``StorageWriter`` that saves step ``step`` of job ``job_id``: each
    rank's items as its shard, the coordinator's ``finish`` as the commit.

    Every rank makes its own writer with the same job and step::

        dcp.save(state_dict, storage_writer=PulseStorageWriter(rt, job_id, step))

    ``dcp.async_save`` works too (its default stager copies the state to CPU
    memory first); the step is visible once its future is done.
    """

    def __init__(
        self,
        runtime: Runtime,
        job_id: str,
        step: int,
        *,
        worker_id: str | None = None,
        commit_timeout: float | None = None,
        incremental: bool = True,
    ) -> None:
        """
        Args:
            runtime: the runtime the job saves to.
            job_id: the job.
            step: the step to save; a ``checkpoint_id`` given to ``dcp.save``
                (a step number) replaces it.
            worker_id: this rank's registered worker, whose going STALE
                aborts the step; ``None`` for none.
            commit_timeout: how long the coordinator's commit waits for every
                rank's shard, in seconds; the runtime's
                ``jobs.commit_timeout_ms`` when ``None``.
            incremental: name the chunks that this rank's shard of the latest
                complete step has instead of sending them.
        """
        super().__init__()
        self.runtime = runtime
        self.job_id = job_id
        self.step = _step_of(step)
        self.worker_id = worker_id
        self.commit_timeout = commit_timeout
        self.incremental = incremental
        self.is_coordinator = False
        self.save_id = str(uuid.uuid4())

    def reset(self, checkpoint_id: str | os.PathLike[str] | None = None) -> None:
        """Starts a new save; a ``checkpoint_id`` (a step number) names its step."""
        if checkpoint_id is not None:
            self.step = _step_of(checkpoint_id)
        self.save_id = str(uuid.uuid4())

    def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        """Remembers whether this rank commits.

        Raises:
            ValueError: a save without collectives (``use_collectives=False``),
                whose ranks never meet in one ``finish``.
        """
        if kwargs.get("use_collectives", True) is False:
            raise ValueError(f"Cannot {_SAVE}: PulseStorageWriter needs DCP's collectives (use_collectives=True)")
        self.is_coordinator = is_coordinator

    def prepare_local_plan(self, plan: SavePlan) -> SavePlan:
        """The plan as it is."""
        return plan

    def prepare_global_plan(self, plans: list[SavePlan]) -> list[SavePlan]:
        """Gives each rank's plan its shard: its rank among ``len(plans)``."""
        return [
            dataclasses.replace(plan, storage_data=_ShardPlan(rank=rank, world_size=len(plans)))
            for rank, plan in enumerate(plans)
        ]

    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Future[list[WriteResult]]:
        """Saves this rank's items as its shard of the step; the results locate each item in it."""
        shard: _ShardPlan = plan.storage_data
        pieces: list[bytes] = []
        results: list[WriteResult] = []
        offset = 0
        for item in plan.items:
            piece = self._item_bytes(item, planner)
            results.append(
                WriteResult(
                    index=item.index,
                    size_in_bytes=len(piece),
                    storage_data=ShardItem(shard.rank, offset, len(piece)),
                )
            )
            pieces.append(piece)
            offset += len(piece)
        self.runtime.save_shard(
            self.job_id,
            self.step,
            shard.rank,
            shard.world_size,
            pieces,
            {"dcp_items": len(results)},
            worker_id=self.worker_id,
            incremental=self.incremental,
        )
        future: Future[list[WriteResult]] = Future()
        future.set_result(results)
        return future

    @staticmethod
    def _item_bytes(item: WriteItem, planner: SavePlanner) -> bytes:
        data = planner.resolve_data(item)
        if item.type == WriteItemType.BYTE_IO:
            assert isinstance(data, io.BytesIO), f"DCP resolved a BYTE_IO item to {type(data).__name__}"
            return data.getvalue()
        assert isinstance(data, torch.Tensor), f"DCP resolved a tensor item to {type(data).__name__}"
        return _tensor_bytes(data)

    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        """Commits the step with DCP's metadata (which locates every item in the
        shards); runs on the coordinator once every rank's ``write_data`` returned.

        Raises:
            PulseError: ABORTED when a rank's shard is missing at the deadline.
        """
        metadata.storage_data = {result.index: result.storage_data for rank in results for result in rank}
        metadata.storage_meta = self.storage_meta()
        self.runtime.commit_step(
            self.job_id, self.step, len(results), metadata=pickle.dumps(metadata), timeout=self.commit_timeout
        )

    def storage_meta(self) -> StorageMeta | None:
        """The save's id and its checkpoint id, ``pulse://<job>/<step>``."""
        return StorageMeta(checkpoint_id=f"pulse://{self.job_id}/{self.step}", save_id=self.save_id)

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike[str]) -> bool:
        """Whether ``checkpoint_id`` is a step number."""
        try:
            _step_of(checkpoint_id)
        except ValueError:
            return False
        return True


class PulseStorageReader(StorageReader):  # type: ignore[misc]  # torch is not followed: Any
    """A DCP ``StorageReader`` of step ``step`` of job ``job_id`` (the job's
    latest complete step when ``None``), saved by :class:`PulseStorageWriter`
    with any number of ranks::

        dcp.load(state_dict, storage_reader=PulseStorageReader(rt, job_id))

    Each rank loads the shards that hold the items it needs, each once, every
    chunk verified. When the step is the latest, every rank must find the same
    one: the coordinator checks that they did.
    """

    def __init__(self, runtime: Runtime, job_id: str, step: int | None = None) -> None:
        """
        Args:
            runtime: the runtime the job saved to.
            job_id: the job.
            step: the step to load; the latest complete one when ``None``. A
                ``checkpoint_id`` given to ``dcp.load`` (a step number) replaces it.
        """
        super().__init__()
        self.runtime = runtime
        self.job_id = job_id
        self.step = None if step is None else _step_of(step)
        #: The step read_metadata found: the one this load reads.
        self.loaded_step: int | None = None
        self.storage_data: dict[MetadataIndex, ShardItem] = {}
        self.load_id = str(uuid.uuid4())
        self._shards: dict[int, Shard] = {}

    def reset(self, checkpoint_id: str | os.PathLike[str] | None = None) -> None:
        """Starts a new load; a ``checkpoint_id`` (a step number) names its step."""
        if checkpoint_id is not None:
            self.step = _step_of(checkpoint_id)
        self.loaded_step = None
        self.storage_data = {}
        self.load_id = str(uuid.uuid4())

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        """DCP's metadata of the step, as its coordinator committed it.

        Raises:
            PulseError: NOT_FOUND when the job has no complete step (or no
                such step), FAILED_PRECONDITION for a step that is not COMPLETE
                or was not saved through DCP.
        """
        if kwargs.get("rank") is not None:
            # DCP's fallback to per-rank metadata, which a step never has.
            raise PulseError("NOT_FOUND", f"Cannot {_LOAD}: a step has one metadata, not one per rank")
        if self.step is None:
            latest = self.runtime.latest_step(self.job_id)
            if latest is None:
                raise PulseError("NOT_FOUND", f"Cannot {_LOAD}: job {self.job_id} has no complete step")
            found = latest
        else:
            found = self.runtime.get_step(self.job_id, self.step)
        if found.state is not StepState.COMPLETE:
            raise PulseError(
                "FAILED_PRECONDITION",
                f"Cannot {_LOAD}: step {found.step} of job {self.job_id} is {found.state} ({found.reason})",
            )
        self._shards = {shard.rank: shard for shard in found.shards}
        data = self.runtime.load_step_metadata(self.job_id, found.step)
        if data is None:
            raise PulseError(
                "FAILED_PRECONDITION",
                f"Cannot {_LOAD}: step {found.step} of job {self.job_id} has no metadata (not saved through DCP)",
            )
        metadata: Metadata = pickle.loads(data)
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        self.loaded_step = found.step
        return metadata

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        """Takes the items' locations from the metadata."""
        self.storage_data = metadata.storage_data

    def prepare_local_plan(self, plan: LoadPlan) -> LoadPlan:
        """The plan, marked with the step this rank found."""
        return dataclasses.replace(plan, storage_data=self.loaded_step)

    def prepare_global_plan(self, plans: list[LoadPlan]) -> list[LoadPlan]:
        """The plans as they are, once every rank is found to read the same step.

        Raises:
            PulseError: FAILED_PRECONDITION when ranks found different latest
                steps (one was committed meanwhile): load again, or give the step.
        """
        steps = sorted({plan.storage_data for plan in plans})
        if len(steps) > 1:
            raise PulseError(
                "FAILED_PRECONDITION",
                f"Cannot {_LOAD}: the ranks found different steps of job {self.job_id} ({steps}); "
                "a step was committed meanwhile: load again, or give the step",
            )
        return plans

    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Future[None]:
        """Loads each shard that holds items of the plan, once, and hands DCP every item."""
        by_rank: dict[int, list[ReadItem]] = {}
        for item in plan.items:
            by_rank.setdefault(self.storage_data[item.storage_index].rank, []).append(item)
        for rank, items in sorted(by_rank.items()):
            read = self._reader_of(rank, [self.storage_data[item.storage_index] for item in items])
            for item in items:
                where = self.storage_data[item.storage_index]
                _read_item(item, read(where), planner)
        future: Future[None] = Future()
        future.set_result(None)
        return future

    def _reader_of(self, rank: int, wanted: list[ShardItem]) -> Callable[[ShardItem], memoryview]:
        """What reads the items of rank's shard: the whole shard, loaded once,
        when the items make half of it or more; else only their ranges (runs
        of items less than a chunk apart), each loaded once, chunk-verified."""
        shard = self._shards.get(rank)
        if shard is None:
            raise PulseError("DATA_LOSS", f"Cannot {_LOAD}: step {self.loaded_step} has no shard of rank {rank}")
        for where in wanted:
            if where.offset + where.length > shard.size_bytes:
                raise PulseError(
                    "DATA_LOSS",
                    f"Cannot {_LOAD}: an item ends at byte {where.offset + where.length} of rank {rank}'s shard, "
                    f"which has {shard.size_bytes}",
                )
        ranges = _ranges(wanted)
        if 2 * sum(end - start for start, end in ranges) >= shard.size_bytes:
            whole = memoryview(self.runtime.load_shard(self.job_id, rank, step=self.loaded_step))
            return lambda where: whole[where.offset : where.offset + where.length]
        # load_range is the SDK's own (pulse._jobs), through this Runtime's channel.
        loaded = [
            (start, memoryview(load_range(self.runtime._channel, self.job_id, shard.checkpoint_id, start, end - start)))
            for start, end in ranges
        ]
        starts = [start for start, _ in loaded]

        def read(where: ShardItem) -> memoryview:
            start, data = loaded[bisect.bisect_right(starts, where.offset) - 1]
            return data[where.offset - start : where.offset - start + where.length]

        return read

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike[str]) -> bool:
        """Whether ``checkpoint_id`` is a step number."""
        return PulseStorageWriter.validate_checkpoint_id(checkpoint_id)


def _ranges(items: list[ShardItem]) -> list[tuple[int, int]]:
    """The byte ranges that hold the items: items less than a chunk apart
    share one (their chunks would be loaded anyway), in order."""
    ranges: list[tuple[int, int]] = []
    for item in sorted(items, key=lambda item: item.offset):
        end = item.offset + item.length
        if ranges and item.offset <= ranges[-1][1] + CHUNK_BYTES:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], end))
        else:
            ranges.append((item.offset, end))
    return ranges


def _read_item(item: ReadItem, data: memoryview, planner: LoadPlanner) -> None:
    """Hands one item's bytes to DCP: bytes as they are; a tensor loaded, cut
    to the part the item asks for, and copied into the planner's tensor."""
    if item.type == LoadItemType.BYTE_IO:
        planner.load_bytes(item, io.BytesIO(data))
        return
    tensor = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    tensor = _narrow(tensor, item.storage_offsets, item.lengths)
    target = planner.resolve_tensor(item).detach()
    if target.size() != tensor.size():
        raise PulseError(
            "DATA_LOSS",
            f"Cannot {_LOAD}: {item.storage_index.fqn} is {tuple(tensor.size())} in the shard, "
            f"the plan asks for {tuple(target.size())}",
        )
    target.copy_(tensor)
    planner.commit_tensor(item, target)


def _narrow(tensor: torch.Tensor, offsets: Sequence[int], lengths: Sequence[int]) -> torch.Tensor:
    """The part of ``tensor`` from ``offsets``, ``lengths`` long, in each dimension."""
    for dim, (offset, length) in enumerate(zip(offsets, lengths)):
        if offset != 0 or length != tensor.size(dim):
            tensor = torch.narrow(tensor, dim, offset, length)
    return tensor


#: Short names, as in ``dcp.save(state, storage_writer=PulseWriter(rt, job_id, step))``.
PulseWriter = PulseStorageWriter
PulseReader = PulseStorageReader
