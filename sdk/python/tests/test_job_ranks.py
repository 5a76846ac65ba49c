"""A job of 4 ranks as 4 processes of their own against a real runtime: each
rank saves its shard and commits the step, every commit answers the same
COMPLETE step; then a rank killed with SIGKILL in the middle of its shard
leaves that step ABORTED at the commit's deadline, naming it, and
latest_step on the step before, which loads byte-exact."""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import textwrap
import uuid

from pulse import PulseError, Runtime, StepState
from test_checkpoints import pattern_bytes

RANKS = 4
SIZE = 3 * 1024 * 1024

# One rank: saves its shard (slowly, for the rank told to stall) and commits.
RANK = textwrap.dedent(
    """
    import json, sys, time
    from pulse import Runtime
    sys.path.insert(0, sys.argv[6])
    from test_checkpoints import pattern_bytes
    address, job, step, rank, stall = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
    data = pattern_bytes(%d + rank, seed=step * 100 + rank)
    with Runtime(address) as rt:
        if stall:
            def pieces():
                yield data[: 1024 * 1024]
                print("started", flush=True)
                time.sleep(3600)
                yield data[1024 * 1024 :]
            rt.save_shard(job, step, rank, %d, pieces())
        rt.save_shard(job, step, rank, %d, data)
        step_ = rt.commit_step(job, step, %d, timeout=60)
        print(json.dumps({"state": step_.state.name, "shards": [s.checkpoint_id for s in step_.shards]}), flush=True)
    """
    % (SIZE, RANKS, RANKS, RANKS)
)


def start_rank(address: str, job: str, step: int, rank: int, stall: bool = False) -> subprocess.Popen[str]:
    tests_dir = str(__import__("pathlib").Path(__file__).resolve().parent)
    return subprocess.Popen(
        [sys.executable, "-c", RANK, address, job, str(step), str(rank), "1" if stall else "0", tests_dir],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_four_rank_processes_commit_a_step_and_a_rank_killed_mid_shard_aborts_the_next(address: str) -> None:
    job = f"job-{uuid.uuid4().hex[:12]}"
    ranks = [start_rank(address, job, 1, rank) for rank in range(RANKS)]
    answers = [json.loads(process.communicate(timeout=120)[0].strip().splitlines()[-1]) for process in ranks]
    assert all(process.returncode == 0 for process in ranks)
    assert all(answer == answers[0] for answer in answers), "every rank's commit answers the same step"
    assert answers[0]["state"] == "COMPLETE"

    stalled = start_rank(address, job, 2, 3, stall=True)
    assert stalled.stdout is not None and stalled.stdout.readline().strip() == "started"
    stalled.send_signal(signal.SIGKILL)
    stalled.wait(timeout=30)
    with Runtime(address) as rt:
        for rank in range(3):
            rt.save_shard(job, 2, rank, RANKS, pattern_bytes(SIZE + rank, seed=200 + rank))
        try:
            rt.commit_step(job, 2, RANKS, timeout=2)
            raise AssertionError("the step committed without rank 3")
        except PulseError as error:
            assert error.code == "ABORTED"
            assert "ranks 3 missing" in error.message
        assert rt.get_step(job, 2).state == StepState.ABORTED
        latest = rt.latest_step(job)
        assert latest is not None and latest.step == 1
        for rank in range(RANKS):
            data = rt.load_shard(job, rank)
            expected = pattern_bytes(SIZE + rank, seed=100 + rank)
            assert hashlib.sha256(data).hexdigest() == hashlib.sha256(expected).hexdigest()
