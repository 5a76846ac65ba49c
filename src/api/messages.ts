/**
 * Domain values as wire messages: workers, datasets, checkpoints and
 * garbage-collection reports, typed by the generated message types of
 * `@pulsecheckpoint/proto`, so that a field renamed in pulse.proto fails
 * `deno check` here.
 */
import { type JsonObject, toStruct, toTimestamp } from "@pulsecheckpoint/proto";
import type {
  Checkpoint as CheckpointMessage,
  Dataset as DatasetMessage,
  RunGcResponse,
  Worker as WorkerMessage,
} from "@pulsecheckpoint/proto/types";
import type { Checkpoint } from "../checkpoints/checkpoints.ts";
import type { GcReport } from "../checkpoints/garbage_collector.ts";
import type { Dataset } from "../datasets/dataset_registry.ts";
import type { Worker } from "../workers/worker_registry.ts";

/** A worker as `pulse.v1.Worker`. */
export function workerMessage(worker: Worker): WorkerMessage {
  return {
    worker_id: worker.workerId,
    metadata: toStruct(worker.metadata as JsonObject),
    registered_at: toTimestamp(worker.registeredAt),
    last_heartbeat: toTimestamp(worker.lastHeartbeat),
    state: `WORKER_STATE_${worker.state}`,
  };
}

/** A dataset as `pulse.v1.Dataset`. */
export function datasetMessage(dataset: Dataset): DatasetMessage {
  return {
    name: dataset.name,
    path: dataset.path,
    metadata: toStruct(dataset.metadata as JsonObject),
    registered_at: toTimestamp(dataset.registeredAt),
  };
}

/** A checkpoint as `pulse.v1.Checkpoint`. */
export function checkpointMessage(checkpoint: Checkpoint): CheckpointMessage {
  return {
    checkpoint_id: checkpoint.checkpointId,
    worker_id: checkpoint.workerId,
    size_bytes: checkpoint.sizeBytes,
    sha256: checkpoint.sha256,
    metadata: toStruct(checkpoint.metadata as JsonObject),
    created_at: toTimestamp(checkpoint.createdAt),
    idempotency_key: checkpoint.idempotencyKey,
  };
}

/** A garbage collection's report as `pulse.v1.RunGcResponse`. */
export function gcReportMessage(report: GcReport): RunGcResponse {
  return {
    dry_run: report.dryRun,
    grace_ms: report.graceMs,
    manifests_scanned: report.manifestsScanned,
    chunks_scanned: report.chunksScanned,
    bytes_scanned: report.bytesScanned,
    chunks_referenced: report.chunksReferenced,
    chunks_protected: report.chunksProtected,
    chunks_deleted: report.chunksDeleted,
    bytes_reclaimed: report.bytesReclaimed,
    duration_ms: report.durationMs,
    skipped: report.skipped,
    holder: report.holder,
  };
}
