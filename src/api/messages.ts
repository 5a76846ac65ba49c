/**
 * Domain values as wire messages: workers, datasets, checkpoints,
 * garbage-collection and scrub reports, typed by the generated message types of
 * `@pulsecheckpoint/proto`, so that a field renamed in pulse.proto fails
 * `deno check` here.
 */
import { type JsonObject, toStruct, toTimestamp } from "@pulsecheckpoint/proto";
import type {
  BadChunk as BadChunkMessage,
  Checkpoint as CheckpointMessage,
  Dataset as DatasetMessage,
  RunGcResponse,
  ScrubProgress as ScrubProgressMessage,
  ScrubReport as ScrubReportMessage,
  ShardRef as ShardRefMessage,
  ShardRef__Output,
  Step as StepMessage,
  Worker as WorkerMessage,
} from "@pulsecheckpoint/proto/types";
import type { Checkpoint } from "../checkpoints/checkpoints.ts";
import type { GcReport } from "../checkpoints/garbage_collector.ts";
import type { BadChunk, ScrubProgress, ScrubReport } from "../checkpoints/scrubber.ts";
import type { Dataset } from "../datasets/dataset_registry.ts";
import type { ShardRef, Step } from "../jobs/job_steps.ts";
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
    shard: checkpoint.shard && shardRefMessage(checkpoint.shard),
  };
}

/** Where a job's checkpoint belongs, as `pulse.v1.ShardRef`. */
export function shardRefMessage(shard: ShardRef): ShardRefMessage {
  return {
    job_id: shard.jobId,
    step: shard.step,
    rank: shard.rank,
    world_size: shard.worldSize,
    step_metadata: shard.stepMetadata,
  };
}

/** `pulse.v1.ShardRef` as the domain's, or undefined when the message has none. */
export function shardRefOf(message: ShardRef__Output | null | undefined): ShardRef | undefined {
  if (message == null) return undefined;
  return {
    jobId: message.job_id,
    step: message.step,
    rank: message.rank,
    worldSize: message.world_size,
    stepMetadata: message.step_metadata,
  };
}

/** A job step as `pulse.v1.Step`. */
export function stepMessage(step: Step): StepMessage {
  return {
    job_id: step.jobId,
    step: step.step,
    world_size: step.worldSize,
    state: `STEP_STATE_${step.state}`,
    created_at: step.createdAt && toTimestamp(step.createdAt),
    shards: step.shards.map((shard) => ({
      rank: shard.rank,
      checkpoint_id: shard.checkpointId,
      size_bytes: shard.sizeBytes,
      sha256: shard.sha256,
      worker_id: shard.workerId,
    })),
    metadata_checkpoint_id: step.metadataCheckpointId,
    missing_ranks: step.missingRanks,
    reason: step.reason,
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

/** How far a scrub has come, as `pulse.v1.ScrubProgress`. */
export function scrubProgressMessage(progress: ScrubProgress): ScrubProgressMessage {
  return {
    chunks_total: progress.chunksTotal,
    bytes_total: progress.bytesTotal,
    chunks_verified: progress.chunksVerified,
    bytes_verified: progress.bytesVerified,
    chunks_bad: progress.chunksBad,
  };
}

/** A bad chunk a scrub found, as `pulse.v1.BadChunk`. */
export function badChunkMessage(bad: BadChunk): BadChunkMessage {
  return {
    sha256: bad.sha256,
    problem: bad.problem === "corrupt" ? "CHUNK_PROBLEM_CORRUPT" : "CHUNK_PROBLEM_MISSING",
    size_bytes: bad.sizeBytes,
    checkpoints: bad.checkpoints.map((ref) => ({
      worker_id: ref.workerId,
      checkpoint_id: ref.checkpointId,
    })),
    checkpoints_total: bad.checkpointsTotal,
    quarantine_key: bad.quarantineKey,
    in_use: bad.inUse,
  };
}

/** A scrub's report, as `pulse.v1.ScrubReport` (its bad chunks go in messages of their own). */
export function scrubReportMessage(report: ScrubReport): ScrubReportMessage {
  return {
    dry_run: report.dryRun,
    chunks_scanned: report.chunksScanned,
    bytes_scanned: report.bytesScanned,
    manifests_scanned: report.manifestsScanned,
    chunks_corrupt: report.chunksCorrupt,
    chunks_missing: report.chunksMissing,
    chunks_quarantined: report.chunksQuarantined,
    checkpoints_broken: report.checkpointsBroken,
    duration_ms: report.durationMs,
  };
}
