/**
 * What the runtime keeps — workers, datasets, checkpoints — as the SDK hands
 * them out, pages of listings, and their conversion from wire messages.
 *
 * @module
 */
import { fromStruct, fromTimestamp, type JsonObject, toStruct } from "@pulsecheckpoint/proto";
import { METADATA_BYTES_MAX } from "@pulsecheckpoint/proto/protocol";
import type {
  Checkpoint__Output,
  Dataset__Output,
  Struct,
  Worker__Output,
} from "@pulsecheckpoint/proto/types";
import { checkMetadata } from "./argument_checks.ts";
import { PulseError } from "./pulse_error.ts";

/** The state of a worker: `STALE` once no heartbeat came within the runtime's heartbeat timeout. */
export type WorkerState = "ACTIVE" | "STALE" | "DEREGISTERED";

/** A registered worker. */
export interface Worker {
  /** 1–128 characters of `[A-Za-z0-9._-]`, starting with a letter or digit. */
  workerId: string;
  /** What the worker registered with. */
  metadata: JsonObject;
  /** When the worker first registered. */
  registeredAt: Date;
  /** When the runtime last heard from the worker. */
  lastHeartbeat: Date;
  /** Whether the worker is alive, silent or gone. */
  state: WorkerState;
}

/** A registered dataset. */
export interface Dataset {
  /** 1–128 characters of `[A-Za-z0-9._-]`, starting with a letter or digit. */
  name: string;
  /** A URI such as `s3://bucket/data`. */
  path: string;
  /** What the dataset registered with. */
  metadata: JsonObject;
  /** When the dataset was registered. */
  registeredAt: Date;
}

/** A saved checkpoint. */
export interface Checkpoint {
  /** `chk_` followed by a ULID: sortable by creation time. */
  checkpointId: string;
  /** The worker that saved it. */
  workerId: string;
  /** Length of its bytes. */
  sizeBytes: number;
  /** Hex SHA-256 of its bytes. */
  sha256: string;
  /** What it was saved with. */
  metadata: JsonObject;
  /** The key it was saved with; a save repeated with it returns this checkpoint. */
  idempotencyKey: string;
  /** When it was committed. */
  createdAt: Date;
  /** Where in a job it belongs: a rank's shard of a step, or a step's metadata. */
  shard?: ShardRef;
}

/** Where a job's checkpoint belongs. */
export interface ShardRef {
  /** The job. */
  jobId: string;
  /** The step. */
  step: number;
  /** The rank, 0 to `worldSize - 1` (0 for a step's metadata). */
  rank: number;
  /** The ranks of the step. */
  worldSize: number;
  /** Whether it is the step's metadata rather than a rank's shard. */
  stepMetadata: boolean;
}

/** One page of a listing, and the token of the next one (empty at the end). */
export interface Page<T> {
  /** The items of this page. */
  items: T[];
  /** Pass as `pageToken` to get the next page; empty on the last page. */
  nextPageToken: string;
}

/** Options of listings a page at a time. */
export interface PageOptions {
  /** Items per page; 0 or absent for the runtime's default (100; at most 500). */
  pageSize?: number;
  /** The `nextPageToken` of the previous page; absent for the first page. */
  pageToken?: string;
}

/**
 * A message field the runtime always sets (grpc-js decodes a missing message
 * field as null): a runtime that leaves it out fails the call with INTERNAL
 * instead of a TypeError later.
 *
 * @param value the field
 * @param what what the field is, for the message: "the checkpoint"
 * @param action what the call does, for the message
 * @returns the field
 * @throws {PulseError} INTERNAL if the field is missing
 */
export function present<T>(value: T | null | undefined, what: string, action: string): T {
  if (value === null || value === undefined) {
    throw new PulseError("INTERNAL", `Cannot ${action}: the runtime answered without ${what}`);
  }
  return value;
}

/**
 * Converts the metadata of a call to a `google.protobuf.Struct`, before
 * anything is sent.
 *
 * @param action what the call does, for messages
 * @param metadata a JSON object; absent for an empty one
 * @returns the Struct message
 * @throws {PulseError} INVALID_ARGUMENT for metadata that is not a JSON
 * object, or holds a value JSON cannot carry
 */
export function metadataStruct(action: string, metadata: unknown): Struct {
  checkMetadata(action, "options.metadata", metadata);
  // Counted as the runtime counts it, so that the caller gets its message
  // rather than the transport's refusal of a large request.
  const bytes = new TextEncoder().encode(JSON.stringify(metadata ?? {})).length;
  if (bytes > METADATA_BYTES_MAX) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: metadata is ${bytes} bytes, limit is ${METADATA_BYTES_MAX}`,
    );
  }
  try {
    return toStruct((metadata ?? {}) as JsonObject);
  } catch (error) {
    throw new PulseError("INVALID_ARGUMENT", `Cannot ${action}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Converts a `pulse.v1.Worker` message.
 *
 * @param message the message as proto-loader decodes it
 * @returns the worker
 */
export function toWorker(message: Worker__Output): Worker {
  return {
    workerId: message.worker_id,
    metadata: fromStruct(message.metadata),
    registeredAt: fromTimestamp(message.registered_at),
    lastHeartbeat: fromTimestamp(message.last_heartbeat),
    state: message.state.replace("WORKER_STATE_", "") as WorkerState,
  };
}

/**
 * Converts a `pulse.v1.Dataset` message.
 *
 * @param message the message as proto-loader decodes it
 * @returns the dataset
 */
export function toDataset(message: Dataset__Output): Dataset {
  return {
    name: message.name,
    path: message.path,
    metadata: fromStruct(message.metadata),
    registeredAt: fromTimestamp(message.registered_at),
  };
}

/**
 * Converts a `pulse.v1.Checkpoint` message.
 *
 * @param message the message as proto-loader decodes it
 * @returns the checkpoint
 */
export function toCheckpoint(message: Checkpoint__Output): Checkpoint {
  return {
    checkpointId: message.checkpoint_id,
    workerId: message.worker_id,
    sizeBytes: message.size_bytes,
    sha256: message.sha256,
    metadata: fromStruct(message.metadata),
    idempotencyKey: message.idempotency_key,
    createdAt: fromTimestamp(message.created_at),
    ...(message.shard && {
      shard: {
        jobId: message.shard.job_id,
        step: message.shard.step,
        rank: message.shard.rank,
        worldSize: message.shard.world_size,
        stepMetadata: message.shard.step_metadata,
      },
    }),
  };
}

/**
 * The page fields of a list request.
 *
 * @param options page size and token
 * @returns `page_size` and `page_token`
 */
export function pageRequest(
  options: PageOptions,
): { page_size: number; page_token: string } {
  return {
    page_size: options.pageSize ?? 0,
    page_token: options.pageToken ?? "",
  };
}
