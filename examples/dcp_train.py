"""A PyTorch training loop of several ranks that checkpoints with
torch.distributed.checkpoint (DCP) through PulseCheckpoint's job checkpoints,
and resumes from the job's latest complete step after any rank is killed.

Every ``--save-every`` steps all ranks save the model and the optimizer with
``dcp.save`` through ``PulseStorageWriter``: each rank's part becomes its
shard of the step, and the step becomes visible only once every rank's shard
landed. When started again (or restarted by torchrun after a rank died), the
ranks load the latest complete step with ``PulseStorageReader`` and go on
from there. Training is deterministic (each step's data comes from its step
number and rank), so a run that was killed and resumed ends with the same
weights as one that never stopped: compare the ``weights sha256`` lines.

Run with the runtime serving on grpc://localhost:50051 (``deno task start``)::

    pip install "./sdk/python[torch]"
    torchrun --standalone --nproc-per-node 2 examples/dcp_train.py \
        --job dcp-demo --steps 40 --save-every 10 --step-seconds 0.4

From another shell, ``kill -9`` one of the ranks mid-run (``pgrep -f
dcp_train.py``, the newest): torchrun ends the job. Run the same command
again: it prints ``resuming from step N``, N being the last step every rank
saved, and ends with the ``weights sha256`` of a run that was never killed
(measured: killed after step 30 had saved, resumed from 30, same hash).
``torchrun --max-restarts 3`` restarts the ranks itself instead; with gloo
on loopback, restarted ranks sometimes fail to connect to each other
("Gloo connectFullMesh failed") before a later restart succeeds.

Options: ``--address`` (else ``PULSE_ADDR``, else grpc://localhost:50051),
``--job``, ``--steps``, ``--save-every``, ``--step-seconds`` (a pause per
step, to have time to kill a rank), ``--async`` (``dcp.async_save``:
training goes on while the step uploads).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from concurrent.futures import Future
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict
from torch.nn.parallel import DistributedDataParallel

from pulse import PulseError, Runtime, StepState
from pulse.torch import PulseStorageReader, PulseStorageWriter

WIDTH = 256


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default=os.environ.get("PULSE_ADDR", "grpc://localhost:50051"))
    parser.add_argument("--job", default="dcp-demo")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--save-every", type=int, default=10)
    parser.add_argument("--step-seconds", type=float, default=0.0)
    parser.add_argument("--async", dest="async_save", action="store_true")
    return parser.parse_args()


def batch(step: int, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The data of a step on a rank: the same whenever the step is trained."""
    generator = torch.Generator().manual_seed(step * 1000 + rank)
    inputs = torch.randn(32, WIDTH, generator=generator)
    return inputs, inputs.roll(1, dims=1) * 0.5


def weights_sha256(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def resume(
    rt: Runtime, job: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer, group: dist.ProcessGroup
) -> int:
    """Loads the job's latest complete step into the model and optimizer; the step, 0 for none."""
    if rt.latest_step(job) is None:
        return 0
    model_state, optim_state = get_state_dict(model, optimizer)
    state: dict[str, Any] = {"model": model_state, "optim": optim_state, "progress": {"step": 0}}
    reader = PulseStorageReader(rt, job)
    dcp.load(state, storage_reader=reader, process_group=group)
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    assert state["progress"]["step"] == reader.loaded_step
    return int(state["progress"]["step"])


def decided_before(rt: Runtime, job: str, step: int) -> bool:
    """Whether an earlier run's step ``step`` was decided (an ABORTED step takes no shard)."""
    try:
        return rt.get_step(job, step).state is not StepState.PENDING
    except PulseError as error:
        if error.code == "NOT_FOUND":
            return False
        raise


def main() -> None:
    args = arguments()
    dist.init_process_group("gloo")  # torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    rank = dist.get_rank()
    # dcp.async_save runs its collectives on a thread of its own while training
    # runs DDP's: they need a process group of their own, or they interleave.
    checkpoint_group = dist.new_group(backend="gloo")
    torch.manual_seed(0)
    model = DistributedDataParallel(
        torch.nn.Sequential(torch.nn.Linear(WIDTH, WIDTH), torch.nn.Tanh(), torch.nn.Linear(WIDTH, WIDTH))
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    # The optimizer's state exists before a load fills it.
    optimizer.zero_grad()
    model(torch.zeros(1, WIDTH)).sum().backward()
    optimizer.zero_grad()
    pending: Future[Any] | None = None
    with Runtime(args.address) as rt:
        start = resume(rt, args.job, model, optimizer, checkpoint_group)
        if rank == 0:
            print(f"resuming from step {start}" if start else "starting at step 0", flush=True)
        for step in range(start + 1, args.steps + 1):
            inputs, targets = batch(step, rank)
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            time.sleep(args.step_seconds)
            if step % args.save_every or decided_before(rt, args.job, step):
                continue
            if pending is not None:
                pending.result()  # one save in flight at a time
            model_state, optim_state = get_state_dict(model, optimizer)
            state = {"model": model_state, "optim": optim_state, "progress": {"step": step}}
            writer = PulseStorageWriter(rt, args.job, step)
            if args.async_save:
                pending = dcp.async_save(state, storage_writer=writer, process_group=checkpoint_group)
            else:
                dcp.save(state, storage_writer=writer, process_group=checkpoint_group)
            if rank == 0:
                print(f"step {step}: loss {loss.item():.6f}, {'saving' if args.async_save else 'saved'}", flush=True)
        if pending is not None:
            pending.result()
    if rank == 0:
        print(f"done at step {args.steps}: weights sha256 {weights_sha256(model.module)}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
