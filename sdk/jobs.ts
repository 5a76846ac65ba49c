/**
 * Job checkpoints: each rank of a distributed job saves its shard of a
 * step, any rank commits the step, all or nothing, and a job resumes from
 * its latest complete step.
 *
 * The twin of the Python SDK's `pulse/_jobs.py`.
 *
 * @module
 */
import { fromTimestamp, type JsonObject } from "@pulsecheckpoint/proto";
import type { Step__Output } from "@pulsecheckpoint/proto/types";
import type { Channel } from "./_channel.ts";
import { type CheckpointStream, collect, loadCheckpointStream } from "./checkpoint_load.ts";
import { type CheckpointData, saveCheckpoint } from "./checkpoint_save.ts";
import {
  check,
  checkCount,
  checkData,
  checkJobOptions,
  checkMetadata,
  checkOptionalBoolean,
  checkOptionalString,
  checkPageOptions,
  checkString,
} from "./argument_checks.ts";
import { PulseError } from "./pulse_error.ts";

const SAVE = "save shard";
import {
  type Checkpoint,
  type Page,
  type PageOptions,
  pageRequest,
  present,
  type ShardRef,
} from "./resources.ts";

/**
 * A step's state: PENDING until decided; COMPLETE when every rank's shard
 * is durable; ABORTED when shards were missing at the deadline or a rank's
 * worker went STALE.
 */
export type StepState = "PENDING" | "COMPLETE" | "ABORTED";

/** One rank's durable shard of a step. */
export interface Shard {
  /** The rank. */
  rank: number;
  /** The shard's checkpoint, a checkpoint of the job. */
  checkpointId: string;
  /** Length of its bytes. */
  sizeBytes: number;
  /** Hex SHA-256 of its bytes. */
  sha256: string;
  /** The rank's worker, if its save named one. */
  workerId: string;
}

/** A step of a job. */
export interface Step {
  /** The job. */
  jobId: string;
  /** The step. */
  step: number;
  /** Its ranks. */
  worldSize: number;
  /** Its state. */
  state: StepState;
  /** When it was decided; undefined while PENDING. */
  createdAt?: Date;
  /** The shards that landed, by rank. */
  shards: Shard[];
  /** The checkpoint of the step's metadata; empty for none. */
  metadataCheckpointId: string;
  /** Ranks without a shard (PENDING, ABORTED). */
  missingRanks: number[];
  /** Why an ABORTED step was aborted. */
  reason: string;
}

/** What {@linkcode saveShard} saves. */
export interface SaveShardOptions {
  /** The job: 1–128 characters of `[A-Za-z0-9._-]`, starting with a letter or digit. */
  jobId: string;
  /** The step. */
  step: number;
  /** This rank, 0 to `worldSize - 1`. */
  rank: number;
  /** The ranks of the step. */
  worldSize: number;
  /** The shard's bytes. */
  data: CheckpointData;
  /** Free JSON saved with the shard. */
  metadata?: JsonObject;
  /** The rank's registered worker: its going STALE aborts the step. Absent for none. */
  workerId?: string;
  /** Names only the chunks the rank's shard of the latest complete step has (default true). */
  incremental?: boolean;
}

/** What {@linkcode commitStep} commits. */
export interface CommitStepOptions {
  /** The job. */
  jobId: string;
  /** The step. */
  step: number;
  /** The ranks of the step. */
  worldSize: number;
  /** The step's metadata (what a coordinator records, such as DCP's `.metadata`), saved first. */
  metadata?: Uint8Array;
  /** How long to wait for the shards; absent for the runtime's `jobs.commit_timeout_ms`. */
  timeoutMs?: number;
}

/**
 * Saves one rank's shard of a step, as a checkpoint of the job.
 *
 * @param channel the channel
 * @param options the job, step, rank, world size and bytes
 * @returns the shard's checkpoint
 */
export async function saveShard(channel: Channel, options: SaveShardOptions): Promise<Checkpoint> {
  checkJobOptions("save shard", options);
  checkCount("save shard", "options.rank", options.rank);
  checkData("save shard", options.data);
  checkOptionalString("save shard", "options.workerId", options.workerId);
  checkOptionalBoolean("save shard", "options.incremental", options.incremental);
  const shard: ShardRef = {
    jobId: options.jobId,
    step: options.step,
    rank: options.rank,
    worldSize: options.worldSize,
    stepMetadata: false,
  };
  return await saveJobCheckpoint(channel, shard, options.data, {
    metadata: options.metadata,
    workerId: options.workerId,
    incremental: options.incremental ?? true,
  });
}

/**
 * Commits a step: saves its metadata if given, then waits until every rank's
 * shard is durable and makes the step visible, all or nothing.
 *
 * @param channel the channel
 * @param options the job, step, world size, metadata and timeout
 * @returns the COMPLETE step
 * @throws {PulseError} ABORTED, naming the missing ranks, when the step is aborted
 */
