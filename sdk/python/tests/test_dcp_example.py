"""examples/dcp_train.py, run as its docstring says (torchrun, 2 gloo ranks)
against a real runtime: a run whose rank 1 is killed with SIGKILL after a
step was saved, run again, resumes from a complete step and ends with the
weights of a run that was never killed.

Skipped only when PyTorch cannot be imported (CI installs it)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from runtime_process import REPO_DIR, RuntimeProcess

pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")

EXAMPLE = REPO_DIR / "examples" / "dcp_train.py"
RUN_TIMEOUT_SECONDS = 300


def command(job: str) -> list[str]:
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        str(EXAMPLE), "--job", job, "--steps", "20", "--save-every", "5", "--step-seconds", "0.2",
    ]


def environment(runtime: RuntimeProcess) -> dict[str, str]:
    sdk = str(Path(__file__).resolve().parent.parent)
    return {**os.environ, "PULSE_ADDR": runtime.address, "PYTHONPATH": sdk, "OMP_NUM_THREADS": "1"}


def run(runtime: RuntimeProcess, job: str) -> str:
    done = subprocess.run(
        command(job), env=environment(runtime), capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def weights(output: str) -> str:
    found = re.search(r"^done at step 20: weights sha256 ([0-9a-f]{64})$", output, re.M)
    assert found is not None, output[-3000:]
    return found[1]


def test_the_dcp_example_resumes_from_the_latest_complete_step_after_a_rank_is_killed(
    runtime_process: RuntimeProcess,
) -> None:
    job = f"example-{uuid.uuid4().hex[:8]}"
    first = subprocess.Popen(
        command(job), env=environment(runtime_process), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert first.stdout is not None
        for line in first.stdout:
            if line.startswith("step 10:"):
                break
        else:
            pytest.fail("the first run ended before saving step 10")
        ranks = subprocess.run(["pgrep", "-P", str(first.pid)], capture_output=True, text=True).stdout.split()
        assert len(ranks) == 2, ranks
        os.kill(int(max(ranks, key=int)), signal.SIGKILL)
        first.communicate(timeout=RUN_TIMEOUT_SECONDS)
        assert first.returncode != 0, "torchrun ends the job when a rank dies"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    resumed = run(runtime_process, job)
    step = re.search(r"^resuming from step (\d+)$", resumed, re.M)
    assert step is not None and int(step[1]) in (10, 15), resumed[-3000:]
    never_killed = run(runtime_process, f"{job}-whole")
    assert "starting at step 0" in never_killed
    assert weights(resumed) == weights(never_killed)
