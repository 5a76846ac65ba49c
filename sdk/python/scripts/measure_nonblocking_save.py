"""Measures how long ``save_checkpoint(..., wait=False)`` blocks its caller,
against the whole save's duration, for 256 MiB of ``bytes`` on a runtime on
the fs store (started here, as the tests start it, in a temporary directory).

    python3 sdk/python/scripts/measure_nonblocking_save.py [--mib 256] [--rounds 5] [--bytearray]

For each round it prints the time the call took (blocked), the time until
the future resolved (duration) and their ratio, then the median ratio and
whether it meets the goal of 0.05; also a blocking save's duration, for
comparison. ``--bytearray`` saves a ``bytearray`` instead, which the call
copies: its blocked time is that copy. It imports the installed SDK and
``tests/runtime_process.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pulse import Runtime

# The runtime is started as the tests start it; tests/ is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from runtime_process import start_runtime  # type: ignore[import-not-found]  # noqa: E402

RATIO_GOAL = 0.05
MIB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256, help="checkpoint size in MiB")
    parser.add_argument("--rounds", type=int, default=5, help="saves measured")
    parser.add_argument("--bytearray", action="store_true", help="save a bytearray (copied by the call)")
    arguments = parser.parse_args()
    data: bytes | bytearray = bytes(range(256)) * (arguments.mib * MIB // 256)
    if arguments.bytearray:
        data = bytearray(data)
    with tempfile.TemporaryDirectory(prefix="pulse-measure-") as directory:
        runtime = start_runtime(Path(directory))
        try:
            with Runtime(runtime.address, timeout=60) as rt:
                rt.register_worker("measure-0")
                rt.save_checkpoint("measure-0", bytes(MIB))  # connects, warms the runtime up
                ratios = [measure_round(rt, data, round_number) for round_number in range(1, arguments.rounds + 1)]
                blocking = timed(lambda: rt.save_checkpoint("measure-0", data))
        finally:
            runtime.stop()
    median = statistics.median(ratios)
    print(f"blocking save_checkpoint of {arguments.mib} MiB of {type(data).__name__}: {blocking * 1000:.0f} ms")
    print(f"median blocked/duration: {median:.4f} (goal <= {RATIO_GOAL}: {'met' if median <= RATIO_GOAL else 'NOT met'})")
    return 0


def measure_round(rt: Runtime, data: bytes | bytearray, round_number: int) -> float:
    started = time.perf_counter()
    pending = rt.save_checkpoint("measure-0", data, metadata={"round": round_number}, wait=False)
    returned = time.perf_counter()
    checkpoint_id = pending.result(timeout=600)
    ended = time.perf_counter()
    blocked, duration = returned - started, ended - started
    print(
        f"round {round_number}: blocked {blocked * 1000:.2f} ms, duration {duration * 1000:.0f} ms, "
        f"ratio {blocked / duration:.4f} ({checkpoint_id})"
    )
    return blocked / duration


def timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
