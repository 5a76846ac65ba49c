"""Job checkpoints through the Python SDK against a real runtime: ranks save
shards of a step, any rank commits it all or nothing, a job resumes from its
latest complete step; a commit whose deadline passes without every shard
aborts the step naming the missing ranks; shards save incrementally against
the same rank's shard of the previous step (counted on the runtime's own
/metrics); every load is byte-exact. tests/integration/jobs_test.ts proves
the same of the TypeScript SDK."""

from __future__ import annotations

import io
import threading
import time
import uuid
from concurrent.futures import Future
from pathlib import Path

import pytest

from pulse import CHUNK_BYTES, Checkpoint, PulseError, Runtime, ShardRef, Step, StepState
from runtime_process import RuntimeProcess
from test_checkpoints import pattern_bytes
from test_incremental import changed, metric_sum
from test_retries import closed_port_address

WORLD = 3


@pytest.fixture
def job_id() -> str:
    """A job of this test alone."""
    return f"job-{uuid.uuid4().hex[:12]}"


def shard_bytes(step: int, rank: int, size: int = CHUNK_BYTES + 1000) -> bytes:
    return pattern_bytes(size + rank, seed=step * 100 + rank)


def save_step(rt: Runtime, job_id: str, step: int, world: int = WORLD) -> list[bytes]:
    shards = [shard_bytes(step, rank) for rank in range(world)]
    for rank, data in enumerate(shards):
        rt.save_shard(job_id, step, rank, world, data)
    return shards


def in_thread(run: object) -> Future[Step]:
    """Runs ``run()`` on a thread; the future gets its result or exception."""
    future: Future[Step] = Future()

    def target() -> None:
        try:
            future.set_result(run())  # type: ignore[operator]
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=target, daemon=True).start()
    return future


def test_a_step_is_visible_only_once_every_rank_landed_and_every_commit_returns_the_same_step(
    rt: Runtime, job_id: str
) -> None:
    first = save_step(rt, job_id, 1)
    assert rt.commit_step(job_id, 1, WORLD).state is StepState.COMPLETE

    second = [shard_bytes(2, rank) for rank in range(WORLD)]
    saved = [rt.save_shard(job_id, 2, rank, WORLD, second[rank]) for rank in (0, 1)]
    # Two ranks commit at once, both before the last shard.
    commit, racing = (in_thread(lambda: rt.commit_step(job_id, 2, WORLD, timeout=60)) for _ in range(2))
    time.sleep(0.3)
    assert not commit.done() and not racing.done(), "the commits wait for rank 2"
    pending = rt.get_step(job_id, 2)
    assert (pending.state, pending.missing_ranks, pending.created_at) == (StepState.PENDING, [2], None)
    latest = rt.latest_step(job_id)
    assert latest is not None and latest.step == 1, "step 2 is not visible before its last shard"

    saved.append(rt.save_shard(job_id, 2, 2, WORLD, second[2]))
    step = commit.result(timeout=60)
    assert racing.result(timeout=60) == step, "both commits answer the one decision"
    assert step.state is StepState.COMPLETE and step.missing_ranks == [] and step.created_at is not None
    assert [(s.rank, s.checkpoint_id, s.size_bytes, s.sha256) for s in step.shards] == [
        (rank, c.checkpoint_id, len(second[rank]), c.sha256) for rank, c in enumerate(saved)
    ]
    assert saved[1].shard == ShardRef(job_id=job_id, step=2, rank=1, world_size=WORLD, step_metadata=False)
    assert saved[1].worker_id == ""
    assert rt.commit_step(job_id, 2, WORLD) == step, "a later commit returns the same step"
    assert rt.latest_step(job_id) == step == rt.get_step(job_id, 2)
    for rank in range(WORLD):
        assert rt.load_shard(job_id, rank) == second[rank]
        assert rt.load_shard(job_id, rank, step=1) == first[rank]


