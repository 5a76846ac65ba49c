"""Load through the Python SDK on several runtime replicas, for
tests/integration/replicas_kill_test.ts.

Usage: replicas_load.py ADDRESSES SECONDS WORKERS

ADDRESSES is a comma-separated list of grpc:// addresses, all given to one
``pulse.Runtime``. WORKERS threads each register a worker, then until SECONDS
have passed save a checkpoint (random bytes, now and then more than one
chunk, under an idempotency key of its own), heartbeat, and load the
checkpoint back. Every call that raises is recorded. Afterwards every
acknowledged save is loaded again and compared byte for byte, and every
checkpoint each worker lists is loaded (none may be partial). Prints one JSON
object: the acknowledged saves, the calls made, and the errors.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdk" / "python"))

from pulse import RetryPolicy, Runtime  # noqa: E402

MIB = 1024 * 1024


def main() -> None:
    addresses = sys.argv[1].split(",")
    seconds = float(sys.argv[2])
    workers = int(sys.argv[3])
    # Patient retries: a round over the replicas, then a wait, for longer
    # than a replica takes to die, be restarted, and have its leases lapse.
    retry = RetryPolicy(max_attempts=40, initial_delay_ms=100, max_delay_ms=1000)
    lock = threading.Lock()
    result: dict = {"saved": [], "errors": [], "calls": 0, "verified": 0, "listed": 0}
    saved_bytes: dict[str, str] = {}
    with Runtime(addresses, retry=retry, timeout=30.0) as rt:
        end = time.monotonic() + seconds

        def record_error(what: str, error: BaseException) -> None:
            with lock:
                result["errors"].append(f"{what}: {error!r}")

        def work(index: int) -> None:
            worker_id = f"load-{index}"
            rng = random.Random(index)
            try:
                rt.register_worker(worker_id)
            except Exception as error:  # noqa: BLE001 - every failure is the finding
                record_error(f"{worker_id} register", error)
                return
            step = 0
            while time.monotonic() < end:
                size = 9 * MIB + 17 if rng.random() < 0.25 else rng.randrange(1, 300_000)
                data = os.urandom(size)
                digest = hashlib.sha256(data).hexdigest()
                try:
                    checkpoint_id = rt.save_checkpoint(worker_id, data, idempotency_key=f"{worker_id}-{step}")
                    with lock:
                        result["saved"].append([worker_id, checkpoint_id, digest])
                        saved_bytes[checkpoint_id] = digest
                        result["calls"] += 1
                    rt.heartbeat(worker_id)
                    loaded = rt.load_checkpoint(worker_id, checkpoint_id)
                    with lock:
                        result["calls"] += 2
                    if hashlib.sha256(loaded).hexdigest() != digest:
                        record_error(f"{worker_id} load {checkpoint_id}", ValueError("bytes differ"))
                except Exception as error:  # noqa: BLE001
                    record_error(f"{worker_id} step {step}", error)
                step += 1

        threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        check_all(rt, result, saved_bytes, workers)
    print(json.dumps(result))


def check_all(rt: Runtime, result: dict, saved_bytes: dict[str, str], workers: int) -> None:
    """Loads every acknowledged save, and every checkpoint listed."""
    for worker_id, checkpoint_id, digest in result["saved"]:
        try:
            if hashlib.sha256(rt.load_checkpoint(worker_id, checkpoint_id)).hexdigest() == digest:
                result["verified"] += 1
            else:
                result["errors"].append(f"final load {checkpoint_id}: bytes differ")
        except Exception as error:  # noqa: BLE001
            result["errors"].append(f"final load {checkpoint_id}: {error!r}")
    for index in range(workers):
        worker_id = f"load-{index}"
        try:
            for checkpoint in rt.list_checkpoints(worker_id):
                rt.load_checkpoint(worker_id, checkpoint.checkpoint_id)  # the SDK verifies every chunk
                result["listed"] += 1
        except Exception as error:  # noqa: BLE001
            result["errors"].append(f"list/load {worker_id}: {error!r}")


if __name__ == "__main__":
    main()
