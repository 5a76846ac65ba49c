"""One rank of the DCP tests' jobs (tests/test_torch_dcp.py), run as a process
of its own: ``python dcp_rank.py '<json>'``.

``save``: joins a gloo process group on loopback, trains a small model one
step (its seed is the step, so each step's state differs), and saves the
model, the optimizer and a tensor sharded across the ranks (a DTensor) with
``dcp.save`` (or ``dcp.async_save``) through PulseStorageWriter; rank 0 then
writes the whole state it saved to ``expected`` for the loaders to compare
with. With ``die_rank`` that rank kills itself (SIGKILL) in ``write_data``,
before its shard is saved.

``load``: in a fresh model and optimizer (other values), loads the job's
latest complete step with PulseStorageReader (with 1 rank without a process
group: resharding), and writes to ``out`` whether every tensor is
``torch.equal`` to ``expected``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pulse import Runtime  # noqa: E402
from pulse.torch import PulseStorageReader, PulseStorageWriter  # noqa: E402

WIDTH = 1024
SHARDED_ROWS = 512


def build(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """A model of a few linear layers (2.4 M parameters) and its Adam, after one
    training step: the optimizer has its state."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(WIDTH, WIDTH), torch.nn.ReLU(), torch.nn.Linear(WIDTH, WIDTH), torch.nn.ReLU(),
        torch.nn.Linear(WIDTH, 256),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(8, WIDTH)).square().mean().backward()
    optimizer.step()
    return model, optimizer


def sharded_full(seed: int) -> torch.Tensor:
    """The whole of the tensor the ranks hold a part each of."""
    return torch.randn(SHARDED_ROWS, 64, generator=torch.Generator().manual_seed(seed * 7 + 1))


def state_of(seed: int, world: int) -> tuple[dict[str, Any], torch.nn.Module, torch.optim.Optimizer]:
    """The state to save (or to load into) of step ``seed``: the model's and the
    optimizer's state dicts, the sharded tensor (a DTensor with several ranks), and a plain object."""
    model, optimizer = build(seed)
    model_state, optim_state = get_state_dict(model, optimizer)
    full = sharded_full(seed)
    sharded: Any = full
    if world > 1:
        from torch.distributed.tensor import Shard, distribute_tensor, init_device_mesh

        mesh = init_device_mesh("cpu", (world,))
        sharded = distribute_tensor(full, mesh, [Shard(0)])
    return {"model": model_state, "optim": optim_state, "sharded": sharded, "extra": {"seed": seed}}, model, optimizer


class DyingWriter(PulseStorageWriter):
    """A writer whose rank ``die_rank`` is killed before its shard is saved."""

    die_rank = -1

    def write_data(self, plan: Any, planner: Any) -> Any:
        if plan.storage_data.rank == self.die_rank:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().write_data(plan, planner)


def flat(state: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a nested state dict, by its path; DTensors as their whole tensor."""
    if isinstance(state, dict):
        out: dict[str, Any] = {}
        for key, value in state.items():
            out.update(flat(value, f"{prefix}{key}."))
        return out
    if isinstance(state, (list, tuple)):
        out = {}
        for index, value in enumerate(state):
            out.update(flat(value, f"{prefix}{index}."))
        return out
    if hasattr(state, "full_tensor"):
        state = state.full_tensor()
    return {prefix.rstrip("."): state}


def save(args: dict[str, Any], rank: int, world: int) -> None:
    state, _, _ = state_of(args["step"], world)
    writer_class = DyingWriter if args.get("die_rank") is not None else PulseStorageWriter
    DyingWriter.die_rank = args.get("die_rank", -1)
    with Runtime(args["address"]) as rt:
        writer = writer_class(rt, args["job"], args["step"], commit_timeout=30)
        if args.get("async"):
            dcp.async_save(state, storage_writer=writer).result(timeout=120)
        else:
            dcp.save(state, storage_writer=writer)
    whole = flat(state)  # on every rank: a DTensor's full_tensor() is a collective
    if rank == 0:
        torch.save(whole, args["expected"])


def load(args: dict[str, Any], rank: int, world: int) -> None:
    # Other values than any saved step's: seed 999.
    state, model, optimizer = state_of(999, world)
    state["sharded"] = state["sharded"] if world > 1 else torch.zeros(SHARDED_ROWS, 64)
    shards_read: list[int] = []
    with Runtime(args["address"]) as rt:
        load_shard = rt.load_shard

        def recording(job_id: str, shard_rank: int, step: int | None = None) -> bytes:
            shards_read.append(shard_rank)
            return load_shard(job_id, shard_rank, step)

        rt.load_shard = recording  # type: ignore[method-assign]
        reader = PulseStorageReader(rt, args["job"])
        dcp.load(state, storage_reader=reader)
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    expected = torch.load(args["expected"], weights_only=False)
    # What the model and optimizer now hold, not only the dict DCP filled.
    model_state, optim_state = get_state_dict(model, optimizer)
    loaded = flat({"model": model_state, "optim": optim_state, "sharded": state["sharded"], "extra": state["extra"]})
    mismatches = [key for key in expected if not same(expected[key], loaded.get(key))]
    mismatches += [key for key in loaded if key not in expected]
    result = {
        "rank": rank,
        "step": reader.loaded_step,
        "items": len(expected),
        "mismatches": mismatches,
        "shards_read": shards_read,
    }
    Path(f"{args['out']}.{rank}").write_text(json.dumps(result), encoding="utf-8")


def same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    return bool(a == b)


def main() -> None:
    args = json.loads(sys.argv[1])
    rank, world = args["rank"], args["world"]
    if world > 1:
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{args['port']}", rank=rank, world_size=world,
            timeout=timedelta(seconds=60),
        )
    try:
        {"save": save, "load": load}[args["action"]](args, rank, world)
    finally:
        if world > 1:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
