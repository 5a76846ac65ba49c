"""Throughput of the Python SDK's direct path against its stream path on one S3
server (SeaweedFS by default), and the runtime's CPU seconds per GiB moved on
each, read from its own counter (``pulse_process_cpu_seconds_total`` on
/metrics) before and after every save and load. The baseline, in the same
run: boto3's ``upload_fileobj`` and a parallel ranged ``download_fileobj``
(8 MiB parts, 8 at once) of the same bytes to the same server, when boto3 is
importable (``scripts/ci_s3_servers.sh`` installs it beside moto).

Every save is of fresh random bytes (the direct path uploads nothing the store
has); each figure is the median of ``--runs`` runs. Prints a Markdown table.

    eval "$(bash scripts/ci_s3_servers.sh)"
    PYTHONPATH=/tmp/pulse-s3-servers/site python3 sdk/python/scripts/bench_direct_path.py --mib 512

(run from the repository's root; the SDK is imported from sdk/python).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(SDK_DIR), str(SDK_DIR / "tests")]

from pulse import Runtime  # noqa: E402
from runtime_process import RuntimeProcess, start_runtime  # noqa: E402
from s3_servers import S3Server, configured_servers, metric_sum  # noqa: E402

MIB = 1024 * 1024
GIB = 1024 * MIB


def cpu_seconds(runtime: RuntimeProcess) -> float:
    """The runtime process's user + system CPU seconds so far."""
    return metric_sum(runtime.metrics_address, "pulse_process_cpu_seconds_total")


def idle_cpu_rate(runtime: RuntimeProcess, seconds: float = 10.0) -> float:
    """The runtime's CPU seconds per second while no client calls it (its timers, scans, metrics)."""
    cpu = cpu_seconds(runtime)
    time.sleep(seconds)
    return (cpu_seconds(runtime) - cpu) / seconds


def measure(runtime: RuntimeProcess, size: int, run: Callable[[], object]) -> tuple[float, float]:
    """MiB/s of ``run`` moving ``size`` bytes, and the runtime's CPU seconds per GiB meanwhile,
    less what it spends idle in as long (``IDLE_RATE``)."""
    cpu = cpu_seconds(runtime)
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    return size / MIB / elapsed, (cpu_seconds(runtime) - cpu - IDLE_RATE[0] * elapsed) / (size / GIB)


# The runtime's idle CPU rate, measured once at the start of the run.
IDLE_RATE = [0.0]


def bench_sdk(runtime: RuntimeProcess, size: int, runs: int, direct: bool) -> dict[str, list[tuple[float, float]]]:
    """Saves and loads of ``size`` fresh bytes through one path."""
    results: dict[str, list[tuple[float, float]]] = {"save": [], "load": []}
    with Runtime(runtime.address, direct_transfer=direct) as rt:
        worker = f"bench-{'direct' if direct else 'stream'}"
        rt.register_worker(worker)
        rt.save_checkpoint(worker, b"warm up")
        for _ in range(runs):
            data = os.urandom(size)
            saved: list[str] = []
            results["save"].append(measure(runtime, size, lambda: saved.append(rt.save_checkpoint(worker, data))))
            del data
            results["load"].append(measure(runtime, size, lambda: rt.load_checkpoint(worker, saved[0])))
    return results


def bench_boto3(server: S3Server, size: int, runs: int) -> dict[str, list[float]] | None:
    """boto3 upload_fileobj and download_fileobj of the same size, 8 MiB parts, 8 at once."""
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig
    except ImportError:
        return None
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "pulsetest"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "pulsetestsecret"),
    )
    config = TransferConfig(multipart_chunksize=8 * MIB, max_concurrency=8, multipart_threshold=8 * MIB)
    results: dict[str, list[float]] = {"save": [], "load": []}
    key = f"bench-boto3/{os.getpid()}"
    for _ in range(runs):
        data = os.urandom(size)
        started = time.perf_counter()
        client.upload_fileobj(io.BytesIO(data), server.bucket, key, Config=config)
        results["save"].append(size / MIB / (time.perf_counter() - started))
        del data
        sink = io.BytesIO()
        started = time.perf_counter()
        client.download_fileobj(server.bucket, key, sink, Config=config)
        results["load"].append(size / MIB / (time.perf_counter() - started))
    client.delete_object(Bucket=server.bucket, Key=key)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="size of each checkpoint in MiB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", default="seaweedfs", help="a name of PULSE_TEST_S3_SERVERS")
    args = parser.parse_args()
    server = next((s for s in configured_servers() if s.name == args.server), None)
    if server is None:
        sys.exit(f"{args.server} is not in PULSE_TEST_S3_SERVERS; eval \"$(bash scripts/ci_s3_servers.sh)\" first")
    size = args.mib * MIB
    with tempfile.TemporaryDirectory() as directory:
        runtime = start_runtime(Path(directory), server.runtime_env("bench"))
        try:
            IDLE_RATE[0] = idle_cpu_rate(runtime)
            direct = bench_sdk(runtime, size, args.runs, direct=True)
            stream = bench_sdk(runtime, size, args.runs, direct=False)
        finally:
            runtime.stop()
    boto = bench_boto3(server, size, args.runs)
    print(f"{args.mib} MiB, median of {args.runs}, on {server.name}; "
          f"runtime idle: {IDLE_RATE[0]:.4f} CPU s/s, subtracted\n")
    print("| operation | direct MiB/s | stream MiB/s | direct/stream | boto3 MiB/s | direct/boto3 "
          "| runtime CPU s/GiB direct | stream |")
    print("|---|---|---|---|---|---|---|---|")
    for operation in ("save", "load"):
        rate_d = statistics.median(r for r, _ in direct[operation])
        rate_s = statistics.median(r for r, _ in stream[operation])
        cpu_d = statistics.median(c for _, c in direct[operation])
        cpu_s = statistics.median(c for _, c in stream[operation])
        boto_rate = statistics.median(boto[operation]) if boto else float("nan")
        print(
            f"| {operation} | {rate_d:.0f} | {rate_s:.0f} | {rate_d / rate_s:.2f} | {boto_rate:.0f} "
            f"| {rate_d / boto_rate:.2f} | {cpu_d:.2f} | {cpu_s:.2f} |"
        )


if __name__ == "__main__":
    main()
