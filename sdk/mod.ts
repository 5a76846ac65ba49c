/**
 * The TypeScript SDK of PulseCheckpoint Runtime, for Deno and Node.
 *
 * Workers register, heartbeat, and save and load checkpoints through a
 * {@linkcode Runtime}; every failure is a {@linkcode PulseError} with a gRPC
 * status code name.
 *
 * - Addresses: `grpc://host:port` (plaintext) or `grpcs://host:port` (TLS,
 *   with optional {@linkcode TlsOptions} for a private CA or mutual TLS); a
 *   `token` goes out as `authorization: Bearer <token>` with every call.
 * - Checkpoint bytes may be a `Uint8Array`, a `ReadableStream<Uint8Array>`
 *   or any `AsyncIterable<Uint8Array>`, and are streamed with backpressure;
 *   {@linkcode Runtime.saveCheckpointFile} and
 *   {@linkcode Runtime.loadCheckpointToFile} stream files without holding
 *   them in memory.
 * - Calls that fail with `UNAVAILABLE` are retried with exponential backoff
 *   ({@linkcode RetryOptions}); a save is retried only when its bytes can be
 *   sent again (a `Uint8Array` or a file), always with one idempotency key.
 * - Heartbeats go out by themselves after
 *   `registerWorker(id, { heartbeat: true })`, at the interval the runtime
 *   asks for, until the worker is deregistered or the client closed.
 * - Listings come a page at a time ({@linkcode Runtime.listCheckpoints}) or
 *   as async iterables over every page ({@linkcode Runtime.checkpoints}).
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 *
 * await using rt = new Runtime("grpc://localhost:50051");
 * await rt.registerWorker("worker-1", {
 *   metadata: { gpu: "A100", memory: "80GB" },
 *   heartbeat: true,
 * });
 * await rt.registerDataset("training-data", { path: "s3://bucket/data" });
 * const checkpoint = await rt.saveCheckpoint({
 *   workerId: "worker-1",
 *   data: new TextEncoder().encode("model-state-bytes"),
 *   metadata: { epoch: 10, loss: 0.001 },
 * });
 * const { data } = await rt.loadCheckpoint("worker-1");
 * console.log(checkpoint.checkpointId, data.length);
 * await rt.deregisterWorker("worker-1");
 * ```
 *
 * @module
 */
export type { CheckpointStream, LoadedCheckpoint } from "./checkpoint_load.ts";
export type { CheckpointData } from "./checkpoint_save.ts";
export type { Pem, TlsOptions } from "./connection.ts";
export type { GcReport, RunGcOptions } from "./garbage_collection.ts";
export type { HeartbeatOptions } from "./heartbeat_loop.ts";
export { PulseError, type PulseErrorCode } from "./pulse_error.ts";
export type { CommitStepOptions, SaveShardOptions, Shard, Step, StepState } from "./jobs.ts";
export type {
  Checkpoint,
  Dataset,
  Page,
  PageOptions,
  ShardRef,
  Worker,
  WorkerState,
} from "./resources.ts";
export { RETRY_DEFAULTS, type RetryOptions, type RetryPolicy } from "./retry.ts";
export {
  type DirectFallback,
  type DirectOptions,
  PARALLELISM_DEFAULT,
  PARALLELISM_MAX,
} from "./_direct.ts";
export {
  type CheckpointOptions,
  type HeartbeatResult,
  type RegisterWorkerOptions,
  Runtime,
  type RuntimeOptions,
  type SaveCheckpointFileOptions,
  type SaveCheckpointOptions,
  type StepOptions,
} from "./runtime.ts";
export type { JsonObject, JsonValue } from "@pulsecheckpoint/proto";