def test_a_commit_whose_deadline_passes_aborts_the_step_naming_the_missing_ranks(rt: Runtime, job_id: str) -> None:
    save_step(rt, job_id, 1)
    rt.commit_step(job_id, 1, WORLD)
    rt.save_shard(job_id, 2, 1, WORLD, shard_bytes(2, 1))

    with pytest.raises(PulseError) as raised:
        rt.commit_step(job_id, 2, WORLD, timeout=0.5)
    assert raised.value.code == "ABORTED"
    assert "ranks 0, 2 missing" in str(raised.value)

    aborted = rt.get_step(job_id, 2)
    assert (aborted.state, aborted.missing_ranks) == (StepState.ABORTED, [0, 2])
    assert "deadline" in aborted.reason
    latest = rt.latest_step(job_id)
    assert latest is not None and latest.step == 1, "latest skips the aborted step"
    assert [(s.step, s.state) for s in rt.list_steps(job_id)] == [(2, StepState.ABORTED), (1, StepState.COMPLETE)]
    with pytest.raises(PulseError) as again:
        rt.commit_step(job_id, 2, WORLD, timeout=0.5)
    assert again.value.code == "ABORTED", "the decision stands"
    with pytest.raises(PulseError) as late:
        rt.save_shard(job_id, 2, 0, WORLD, b"too late")
    assert late.value.code == "FAILED_PRECONDITION"
    assert rt.load_shard(job_id, 0) == shard_bytes(1, 0), "the job loads its previous complete step"


def test_a_job_without_a_complete_step_has_no_latest_and_unknown_steps_are_not_found(
    rt: Runtime, job_id: str
) -> None:
    assert rt.latest_step(job_id) is None
    assert list(rt.list_steps(job_id)) == []
    for call in (lambda: rt.get_step(job_id, 7), lambda: rt.load_shard(job_id, 0), lambda: rt.load_step_metadata(job_id)):
        with pytest.raises(PulseError) as raised:
            call()
        assert raised.value.code == "NOT_FOUND"
    save_step(rt, job_id, 1, world=2)
    rt.commit_step(job_id, 1, 2)
    with pytest.raises(PulseError) as no_rank:
        rt.load_shard(job_id, 5)
    assert no_rank.value.code == "NOT_FOUND" and "no shard of rank 5" in str(no_rank.value)


def test_bad_arguments_are_refused_naming_the_field(rt: Runtime, job_id: str) -> None:
    with pytest.raises(PulseError) as bad_job:
        rt.save_shard("bad/job", 1, 0, 1, b"x")
    assert bad_job.value.code == "INVALID_ARGUMENT" and "job_id" in str(bad_job.value)
    with pytest.raises(PulseError) as bad_rank:
        rt.save_shard(job_id, 1, 2, 2, b"x")
    assert bad_rank.value.code == "INVALID_ARGUMENT" and "rank" in str(bad_rank.value)
    with pytest.raises(PulseError) as negative:
        rt.save_shard(job_id, -1, 0, 1, b"x")
    assert negative.value.code == "INVALID_ARGUMENT" and "step is -1" in str(negative.value)
    with pytest.raises(PulseError) as bad_timeout:
        rt.commit_step(job_id, 1, 1, timeout=-1)
    assert bad_timeout.value.code == "INVALID_ARGUMENT" and "timeout" in str(bad_timeout.value)
    with pytest.raises(TypeError):
        rt.save_shard(job_id, 1, 0, 1, "text")  # type: ignore[arg-type]


