"""Benchmarks of the Python SDK's job checkpoints, each against a baseline
measured in the same run, on one machine (the runtime's embedded fs store and
the baseline's files in the same temporary directory):

1. PyTorch DCP: ``dcp.save`` and ``dcp.load`` of a model of linear layers and
   its Adam state (one process) through pulse.torch vs DCP's own
   FileSystemWriter/FileSystemReader (which fsyncs) to the same disk.
2. ``save_shard(..., wait=False)`` of ``bytes``: how long the call blocks the
   caller vs how long the save takes (the issue's goal: ≤ 0.05).

Run from the repository (torch installed)::

    python3 bench/dcp_save.py [--width 2048] [--layers 4] [--repeats 3] [--shard-mib 256]

It prints a Markdown table; docs/benchmarks.md keeps the results.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "sdk" / "python"), str(REPO / "sdk" / "python" / "tests")]

from pulse import Runtime  # noqa: E402
from pulse.torch import PulseStorageReader, PulseStorageWriter  # noqa: E402
from runtime_process import start_runtime  # noqa: E402


def state_of(width: int, layers: int) -> dict[str, object]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(layers)])
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(4, width)).sum().backward()
    optimizer.step()
    return {"model": model.state_dict(), "optim": optimizer.state_dict()}


def median_seconds(run: Callable[[int], None], repeats: int) -> float:
    times = []
    for index in range(repeats):
        start = time.perf_counter()
        run(index)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shard-mib", type=int, default=256)
    args = parser.parse_args()
    state = state_of(args.width, args.layers)
    state_mib = sum(t.numel() * t.element_size() for t in _tensors(state)) / 2**20
    directory = Path(tempfile.mkdtemp(prefix="pulse-bench-dcp-"))
    (directory / "runtime").mkdir()
    runtime = start_runtime(directory / "runtime")
    rows = []
    try:
        with Runtime(runtime.address) as rt:
            job = "bench-dcp"
            pulse_save = median_seconds(
                lambda i: dcp.save(state, storage_writer=PulseStorageWriter(rt, job, i, incremental=False)),
                args.repeats,
            )
            files_save = median_seconds(
                lambda i: dcp.save(state, storage_writer=dcp.FileSystemWriter(directory / f"fs-{i}")), args.repeats
            )
            pulse_load = median_seconds(
                lambda i: dcp.load(state, storage_reader=PulseStorageReader(rt, job, i)), args.repeats
            )
            files_load = median_seconds(
                lambda i: dcp.load(state, storage_reader=dcp.FileSystemReader(directory / f"fs-{i}")), args.repeats
            )
            rows.append((f"dcp.save, {state_mib:.0f} MiB of tensors", pulse_save, files_save))
            rows.append((f"dcp.load, {state_mib:.0f} MiB of tensors", pulse_load, files_load))

            data = torch.randint(0, 256, (args.shard_mib * 2**20,), dtype=torch.uint8).numpy().tobytes()
            blocked, total = [], []
            for step in range(args.repeats):
                start = time.perf_counter()
                future = rt.save_shard("bench-async", step, 0, 1, data, wait=False, incremental=False)
                blocked.append(time.perf_counter() - start)
                future.result()
                total.append(time.perf_counter() - start)
                rt.commit_step("bench-async", step, 1)
            rows.append(
                (f"save_shard(wait=False) of {args.shard_mib} MiB bytes: caller blocked vs the save",
                 statistics.median(blocked), statistics.median(total))
            )
    finally:
        runtime.stop()
        shutil.rmtree(directory, ignore_errors=True)
    print("| measurement | pulse | baseline (same run) | ratio |")
    print("|---|---|---|---|")
    for name, ours, baseline in rows:
        print(f"| {name} | {ours:.3f} s | {baseline:.3f} s | {ours / baseline:.3f} |")


def _tensors(state: object) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, dict):
        return [t for value in state.values() for t in _tensors(value)]
    if isinstance(state, (list, tuple)):
        return [t for value in state for t in _tensors(value)]
    return []


if __name__ == "__main__":
    main()
