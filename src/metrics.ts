/**
 * The runtime's Prometheus metrics: the seed's eight names and a few more.
 * One registry, created once; modules import the metric they record.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import process from "node:process";
import * as prom from "prom-client";

/** Every metric of the runtime is registered here and only here. */
export const registry = new prom.Registry();

// Latency buckets from 1 ms to about 2 min: checkpoint saves of large states
// take minutes, heartbeats take microseconds.
const SECONDS_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
];

/**
 * Always 1, labelled with this runtime's replica id, so that dashboards count
 * and name the replicas on one bucket (`count(pulse_replica_info)`).
 */
export const replicaInfo = new prom.Gauge({
  name: "pulse_replica_info",
  help: "1 per runtime process, labelled with its replica id (server.replica_id)",
  labelNames: ["replica"] as const,
  registers: [registry],
});

/** Checkpoint saves by outcome (`ok`, `error`) and path (`stream`, `direct`). */
export const checkpointsTotal = new prom.Counter({
  name: "pulse_checkpoints_total",
  help:
    "Checkpoint saves, by outcome and path (stream: bytes through the runtime; direct: to the bucket)",
  labelNames: ["outcome", "path"] as const,
  registers: [registry],
});

/**
 * Checkpoint bytes moved, by operation (`save`, `load`) and path: `stream`
 * bytes passed through the runtime, `direct` bytes went between a client and
 * the bucket (chunks a direct save committed, chunks a direct load planned).
 */
export const checkpointBytesTotal = new prom.Counter({
  name: "pulse_checkpoint_bytes_total",
  help:
    "Checkpoint bytes saved (not chunks named from a base) or loaded, by operation and path (stream: through the runtime; direct: between client and bucket)",
  labelNames: ["operation", "path"] as const,
  registers: [registry],
});

/** Direct-path plans answered, by operation (`save`, `load`). */
export const plansTotal = new prom.Counter({
  name: "pulse_plans_total",
  help: "Direct-path plans answered (PlanSave, PlanLoad), by operation",
  labelNames: ["operation"] as const,
  registers: [registry],
});

/** Presigned URLs handed to clients, by HTTP method. */
export const presignedUrlsTotal = new prom.Counter({
  name: "pulse_presigned_urls_total",
  help: "Presigned URLs handed to clients for the direct path, by method (PUT, GET)",
  labelNames: ["method"] as const,
  registers: [registry],
});