export async function commitStep(channel: Channel, options: CommitStepOptions): Promise<Step> {
  checkJobOptions("commit step", options);
  const { jobId, step, worldSize, metadata } = options;
  check(
    metadata === undefined || metadata instanceof Uint8Array,
    "commit step",
    "options.metadata",
    metadata,
    "a Uint8Array",
  );
  checkCount("commit step", "options.timeoutMs", options.timeoutMs, true);
  if (options.metadata !== undefined) {
    const shard = { jobId, step, rank: 0, worldSize, stepMetadata: true };
    await saveJobCheckpoint(channel, shard, options.metadata, { incremental: false });
  }
  const response = await channel.unary("commit step", "CommitStep", {
    job_id: jobId,
    step,
    world_size: worldSize,
    timeout_ms: options.timeoutMs,
  });
  return toStep(present(response.step, "the step", "commit step"));
}

/**
 * A step of a job with its state; without `step`, the latest COMPLETE one.
 *
 * @throws {PulseError} NOT_FOUND when the job has no such step
 */
export async function getStep(channel: Channel, jobId: string, step?: number): Promise<Step> {
  checkString("get step", "jobId", jobId);
  checkCount("get step", "step", step, true);
  const response = await channel.unary("get step", "GetStep", { job_id: jobId, step });
  return toStep(present(response.step, "the step", "get step"));
}

/** The job's latest COMPLETE step, or undefined when it has none. */
export async function latestStep(channel: Channel, jobId: string): Promise<Step | undefined> {
  try {
    return await getStep(channel, jobId);
  } catch (error) {
    if (error instanceof PulseError && error.code === "NOT_FOUND") return undefined;
    throw error;
  }
}

/** One page of a job's decided steps (COMPLETE and ABORTED), newest first. */
export async function listSteps(
  channel: Channel,
  jobId: string,
  options: PageOptions,
): Promise<Page<Step>> {
  checkString("list steps", "jobId", jobId);
  checkPageOptions("list steps", options);
  const response = await channel.unary("list steps", "ListSteps", {
    job_id: jobId,
    ...pageRequest(options),
  });
  return { items: response.steps.map(toStep), nextPageToken: response.next_page_token };
}

/**
 * Opens a rank's shard for loading: of `step`, or of the latest COMPLETE
 * step. Verified as every load is.
 *
 * @throws {PulseError} NOT_FOUND when there is no such step or the rank has no shard in it
 */
export async function loadShardStream(
  channel: Channel,
  jobId: string,
  rank: number,
  step?: number,
): Promise<CheckpointStream> {
  checkCount("load shard", "rank", rank);
  const found = await getStep(channel, jobId, step);
  const shard = found.shards.find((s) => s.rank === rank);
  if (shard === undefined) {
    throw new PulseError(
      "NOT_FOUND",
      `Cannot load shard: step ${found.step} of job ${jobId} has no shard of rank ${rank} (${found.state})`,
    );
  }
  return await loadCheckpointStream(channel, "", shard.checkpointId, jobId);
}

/**
 * The metadata bytes a step was committed with (of `step`, or of the latest
 * COMPLETE step), or undefined when it has none.
 */
export async function loadStepMetadata(
  channel: Channel,
  jobId: string,
  step?: number,
): Promise<Uint8Array | undefined> {
  const found = await getStep(channel, jobId, step);
  if (found.metadataCheckpointId === "") return undefined;
  const loaded = await loadCheckpointStream(channel, "", found.metadataCheckpointId, jobId);
  return await collect(loaded.checkpoint, loaded.stream);
}

function saveJobCheckpoint(
  channel: Channel,
  shard: ShardRef,
  data: CheckpointData,
  options: { metadata?: JsonObject; workerId?: string; incremental: boolean },
): Promise<Checkpoint> {
  checkMetadata(SAVE, "options.metadata", options.metadata);
  const header = {
    workerId: options.workerId ?? "",
    metadata: options.metadata ?? {},
    // One key for every attempt of the save.
    idempotencyKey: crypto.randomUUID(),
    shard,
  };
  return saveCheckpoint(channel, header, () => data, {
    reopenable: data instanceof Uint8Array,
    incremental: options.incremental,
  });
}

function toStep(message: Step__Output): Step {
  return {
    jobId: message.job_id,
    step: message.step,
    worldSize: message.world_size,
    state: message.state.replace("STEP_STATE_", "") as StepState,
    createdAt: message.created_at ? fromTimestamp(message.created_at) : undefined,
    shards: message.shards.map((shard) => ({
      rank: shard.rank,
      checkpointId: shard.checkpoint_id,
      sizeBytes: shard.size_bytes,
      sha256: shard.sha256,
      workerId: shard.worker_id,
    })),
    metadataCheckpointId: message.metadata_checkpoint_id,
    missingRanks: message.missing_ranks,
    reason: message.reason,
  };
}
