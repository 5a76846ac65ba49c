"""PyTorch Distributed Checkpoint through pulse.torch against a real runtime:
real jobs of 2 ranks, each a process of its own (tests/dcp_rank.py) in a gloo
process group on loopback, save a model, its Adam state and a tensor sharded
across the ranks (a DTensor) with ``dcp.save`` and ``dcp.async_save``; fresh
models in 2 ranks, and in 1 (DCP reshards: that rank reads both shards),
load it back with every tensor ``torch.equal``. A rank killed (SIGKILL)
before its shard lands leaves its step uncommitted and then ABORTED, the
job's latest complete step stays the previous one, and DCP loads that one.

Skipped only when PyTorch cannot be imported (CI installs it)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from pulse import CHUNK_BYTES, PulseError, Runtime, StepState
from runtime_process import RuntimeProcess

pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")

RANK_SCRIPT = Path(__file__).resolve().parent / "dcp_rank.py"
RANK_TIMEOUT_SECONDS = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_ranks(world: int, **args: Any) -> list[subprocess.Popen[str]]:
    """Starts the ranks of a job, each a process running tests/dcp_rank.py."""
    port = free_port()
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}  # two ranks on a shared 2-core machine
    return [
        subprocess.Popen(
            [sys.executable, str(RANK_SCRIPT), json.dumps({**args, "rank": rank, "world": world, "port": port})],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(world)
    ]


def finish(ranks: list[subprocess.Popen[str]], timeout: float = RANK_TIMEOUT_SECONDS) -> list[tuple[int, str]]:
    """Waits for every rank (killing it at the timeout); their exit codes and outputs."""
    ended = []
    for process in ranks:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        ended.append((process.returncode, output))
    return ended


def run_ranks(world: int, **args: Any) -> None:
    for rank, (code, output) in enumerate(finish(start_ranks(world, **args))):
        assert code == 0, f"rank {rank} of {world} failed ({code}):\n{output[-4000:]}"


def loaded(out: Path, world: int) -> list[dict[str, Any]]:
    return [json.loads(Path(f"{out}.{rank}").read_text(encoding="utf-8")) for rank in range(world)]


@pytest.fixture
def job(runtime_process: RuntimeProcess, tmp_path: Path) -> dict[str, Any]:
    """The arguments every rank of this test's job gets."""
    return {"address": runtime_process.address, "job": f"dcp-{uuid.uuid4().hex[:10]}", "out": str(tmp_path / "loaded")}


@pytest.mark.parametrize("save_call", ["save", "async_save"])
def test_a_dcp_checkpoint_of_2_ranks_loads_exactly_into_fresh_models_in_2_ranks_and_in_1(
    rt: Runtime, job: dict[str, Any], tmp_path: Path, save_call: str
) -> None:
    expected = str(tmp_path / "expected-10.pt")
    run_ranks(2, **job, action="save", step=10, expected=expected, **{"async": save_call == "async_save"})

    step = rt.latest_step(job["job"])
    assert step is not None and (step.step, step.world_size, step.state) == (10, 2, StepState.COMPLETE)
    assert [shard.rank for shard in step.shards] == [0, 1]
    assert all(shard.size_bytes > 1_000_000 for shard in step.shards), "DCP spreads the items over both ranks"
    assert step.metadata_checkpoint_id != ""

    run_ranks(2, **job, action="load", expected=expected)
    for result in loaded(Path(job["out"]), 2):
        assert result["step"] == 10
        assert result["items"] > 20 and result["mismatches"] == [], result
    run_ranks(1, **job, action="load", expected=expected)
    [alone] = loaded(Path(job["out"]), 1)
    assert alone["step"] == 10 and alone["mismatches"] == [], alone
    assert alone["shards_read"] == [0, 1], "one rank reads both ranks' shards, each once"


def test_a_rank_killed_before_its_shard_lands_leaves_the_previous_step_latest_and_dcp_loads_it(
    rt: Runtime, job: dict[str, Any], tmp_path: Path
) -> None:
    expected = str(tmp_path / "expected-10.pt")
    run_ranks(2, **job, action="save", step=10, expected=expected)

    ranks = start_ranks(2, **job, action="save", step=20, expected=str(tmp_path / "expected-20.pt"), die_rank=1)
    (survivor, survivor_output), (killed, _) = finish(ranks[::-1])[::-1]
    assert killed == -signal.SIGKILL
    assert survivor != 0, f"rank 0's dcp.save should fail without rank 1:\n{survivor_output[-2000:]}"

    pending = rt.get_step(job["job"], 20)
    assert pending.state is StepState.PENDING, "nobody committed step 20"
    assert ([shard.rank for shard in pending.shards], pending.missing_ranks) == ([0], [1])
    latest = rt.latest_step(job["job"])
    assert latest is not None and latest.step == 10
    with pytest.raises(PulseError) as raised:
        rt.commit_step(job["job"], 20, 2, timeout=0.5)
    assert raised.value.code == "ABORTED" and "ranks 1 missing" in str(raised.value)
    assert rt.get_step(job["job"], 20).state is StepState.ABORTED

    run_ranks(2, **job, action="load", expected=expected)
    for result in loaded(Path(job["out"]), 2):
        assert result["step"] == 10 and result["mismatches"] == [], result


def test_a_load_of_a_few_items_reads_only_the_chunks_that_hold_them(
    rt: Runtime, runtime_process: RuntimeProcess
) -> None:
    """One process, no process group: a 40 MiB tensor and two small ones are
    saved; loading only the small ones reads at most the two chunks that hold
    them (counted on the runtime's /metrics), and they load exactly."""
    import torch
    import torch.distributed.checkpoint as dcp

    from pulse.torch import PulseStorageReader, PulseStorageWriter
    from test_incremental import metric_sum

    job_id = f"dcp-{uuid.uuid4().hex[:10]}"
    generator = torch.Generator().manual_seed(5)
    state = {
        "first": torch.randn(1000, generator=generator),
        "big": torch.randn(10 * 2**20, generator=generator),
        "last": torch.arange(100, dtype=torch.int64),
    }
    dcp.save(state, storage_writer=PulseStorageWriter(rt, job_id, 1))
    shard = rt.get_step(job_id, 1).shards[0]
    assert shard.size_bytes > 40 * 2**20

    wanted = {"first": torch.zeros(1000), "last": torch.zeros(100, dtype=torch.int64)}
    before = metric_sum(runtime_process, "pulse_checkpoint_bytes_total", operation="load")
    dcp.load(wanted, storage_reader=PulseStorageReader(rt, job_id))
    read = metric_sum(runtime_process, "pulse_checkpoint_bytes_total", operation="load") - before
    assert torch.equal(wanted["first"], state["first"]) and torch.equal(wanted["last"], state["last"])
    metadata_bytes = len(rt.load_step_metadata(job_id) or b"")
    assert 0 < read <= 2 * CHUNK_BYTES + 2 * metadata_bytes, f"{read} bytes read of a {shard.size_bytes}-byte shard"

    everything = {key: torch.zeros_like(value) for key, value in state.items()}
    dcp.load(everything, storage_reader=PulseStorageReader(rt, job_id, step=1))
    assert all(torch.equal(everything[key], state[key]) for key in state)