/** Duration of whole checkpoint saves and loads. */
export const checkpointDurationSeconds = new prom.Histogram({
  name: "pulse_checkpoint_duration_seconds",
  help: "Duration of checkpoint saves and loads, by operation",
  labelNames: ["operation"] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

/**
 * Workers whose last heartbeat is within the heartbeat timeout. Its value is
 * computed at scrape time by the function given to `setActiveWorkersSource`.
 */
export const activeWorkers = new prom.Gauge({
  name: "pulse_active_workers",
  help: "Workers in state ACTIVE",
  registers: [registry],
  collect() {
    this.set(activeWorkersSource());
  },
});
let activeWorkersSource: () => number = () => 0;

/** Sets how `pulse_active_workers` is computed at scrape time. */
export function setActiveWorkersSource(source: () => number): void {
  activeWorkersSource = source;
}

/** S3 requests by operation and outcome (`ok`, `retried`, `failed`). */
export const s3RequestsTotal = new prom.Counter({
  name: "pulse_s3_requests_total",
  help:
    "S3 requests, by operation and outcome (ok, retried: failed and retried, failed: failed for good)",
  labelNames: ["operation", "outcome"] as const,
  registers: [registry],
});

/** Duration of single S3 requests (each attempt). */
export const s3RequestDurationSeconds = new prom.Histogram({
  name: "pulse_s3_request_duration_seconds",
  help: "Duration of S3 requests, each attempt, by operation",
  labelNames: ["operation"] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

/** gRPC requests by method and status code name. */
export const grpcRequestsTotal = new prom.Counter({
  name: "pulse_grpc_requests_total",
  help: "gRPC requests, by method and status code",
  labelNames: ["method", "code"] as const,
  registers: [registry],
});

/** Duration of gRPC requests by method. */
export const grpcRequestDurationSeconds = new prom.Histogram({
  name: "pulse_grpc_request_duration_seconds",
  help: "Duration of gRPC requests, by method",
  labelNames: ["method"] as const,
  buckets: SECONDS_BUCKETS,
  registers: [registry],
});

/** Checkpoint saves in progress. */
export const savesInProgress = new prom.Gauge({
  name: "pulse_checkpoint_saves_in_progress",
  help: "Checkpoint saves in progress",
  registers: [registry],
});

/** Chunks written by saves, by whether they were new or already stored. */
export const chunksWrittenTotal = new prom.Counter({
  name: "pulse_chunks_total",
  help:
    "Chunks of saved checkpoints, by result (written: new, deduplicated: already stored and verified, rewritten: already stored but rotten, so written again, named: taken from the base of an incremental save, direct: uploaded by the client and verified)",
  labelNames: ["result"] as const,
  registers: [registry],
});

/** Scrubs, by mode (`move`, `dry_run`) and outcome (`ok`, `error`). */
export const scrubRunsTotal = new prom.Counter({
  name: "pulse_scrub_runs_total",
  help: "Scrubs (every stored chunk verified), by mode (move, dry_run) and outcome",
  labelNames: ["mode", "outcome"] as const,
  registers: [registry],
});

/** Chunks read back and verified against their SHA-256 by scrubs. */
export const scrubChunksVerifiedTotal = new prom.Counter({
  name: "pulse_scrub_chunks_verified_total",
  help: "Chunks read back and verified against their SHA-256 by scrubs",
  registers: [registry],
});

/** Bad chunks scrubs found, by problem (`corrupt`, `missing`). */
export const scrubBadChunksTotal = new prom.Counter({
  name: "pulse_scrub_bad_chunks_total",
  help:
    "Bad chunks found by scrubs, by problem (corrupt: fails its SHA-256, missing: named by a manifest but absent)",
  labelNames: ["problem"] as const,
  registers: [registry],
});
// Exported at 0 from the start, so that an alert on its increase sees the
// first bad chunk a runtime's first scrub finds.
for (const problem of ["corrupt", "missing"]) scrubBadChunksTotal.inc({ problem }, 0);

/** Garbage collection runs, by mode (`delete`, `dry_run`) and outcome (`ok`, `error`). */
export const gcRunsTotal = new prom.Counter({
  name: "pulse_gc_runs_total",
  help:
    "Garbage collection runs, by mode (delete, dry_run) and outcome (ok, error, skipped: another replica held the GC lease)",
  labelNames: ["mode", "outcome"] as const,
  registers: [registry],
});

/** Chunks deleted by garbage collection (dry runs delete none). */
export const gcChunksDeletedTotal = new prom.Counter({
  name: "pulse_gc_chunks_deleted_total",
  help: "Unreferenced chunks deleted by garbage collection",
  registers: [registry],
});

/** Bytes of the chunks deleted by garbage collection. */
export const gcBytesReclaimedTotal = new prom.Counter({
  name: "pulse_gc_bytes_reclaimed_total",
  help: "Bytes of the chunks deleted by garbage collection",
  registers: [registry],
});

/** Duration of whole garbage collection runs. */
export const gcDurationSeconds = new prom.Histogram({
  name: "pulse_gc_duration_seconds",
  help: "Duration of garbage collection runs, by mode (delete, dry_run)",
  labelNames: ["mode"] as const,
  // A run lists every manifest and chunk: seconds on small stores, up to an
  // hour on large buckets.
  buckets: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

/** Checkpoints deleted by the retention policy. */
export const retentionDeletedTotal = new prom.Counter({
  name: "pulse_retention_deleted_total",
  help: "Checkpoints deleted by the retention policy (retention.keep_last, retention.keep_every)",
  registers: [registry],
});

// The process: CPU, memory, event-loop lag. prom-client's default metrics
// are not used: several read /proc/self, which Deno lets only a process with
// every permission read (so the runtime would stop at a permission prompt
// under a terminal), and some are gauges named *_total, which promtool
// refuses. These come from Deno and node:process without any permission.
const processStartSeconds = Date.now() / 1000 - performance.now() / 1000;
const cpuUsage = () => process.cpuUsage();

new prom.Counter({
  name: "pulse_process_cpu_user_seconds_total",
  help: "CPU time the runtime spent in user mode",
  registers: [registry],
  collect() {
    this.reset();
    this.inc(cpuUsage().user / 1e6);
  },
});

new prom.Counter({
  name: "pulse_process_cpu_system_seconds_total",
  help: "CPU time the runtime spent in the kernel",
  registers: [registry],
  collect() {
    this.reset();
    this.inc(cpuUsage().system / 1e6);
  },
});

new prom.Counter({
  name: "pulse_process_cpu_seconds_total",
  help: "CPU time the runtime spent, user and kernel",
  registers: [registry],
  collect() {
    const { user, system } = cpuUsage();
    this.reset();
    this.inc((user + system) / 1e6);
  },
});

new prom.Gauge({
  name: "pulse_process_resident_memory_bytes",
  help: "Resident memory of the runtime (RSS)",
  registers: [registry],
  collect() {
    this.set(Deno.memoryUsage().rss);
  },
});

new prom.Gauge({
  name: "pulse_process_heap_used_bytes",
  help: "JavaScript heap in use",
  registers: [registry],
  collect() {
    this.set(Deno.memoryUsage().heapUsed);
  },
});

new prom.Gauge({
  name: "pulse_process_start_time_seconds",
  help: "When the runtime started, in seconds since the Unix epoch",
  registers: [registry],
}).set(processStartSeconds);

// How late the event loop runs timers, sampled every 10 ms: what a heartbeat
// waits behind a busy loop. Samples start over at each scrape.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
new prom.Gauge({
  name: "pulse_process_eventloop_lag_p50_seconds",
  help: "Event-loop delay since the last scrape: median",
  registers: [registry],
  collect() {
    this.set(loopDelay.percentile(50) / 1e9);
  },
});
new prom.Gauge({
  name: "pulse_process_eventloop_lag_p99_seconds",
  help: "Event-loop delay since the last scrape: 99th percentile",
  registers: [registry],
  collect() {
    this.set(loopDelay.percentile(99) / 1e9);
  },
});
new prom.Gauge({
  name: "pulse_process_eventloop_lag_max_seconds",
  help: "Event-loop delay since the last scrape: maximum",
  registers: [registry],
  collect() {
    this.set(loopDelay.max / 1e9);
    loopDelay.reset(); // collected last of the three: the next scrape starts over
  },
});