def test_shards_and_step_metadata_load_back_byte_exact_from_memory_and_files(
    rt: Runtime, job_id: str, tmp_path: Path
) -> None:
    large = pattern_bytes(2 * CHUNK_BYTES + 17, seed=3)
    from_file = pattern_bytes(CHUNK_BYTES + 5, seed=4)
    pieces = [pattern_bytes(1000, seed=5), bytearray(pattern_bytes(3000, seed=6)), b""]
    metadata = pattern_bytes(70_000, seed=7)  # larger than a JSON metadata may be
    rt.save_shard(job_id, 4, 0, 3, large, {"rank": 0})
    rt.save_shard(job_id, 4, 1, 3, io.BytesIO(from_file))
    rt.save_shard(job_id, 4, 2, 3, iter(pieces))
    step = rt.commit_step(job_id, 4, 3, metadata=metadata)
    assert step.metadata_checkpoint_id != ""

    assert rt.load_shard(job_id, 0) == large
    assert rt.load_shard(job_id, 1, step=4) == from_file
    assert rt.load_shard(job_id, 2) == b"".join(bytes(p) for p in pieces)
    target = tmp_path / "rank0.bin"
    target.write_bytes(b"old contents, longer than nothing")
    loaded = rt.load_shard_to(job_id, 0, target)
    assert isinstance(loaded, Checkpoint) and loaded.sha256 == step.shards[0].sha256
    assert target.read_bytes() == large
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0.bin"], "no temporary file is left"
    assert rt.load_step_metadata(job_id) == metadata == rt.load_step_metadata(job_id, step=4)

    rt.save_shard(job_id, 5, 0, 1, b"one rank")
    rt.commit_step(job_id, 5, 1)
    assert rt.load_step_metadata(job_id) is None, "a step committed without metadata has none"


def test_save_shard_with_wait_false_returns_a_future_of_a_snapshot(rt: Runtime, job_id: str) -> None:
    data = bytearray(shard_bytes(1, 0))
    expected = bytes(data)
    future = rt.save_shard(job_id, 1, 0, 2, data, wait=False)
    data[:4] = b"\x00\x00\x00\x00"  # the caller changes its buffer at once
    other = rt.save_shard(job_id, 1, 1, 2, b"rank one", wait=False, worker_id=None)
    assert isinstance(future, Future)
    checkpoint = future.result(timeout=60)
    assert isinstance(checkpoint, Checkpoint) and checkpoint.size_bytes == len(expected)
    assert other.result(timeout=60).size_bytes == len(b"rank one")
    rt.commit_step(job_id, 1, 2)
    assert rt.load_shard(job_id, 0) == expected

    late = rt.save_shard(job_id, 1, 0, 2, b"decided", wait=False)
    with pytest.raises(PulseError) as raised:
        late.result(timeout=60)
    assert raised.value.code == "FAILED_PRECONDITION"


def test_a_shard_names_the_chunks_of_the_same_ranks_shard_of_the_latest_complete_step(
    rt: Runtime, runtime_process: RuntimeProcess, job_id: str
) -> None:
    """Four chunks per rank; step 2 changes one chunk of each rank, so each
    rank's save names the other three."""
    size = 3 * CHUNK_BYTES + 100
    first = [pattern_bytes(size, seed=10 + rank) for rank in range(2)]
    for rank in range(2):
        rt.save_shard(job_id, 1, rank, 2, first[rank])
    rt.commit_step(job_id, 1, 2)

    second = [changed(first[rank], CHUNK_BYTES * (rank + 1) + 5) for rank in range(2)]
    named_before = metric_sum(runtime_process, "pulse_chunks_total", result="named")
    for rank in range(2):
        rt.save_shard(job_id, 2, rank, 2, second[rank])
    named = metric_sum(runtime_process, "pulse_chunks_total", result="named") - named_before
    assert named == 6
    rt.commit_step(job_id, 2, 2)
    assert [rt.load_shard(job_id, rank) for rank in range(2)] == second

    # A step of another world size, and a save told not to, send every chunk.
    named_before = metric_sum(runtime_process, "pulse_chunks_total", result="named")
    rt.save_shard(job_id, 3, 0, 3, second[0])
    rt.save_shard(job_id, 3, 1, 3, second[1], incremental=False)
    assert metric_sum(runtime_process, "pulse_chunks_total", result="named") == named_before


def test_list_steps_follows_every_page_newest_first(rt: Runtime, job_id: str) -> None:
    for step in range(1, 6):
        rt.save_shard(job_id, step * 10, 0, 1, shard_bytes(step, 0, size=100))
        rt.commit_step(job_id, step * 10, 1)
    pages: list[int] = []
    original = rt._channel.unary

    def counting(action: str, method: str, request: object, **options: object) -> object:
        if method == "ListSteps":
            pages.append(1)
        return original(action, method, request, **options)  # type: ignore[arg-type]

    rt._channel.unary = counting  # type: ignore[method-assign]
    steps = [s.step for s in rt.list_steps(job_id, page_size=2)]
    assert steps == [50, 40, 30, 20, 10]
    assert len(pages) == 3
    assert [s.step for s in rt.list_steps(job_id)] == steps


def test_a_commit_waits_past_the_runtimes_call_timeout_for_its_own_deadline(address: str, job_id: str) -> None:
    """The Runtime's timeout (1 s) bounds ordinary calls; a commit given 30 s
    waits for the last shard, which lands after 2 s."""
    with Runtime(address, timeout=1.0) as rt:
        rt.save_shard(job_id, 1, 0, 2, b"rank zero")
        commit = in_thread(lambda: rt.commit_step(job_id, 1, 2, timeout=30))
        time.sleep(2)
        rt.save_shard(job_id, 1, 1, 2, b"rank one")
        assert commit.result(timeout=60).state is StepState.COMPLETE


def test_a_shard_saved_for_a_worker_names_it_in_the_step(rt: Runtime, job_id: str, worker_id: str) -> None:
    saved = rt.save_shard(job_id, 1, 0, 1, b"rank zero", worker_id=worker_id)
    assert saved.worker_id == worker_id
    step = rt.commit_step(job_id, 1, 1)
    assert [(s.rank, s.worker_id) for s in step.shards] == [(0, worker_id)]
    with pytest.raises(PulseError) as unknown:
        rt.save_shard(job_id, 2, 0, 1, b"x", worker_id="worker-never-registered")
    assert unknown.value.code == "NOT_FOUND"


def test_shard_saves_commits_and_loads_move_on_from_an_unavailable_replica(
    address: str, job_id: str, no_backoff: list[float]
) -> None:
    """The first address has nothing listening: every call that lands there is
    UNAVAILABLE and goes to the next, as a checkpoint's calls do."""
    data = pattern_bytes(CHUNK_BYTES + 3, seed=9)
    with Runtime([closed_port_address(), address]) as rt:
        for _ in range(2):  # calls start on either replica in turn
            rt.save_shard(job_id, 1, 0, 2, data)
            rt.save_shard(job_id, 1, 1, 2, io.BytesIO(data))
        assert rt.commit_step(job_id, 1, 2, metadata=b"meta", timeout=30).state is StepState.COMPLETE
        assert [rt.load_shard(job_id, rank) for rank in range(2)] == [data, data]
        assert rt.load_step_metadata(job_id) == b"meta"


def test_a_range_of_a_shard_loads_byte_exact_reading_only_its_chunks(rt: Runtime, job_id: str) -> None:
    from pulse._jobs import load_range

    data = pattern_bytes(3 * CHUNK_BYTES + 77, seed=11)
    checkpoint = rt.save_shard(job_id, 1, 0, 1, data)
    for offset, length in [(0, 0), (0, 10), (CHUNK_BYTES - 3, 6), (5, 2 * CHUNK_BYTES), (3 * CHUNK_BYTES, 77), (0, len(data))]:
        assert load_range(rt._channel, job_id, checkpoint.checkpoint_id, offset, length) == data[offset : offset + length]
    with pytest.raises(PulseError) as outside:
        load_range(rt._channel, job_id, checkpoint.checkpoint_id, len(data) - 1, 2)
    assert outside.value.code == "INVALID_ARGUMENT"
