/**
 * {@linkcode Runtime}: a connection to a PulseCheckpoint Runtime, with a
 * method per call of the `pulse.v1.PulseRuntime` service, automatic
 * heartbeats, retries, and file and stream helpers for checkpoints.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { fromTimestamp, type JsonObject } from "@pulsecheckpoint/proto";
import { DATA_MESSAGE_BYTES } from "@pulsecheckpoint/proto/protocol";
import { Channel, type RuntimeOptions } from "./_channel.ts";
import {
  type CheckpointStream,
  collect,
  loadCheckpointStream,
  type LoadedCheckpoint,
  writeFileAtomically,
} from "./checkpoint_load.ts";
import { type CheckpointData, saveCheckpoint, type SaveHeader } from "./checkpoint_save.ts";
import {
  type GcReport,
  type RunGcOptions,
  runGcRequest,
  toGcReport,
} from "./garbage_collection.ts";
import { HeartbeatLoop, type HeartbeatOptions } from "./heartbeat_loop.ts";
import {
  check,
  checkCheckpointOptions,
  checkCount,
  checkData,
  checkHeartbeatOptions,
  checkOptionalCheckpointId,
  checkOptions,
  checkPageOptions,
  checkRuntimeArguments,
  checkSaveOptions,
  checkString,
} from "./argument_checks.ts";
import * as jobs from "./jobs.ts";
import { PENDING_SAVES_PER_WORKER_DEFAULT, PendingSaves } from "./pending_saves.ts";
import type { CommitStepOptions, SaveShardOptions, Step } from "./jobs.ts";
import { PulseError } from "./pulse_error.ts";
import {
  type Checkpoint,
  type Dataset,
  metadataStruct,
  type Page,
  type PageOptions,
  pageRequest,
  present,
  toCheckpoint,
  toDataset,
  toWorker,
  type Worker,
} from "./resources.ts";

export type { RuntimeOptions };

/** What {@linkcode Runtime.saveCheckpoint} saves. */
export interface SaveCheckpointOptions {
  /** A registered worker. */
  workerId: string;
  /** The bytes; only a `Uint8Array` can be sent again by a retry. */
  data: CheckpointData;
  /** Free JSON, at most 64 KiB encoded. */
  metadata?: JsonObject;
  /**
   * A save repeated with the same key returns the first checkpoint instead of
   * making a second. Absent or empty: a random UUID, made once per call and
   * reused by its retries.
   */
  idempotencyKey?: string;
  /**
   * Send only the 8 MiB chunks that the worker's latest checkpoint does not
   * have: the others are named by their SHA-256, and the runtime takes them
   * from that checkpoint. Costs one `GetCheckpoint` call; a worker without a
   * checkpoint saves whole.
   */
  incremental?: boolean;
  /**
   * Chunk uploads to the bucket at once on the direct path, 1 to 64; the
   * Runtime's `parallelism` (default 8) when absent. At most this many chunks
   * plus one are held in memory.
   */
  parallelism?: number;
}

/** What {@linkcode Runtime.saveCheckpointFile} saves with the file's bytes. */
export interface SaveCheckpointFileOptions {
  /** A registered worker. */
  workerId: string;
  /** Free JSON, at most 64 KiB encoded. */
  metadata?: JsonObject;
  /** As in {@linkcode SaveCheckpointOptions.idempotencyKey}. */
  idempotencyKey?: string;
  /** As in {@linkcode SaveCheckpointOptions.incremental}. */
  incremental?: boolean;
  /** As in {@linkcode SaveCheckpointOptions.parallelism}. */
  parallelism?: number;
}

/** Options of {@linkcode Runtime.registerWorker}. */
export interface RegisterWorkerOptions {
  /** Free JSON, at most 64 KiB encoded. */
  metadata?: JsonObject;
  /** Start automatic heartbeats once registered (see {@linkcode Runtime.startHeartbeats}). */
  heartbeat?: boolean | HeartbeatOptions;
}

/**
 * Which checkpoint of a worker; `{}` or nothing for its latest.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 * await using rt = new Runtime("grpc://localhost:50051");
 * const { data } = await rt.loadCheckpoint("worker-1", {
 *   checkpointId: "chk_01JD3Y0C8ZB4Q1Z6W8KZV2N9XH",
 * });
 * ```
 */
export interface CheckpointOptions {
  /**
   * A checkpoint id; absent for the worker's latest checkpoint. An empty
   * string is refused (INVALID_ARGUMENT), not taken for the latest.
   */
  checkpointId?: string;
  /**
   * Chunk downloads from the bucket at once on the direct path, 1 to 64; the
   * Runtime's `parallelism` (default 8) when absent.
   */
  parallelism?: number;
}

/** Which step of a job a load reads. */
export interface StepOptions {
  /** The step; absent for the job's latest COMPLETE step. */
  step?: number;
}

/** What the runtime answers to a heartbeat. */
export interface HeartbeatResult {
  /** The runtime's clock. */
  serverTime: Date;
  /** How often the runtime expects heartbeats. */
  heartbeatIntervalMs: number;
}

/**
 * A connection to a PulseCheckpoint Runtime.
 *
 * Every method rejects with a {@linkcode PulseError}. Arguments of the wrong
 * shape (for callers without type checks) fail with INVALID_ARGUMENT naming
 * the argument, before anything is sent. Calls that fail with UNAVAILABLE are
 * retried with backoff (see {@linkcode RetryOptions}); a connection that
 * cannot be made says why in its message. Close it with
 * {@linkcode Runtime.close}, or let `await using` do it.
 *
 * Its methods mirror the Python SDK's `pulse.Runtime` method by method
 * (docs/API.md has the table): the same names in camelCase, options objects
 * where Python takes keyword arguments, async iterables where it returns
 * iterators.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 *
 * await using rt = new Runtime("grpc://localhost:50051");
 * await rt.registerWorker("worker-1", { metadata: { gpu: "A100" }, heartbeat: true });
 * const saved = await rt.saveCheckpoint({
 *   workerId: "worker-1",
 *   data: new TextEncoder().encode("model-state-bytes"),
 *   metadata: { epoch: 10 },
 * });
 * const { data } = await rt.loadCheckpoint("worker-1");
 * console.log(saved.checkpointId, data.length);
 * ```
 */
export class Runtime {
  #addresses: readonly string[];
  #channel: Channel;
  readonly #pending: PendingSaves;
  #heartbeats = new Map<string, HeartbeatLoop>();

  /**
   * Makes a client; the connections open with the first call.
   *
   * Given several addresses, the replicas of one runtime (sharing one
   * store), each call (a unary call, a whole save, a whole load) goes to the
   * next address in turn, starting with the first. A call answered
   * UNAVAILABLE moves on to the next address at once: a unary call is sent
   * again there, a load asks there for the rest from the first byte not
   * received, a save is sent again there under its idempotency key (when its
   * data can be read again). Only when every address has failed a call does
   * it wait and go round again, as the retry policy says. A host name that
   * resolves to several addresses is used round robin by grpc-js.
   *
   * @param address `grpc://host:port` (plaintext), `grpcs://host:port` (TLS),
   * or `host:port` (plaintext); or an array of them, one per replica
   * @param options token, TLS settings, retry policy, channel options; the
   * same for every address
   * @throws {PulseError} INVALID_ARGUMENT for no address, a bad address,
   * token or option
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * const rt = new Runtime("grpc://localhost:50051", { token: "secret" });
   * rt.close();
   * const replicas = new Runtime(["grpc://pulse-a:50051", "grpc://pulse-b:50051"]);
   * replicas.close();
   * ```
   */
  constructor(address: string | readonly string[], options: RuntimeOptions = {}) {
    checkRuntimeArguments(address, options);
    this.#addresses = Object.freeze(typeof address === "string" ? [address] : [...address]);
    this.#channel = new Channel(this.#addresses, options);
    this.#pending = new PendingSaves(options.maxPendingSaves ?? PENDING_SAVES_PER_WORKER_DEFAULT);
  }

  /**
   * The address this client was made with, as given; the first, when it was
   * given several.
   *
   * @returns the address
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * console.log(rt.address); // "grpc://localhost:50051"
   * ```
   */
  get address(): string {
    return this.#addresses[0]!;
  }

  /**
   * Every address this client was made with, in order: one, or the
   * replicas' (see {@linkcode Runtime}'s constructor).
   *
   * @returns the addresses, as given
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime(["grpc://a:50051", "grpc://b:50051"]);
   * console.log(rt.addresses); // ["grpc://a:50051", "grpc://b:50051"]
   * ```
   */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  /**
   * Whether {@linkcode Runtime.close} was called: every call then rejects
   * with CANCELLED.
   *
   * @returns true once closed
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * const rt = new Runtime("grpc://localhost:50051");
   * rt.close();
   * console.log(rt.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#channel.closed;
  }

  /**
   * Registers a worker, or replaces the metadata of a registered one and
   * makes it ACTIVE again. With `heartbeat`, heartbeats then go out
   * automatically until {@linkcode Runtime.deregisterWorker} or
   * {@linkcode Runtime.close}.
   *
   * @param workerId 1–128 characters of `[A-Za-z0-9._-]`, starting with a letter or digit
   * @param options the worker's metadata, and whether to heartbeat
   * @returns the worker
   * @throws {PulseError} INVALID_ARGUMENT for a bad id or metadata
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const worker = await rt.registerWorker("worker-1", {
   *   metadata: { gpu: "A100", memory: "80GB" },
   *   heartbeat: true,
   * });
   * console.log(worker.state); // "ACTIVE"
   * ```
   */
  async registerWorker(
    workerId: string,
    options: RegisterWorkerOptions = {},
  ): Promise<Worker> {
    const action = "register worker";
    checkString(action, "workerId", workerId);
    checkOptions(action, "options", options);
    const { heartbeat } = options;
    if (typeof heartbeat !== "boolean") {
      checkHeartbeatOptions(
        action,
        "options.heartbeat",
        heartbeat,
        "true, false or heartbeat options",
      );
    }
    const response = await this.#channel.unary(action, "RegisterWorker", {
      worker_id: workerId,
      metadata: metadataStruct(action, options.metadata),
    });
    if (heartbeat) await this.startHeartbeats(workerId, heartbeat === true ? {} : heartbeat);
    return toWorker(present(response.worker, "the worker", action));
  }

  /**
   * Tells the runtime the worker is alive, once. For a loop, see
   * {@linkcode Runtime.startHeartbeats}.
   *
   * @param workerId a registered worker
   * @returns the server's time and how often it expects heartbeats
   * @throws {PulseError} NOT_FOUND for an unknown worker, FAILED_PRECONDITION
   * for a deregistered one
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const { heartbeatIntervalMs } = await rt.heartbeat("worker-1");
   * ```
   */
  async heartbeat(workerId: string): Promise<HeartbeatResult> {
    checkString("send heartbeat", "workerId", workerId);
    const response = await this.#channel.unary("send heartbeat", "Heartbeat", {
      worker_id: workerId,
    });
    return {
      serverTime: fromTimestamp(response.server_time),
      heartbeatIntervalMs: response.heartbeat_interval_ms,
    };
  }

  /**
   * Sends heartbeats for a worker automatically: one now, then one every
   * interval the runtime asks for (a third of its heartbeat timeout), until
   * {@linkcode Runtime.stopHeartbeats}, {@linkcode Runtime.deregisterWorker}
   * or {@linkcode Runtime.close}. The timer does not keep the process alive.
   * Starting a worker's heartbeats twice is a no-op.
   *
   * @param workerId a registered worker
   * @param options where later failures go
   * @throws {PulseError} the first heartbeat's error (NOT_FOUND for an unknown
   * worker, ...); no loop is left running then
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * await rt.registerWorker("worker-1");
   * await rt.startHeartbeats("worker-1", { onError: (e) => console.warn(e.message) });
   * ```
   */
  async startHeartbeats(
    workerId: string,
    options: HeartbeatOptions = {},
  ): Promise<void> {
    checkString("start heartbeats", "workerId", workerId);
    checkHeartbeatOptions("start heartbeats", "options", options);
    this.#channel.ensureOpen("start heartbeats");
    const running = this.#heartbeats.get(workerId);
    if (running !== undefined && !running.stopped) return;
    const loop = new HeartbeatLoop(async (timeoutMs, signal) => {
      // One round over the replicas, without backoff: the loop's next beat is the retry.
      const response = await this.#channel.unary("send heartbeat", "Heartbeat", {
        worker_id: workerId,
      }, { deadline: new Date(Date.now() + timeoutMs), signal, rounds: 1 });
      return response.heartbeat_interval_ms;
    }, options);
    this.#heartbeats.set(workerId, loop);
    try {
      await loop.start();
    } catch (error) {
      if (this.#heartbeats.get(workerId) === loop) {
        this.#heartbeats.delete(workerId);
      }
      throw error;
    }
  }

  /**
   * Stops a worker's automatic heartbeats and waits for one in flight to end.
   * Stopping heartbeats that are not running is a no-op.
   *
   * @param workerId the worker
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * await rt.stopHeartbeats("worker-1");
   * ```
   */
  async stopHeartbeats(workerId: string): Promise<void> {
    checkString("stop heartbeats", "workerId", workerId);
    const loop = this.#heartbeats.get(workerId);
    if (loop === undefined) return;
    this.#heartbeats.delete(workerId);
    await loop.stop();
  }

  /**
   * Marks a worker as gone, after stopping its automatic heartbeats; its
   * checkpoints stay. Deregistering twice is not an error.
   *
   * @param workerId a registered worker
   * @throws {PulseError} NOT_FOUND for an unknown worker
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * await rt.deregisterWorker("worker-1");
   * ```
   */
  async deregisterWorker(workerId: string): Promise<void> {
    checkString("deregister worker", "workerId", workerId);
    await this.stopHeartbeats(workerId);
    await this.#channel.unary("deregister worker", "DeregisterWorker", {
      worker_id: workerId,
    });
  }

  /**
   * Describes a worker.
   *
   * @param workerId a registered worker
   * @returns the worker
   * @throws {PulseError} NOT_FOUND for an unknown worker
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const { state, lastHeartbeat } = await rt.getWorker("worker-1");
   * ```
   */
  async getWorker(workerId: string): Promise<Worker> {
    checkString("get worker", "workerId", workerId);
    const response = await this.#channel.unary("get worker", "GetWorker", {
      worker_id: workerId,
    });
    return toWorker(present(response.worker, "the worker", "get worker"));
  }

  /**
   * Lists workers by id, one page. For every worker, see {@linkcode Runtime.workers}.
   *
   * @param options page size and token
   * @returns one page
   * @throws {PulseError} INVALID_ARGUMENT for a bad page token or size
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const { items, nextPageToken } = await rt.listWorkers({ pageSize: 50 });
   * ```
   */
  async listWorkers(options: PageOptions = {}): Promise<Page<Worker>> {
    checkPageOptions("list workers", options);
    const response = await this.#channel.unary(
      "list workers",
      "ListWorkers",
      pageRequest(options),
    );
    return {
      items: response.workers.map(toWorker),
      nextPageToken: response.next_page_token,
    };
  }

  /**
   * Every worker, by id, fetched a page at a time as the iteration goes.
   *
   * @param options the page size; a `pageToken` starts from that page
   * @returns an async iterable of workers
   * @throws {PulseError} from the iteration, as {@linkcode Runtime.listWorkers} does
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * for await (const worker of rt.workers()) console.log(worker.workerId, worker.state);
   * ```
   */
  workers(options: PageOptions = {}): AsyncGenerator<Worker, void, undefined> {
    checkPageOptions("list workers", options);
    return allPages((page) => this.listWorkers(page), options);
  }

  /**
   * Registers a dataset, or replaces the path and metadata of a registered one.
   *
   * @param name 1–128 characters of `[A-Za-z0-9._-]`, starting with a letter or digit
   * @param options the dataset's path (a URI) and metadata
   * @returns the dataset
   * @throws {PulseError} INVALID_ARGUMENT for a bad name, path or metadata
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * await rt.registerDataset("training-data", { path: "s3://bucket/data" });
   * ```
   */
  async registerDataset(
    name: string,
    options: { path: string; metadata?: JsonObject },
  ): Promise<Dataset> {
    const action = "register dataset";
    checkString(action, "name", name);
    checkOptions(action, "options", options, "an options object such as { path }");
    checkString(action, "options.path", options?.path);
    const response = await this.#channel.unary(action, "RegisterDataset", {
      name,
      path: options.path,
      metadata: metadataStruct(action, options.metadata),
    });
    return toDataset(present(response.dataset, "the dataset", action));
  }

  /**
   * Describes a dataset.
   *
   * @param name a registered dataset
   * @returns the dataset
   * @throws {PulseError} NOT_FOUND for an unknown dataset
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const { path } = await rt.getDataset("training-data");
   * ```
   */
  async getDataset(name: string): Promise<Dataset> {
    checkString("get dataset", "name", name);
    const response = await this.#channel.unary("get dataset", "GetDataset", { name });
    return toDataset(present(response.dataset, "the dataset", "get dataset"));
  }

  /**
   * Lists datasets by name, one page. For every dataset, see {@linkcode Runtime.datasets}.
   *
   * @param options page size and token
   * @returns one page
   * @throws {PulseError} INVALID_ARGUMENT for a bad page token or size
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const { items } = await rt.listDatasets();
   * ```
   */
  async listDatasets(options: PageOptions = {}): Promise<Page<Dataset>> {
    checkPageOptions("list datasets", options);
    const response = await this.#channel.unary(
      "list datasets",
      "ListDatasets",
      pageRequest(options),
    );
    return {
      items: response.datasets.map(toDataset),
      nextPageToken: response.next_page_token,
    };
  }

  /**
   * Every dataset, by name, fetched a page at a time as the iteration goes.
   *
   * @param options the page size; a `pageToken` starts from that page
   * @returns an async iterable of datasets
   * @throws {PulseError} from the iteration, as {@linkcode Runtime.listDatasets} does
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * for await (const dataset of rt.datasets()) console.log(dataset.name, dataset.path);
   * ```
   */
  datasets(
    options: PageOptions = {},
  ): AsyncGenerator<Dataset, void, undefined> {
    checkPageOptions("list datasets", options);
    return allPages((page) => this.listDatasets(page), options);
  }

  /**
   * Saves a checkpoint, streaming its bytes with backpressure: data is read
   * only as fast as the runtime takes it, so a stream of any size is never
   * held in memory whole.
   *
   * A save that fails with UNAVAILABLE is retried with the same idempotency
   * key (so it never makes two checkpoints) when `data` is a `Uint8Array`;
   * streamed data cannot be read twice, so such a save is not retried.
   *
   * @param options the worker, the bytes, metadata and an idempotency key
   * @returns the checkpoint
   * @throws {PulseError} NOT_FOUND for an unregistered worker, INVALID_ARGUMENT
   * for bad input, UNAVAILABLE when the runtime or its store cannot be reached
   * @throws whatever reading a stream `data` throws, as is
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const checkpoint = await rt.saveCheckpoint({
   *   workerId: "worker-1",
   *   data: new TextEncoder().encode("model-state-bytes"),
   *   metadata: { epoch: 10, loss: 0.001 },
   * });
   * console.log(checkpoint.checkpointId, checkpoint.sha256);
   * ```
   */
  async saveCheckpoint(options: SaveCheckpointOptions): Promise<Checkpoint> {
    checkSaveOptions(SAVE, options);
    checkData(SAVE, options.data);
    const header = saveHeader(options);
    const { data } = options;
    return await this.#pending.run(
      options.workerId,
      () =>
        saveCheckpoint(this.#channel, header, () => data, {
          reopenable: data instanceof Uint8Array,
          incremental: options.incremental ?? false,
          parallelism: options.parallelism,
        }),
    );
  }

  /**
   * Saves a file as a checkpoint, streamed from disk with backpressure (never
   * read whole into memory). Retried like a `Uint8Array` save, reading the
   * file again: it must not change during the save.
   *
   * @param path the file
   * @param options the worker, metadata and an idempotency key
   * @returns the checkpoint
   * @throws {PulseError} as {@linkcode Runtime.saveCheckpoint} does
   * @throws the file system's error (e.g. `ENOENT`) if the file cannot be read
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const checkpoint = await rt.saveCheckpointFile("model.safetensors", {
   *   workerId: "worker-1",
   *   metadata: { step: 1000 },
   * });
   * ```
   */
  async saveCheckpointFile(
    path: string,
    options: SaveCheckpointFileOptions,
  ): Promise<Checkpoint> {
    checkString(SAVE, "path", path);
    checkSaveOptions(SAVE, options);
    const info = await stat(path);
    if (!info.isFile()) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot save checkpoint: ${path} is not a file`,
      );
    }
    const header = saveHeader(options);
    const open = () => createReadStream(path, { highWaterMark: DATA_MESSAGE_BYTES });
    return await this.#pending.run(
      options.workerId,
      () =>
        saveCheckpoint(this.#channel, header, open, {
          reopenable: true,
          incremental: options.incremental ?? false,
          parallelism: options.parallelism,
        }),
    );
  }

  /**
   * Loads a checkpoint whole into memory, each 8 MiB chunk checked against
   * its SHA-256 and the whole against the checkpoint's size and SHA-256. For
   * large checkpoints, see {@linkcode Runtime.loadCheckpointStream}
   * and {@linkcode Runtime.loadCheckpointToFile}. A load cut by UNAVAILABLE
   * resumes from the last byte received, of the same checkpoint.
   *
   * @param workerId the worker
   * @param options a checkpoint id; absent for the worker's latest checkpoint
   * @returns the checkpoint and its bytes
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint, DATA_LOSS
   * (naming the checkpoint and the chunk) if bytes fail their hash
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const { checkpoint, data } = await rt.loadCheckpoint("worker-1");
   * console.log(checkpoint.metadata, data.length);
   * ```
   */
  async loadCheckpoint(
    workerId: string,
    options: CheckpointOptions = {},
  ): Promise<LoadedCheckpoint> {
    checkString(LOAD, "workerId", workerId);
    checkCheckpointOptions(LOAD, options);
    const loaded = await this.loadCheckpointStream(workerId, options);
    return { checkpoint: loaded.checkpoint, data: await collect(loaded.checkpoint, loaded.stream) };
  }

  /**
   * Loads a checkpoint into a file, streamed with backpressure (never held in
   * memory whole). The file appears whole or not at all: the bytes go to a
   * temporary file beside it, which is flushed and renamed over `path` once
   * they all arrived and matched their chunks' and the checkpoint's SHA-256. A load cut by
   * UNAVAILABLE resumes from the last byte received, of the same checkpoint.
   *
   * @param workerId the worker
   * @param path the file to write; replaced if it exists
   * @param options a checkpoint id; absent for the worker's latest checkpoint
   * @returns the checkpoint
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint, DATA_LOSS if
   * bytes fail their hash (the file is then left as it was)
   * @throws the file system's error if the file cannot be written
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const checkpoint = await rt.loadCheckpointToFile("worker-1", "model.safetensors");
   * ```
   */
  async loadCheckpointToFile(
    workerId: string,
    path: string,
    options: CheckpointOptions = {},
  ): Promise<Checkpoint> {
    checkString(LOAD, "workerId", workerId);
    checkString(LOAD, "path", path);
    checkCheckpointOptions(LOAD, options);
    const loaded = await this.loadCheckpointStream(workerId, options);
    await writeFileAtomically(path, loaded.stream);
    return loaded.checkpoint;
  }

  /**
   * Loads a checkpoint as a stream of byte pieces, read from the runtime as
   * fast as you consume them, 32 MiB at a time. Each 8 MiB chunk reaches the
   * stream only once all its bytes arrived and matched its SHA-256 (at most
   * one chunk is held), the last one once the whole matched the checkpoint's
   * size and SHA-256. The checkpoint and its chunk list are asked for first
   * (`GetCheckpoint`): for the latest, that fixes which checkpoint every
   * window loads. On UNAVAILABLE, each call is retried, and a stream cut
   * later resumes from the last byte received, as the retry policy allows.
   *
   * @param workerId the worker
   * @param options a checkpoint id; absent for the worker's latest checkpoint
   * @returns the checkpoint and an async iterable of its bytes
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint; the stream
   * throws DATA_LOSS, naming the checkpoint and the chunk, if bytes fail
   * their hash, and no byte of that chunk reaches it
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const { checkpoint, stream } = await rt.loadCheckpointStream("worker-1");
   * let received = 0;
   * for await (const piece of stream) received += piece.length;
   * ```
   */
  async loadCheckpointStream(
    workerId: string,
    options: CheckpointOptions = {},
  ): Promise<CheckpointStream> {
    checkString(LOAD, "workerId", workerId);
    checkCheckpointOptions(LOAD, options);
    return await loadCheckpointStream(
      this.#channel,
      workerId,
      options.checkpointId ?? "",
      "",
      options.parallelism,
    );
  }

  /**
   * Describes a checkpoint, as Python's `get_checkpoint(worker_id,
   * checkpoint_id=None)` does.
   *
   * @param workerId the worker
   * @param checkpointId the checkpoint; absent for the worker's latest (an
   * empty string is refused)
   * @returns the checkpoint
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint,
   * INVALID_ARGUMENT for an id that is not a non-empty string
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const checkpoint = await rt.getCheckpoint("worker-1", "chk_01JD3Y0C8ZB4Q1Z6W8KZV2N9XH");
   * const latest = await rt.getCheckpoint("worker-1");
   * ```
   */
  async getCheckpoint(workerId: string, checkpointId?: string): Promise<Checkpoint> {
    checkString("get checkpoint", "workerId", workerId);
    checkOptionalCheckpointId("get checkpoint", "checkpointId", checkpointId);
    return await this.#describe(workerId, checkpointId ?? "");
  }

  /**
   * Describes a worker's latest checkpoint: what a worker resumes from. The
   * same as {@linkcode Runtime.getCheckpoint} without an id.
   *
   * @param workerId the worker
   * @returns the checkpoint
   * @throws {PulseError} NOT_FOUND if the worker has no checkpoint
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const latest = await rt.latestCheckpoint("worker-1");
   * console.log(latest.checkpointId, latest.metadata);
   * ```
   */
  async latestCheckpoint(workerId: string): Promise<Checkpoint> {
    checkString("get checkpoint", "workerId", workerId);
    return await this.#describe(workerId, "");
  }

  /**
   * Lists a worker's checkpoints, newest first, one page. For every
   * checkpoint, see {@linkcode Runtime.checkpoints}.
   *
   * @param workerId the worker
   * @param options page size and token
   * @returns one page
   * @throws {PulseError} INVALID_ARGUMENT for a bad page token or size
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * let pageToken = "";
   * do {
   *   const page = await rt.listCheckpoints("worker-1", { pageSize: 100, pageToken });
   *   for (const checkpoint of page.items) console.log(checkpoint.checkpointId);
   *   pageToken = page.nextPageToken;
   * } while (pageToken !== "");
   * ```
   */
  async listCheckpoints(
    workerId: string,
    options: PageOptions = {},
  ): Promise<Page<Checkpoint>> {
    checkString("list checkpoints", "workerId", workerId);
    checkPageOptions("list checkpoints", options);
    const response = await this.#channel.unary("list checkpoints", "ListCheckpoints", {
      worker_id: workerId,
      ...pageRequest(options),
    });
    return {
      items: response.checkpoints.map(toCheckpoint),
      nextPageToken: response.next_page_token,
    };
  }

  /**
   * Every checkpoint of a worker, newest first, fetched a page at a time as
   * the iteration goes (breaking out fetches no more pages).
   *
   * @param workerId the worker
   * @param options the page size; a `pageToken` starts from that page
   * @returns an async iterable of checkpoints
   * @throws {PulseError} from the iteration, as {@linkcode Runtime.listCheckpoints} does
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * for await (const checkpoint of rt.checkpoints("worker-1")) {
   *   console.log(checkpoint.checkpointId, checkpoint.metadata);
   * }
   * ```
   */
  checkpoints(
    workerId: string,
    options: PageOptions = {},
  ): AsyncGenerator<Checkpoint, void, undefined> {
    checkString("list checkpoints", "workerId", workerId);
    checkPageOptions("list checkpoints", options);
    return allPages((page) => this.listCheckpoints(workerId, page), options);
  }

  /**
   * Deletes a checkpoint. A delete retried after UNAVAILABLE that finds the
   * checkpoint gone succeeds: the first attempt may have deleted it.
   *
   * @param workerId the worker
   * @param checkpointId the checkpoint
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * for await (const old of rt.checkpoints("worker-1")) {
   *   if (old.createdAt < new Date(Date.now() - 86_400_000)) {
   *     await rt.deleteCheckpoint("worker-1", old.checkpointId);
   *   }
   * }
   * ```
   */
  async deleteCheckpoint(
    workerId: string,
    checkpointId: string,
  ): Promise<void> {
    checkString("delete checkpoint", "workerId", workerId);
    check(
      typeof checkpointId === "string" && checkpointId !== "",
      "delete checkpoint",
      "checkpointId",
      checkpointId,
      "a checkpoint id",
    );
    const request = { worker_id: workerId, checkpoint_id: checkpointId };
    await this.#channel.retrying(async (attempts) => {
      try {
        await this.#channel.attempt("delete checkpoint", "DeleteCheckpoint", request, attempts);
      } catch (error) {
        // Replicas share their store: an earlier attempt deleted it, and its answer was lost.
        const gone = error instanceof PulseError && error.code === "NOT_FOUND";
        if (!(gone && attempts.retried)) throw error;
      }
    });
  }

  /**
   * Runs garbage collection now: deletes the chunks that no checkpoint
   * references (left by deleted checkpoints and failed saves) and that were
   * written before the grace period. Needs an admin token when the runtime
   * has tokens configured. Waits for a run already in progress first.
   *
   * @param options `dryRun` to only count, `graceMs` to override the runtime's `gc.grace_ms`
   * @returns what the run scanned, kept and deleted
   * @throws {PulseError} PERMISSION_DENIED without an admin token,
   * INVALID_ARGUMENT for a bad `graceMs`, DATA_LOSS when a manifest cannot be
   * read (nothing is deleted then)
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051", { token: "admin-token" });
   * const report = await rt.runGc({ graceMs: 3_600_000 });
   * console.log(`${report.chunksDeleted} chunks, ${report.bytesReclaimed} bytes reclaimed`);
   * ```
   */
  async runGc(options: RunGcOptions = {}): Promise<GcReport> {
    const request = runGcRequest(options);
    return toGcReport(await this.#channel.unary("run garbage collection", "RunGc", request));
  }

  /**
   * Stops every automatic heartbeat, cancels calls in flight (they reject
   * with CANCELLED) and closes the connection. Workers are not deregistered:
   * to the runtime, a closed client looks like a crashed one until
   * {@linkcode Runtime.deregisterWorker}. Closing twice is a no-op.
   *
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * const rt = new Runtime("grpc://localhost:50051");
   * try {
   *   await rt.heartbeat("worker-1");
   * } finally {
   *   rt.close();
   * }
   * ```
   */
  close(): void {
    if (this.#channel.closed) return;
    for (const loop of this.#heartbeats.values()) loop.stop().catch(() => {});
    this.#channel.close();
  }

  /**
   * Closes the client, as {@linkcode Runtime.close} does, and waits for its
   * heartbeat loops to end: what `await using` calls.
   *
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * {
   *   await using rt = new Runtime("grpc://localhost:50051");
   *   await rt.registerWorker("worker-1", { heartbeat: true });
   * } // closed here, heartbeats stopped
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const loops = [...this.#heartbeats.values()];
    this.#heartbeats.clear();
    this.close();
    await Promise.all(loops.map((loop) => loop.stop()));
  }

  /**
   * Saves this rank's shard of a job step, as a checkpoint of the job:
   * chunked, deduplicated and verified as every save, and by default naming
   * the chunks the same rank's shard of the latest complete step has.
   *
   * @param options the job, step, rank, world size and bytes
   * @returns the shard's checkpoint
   * @throws {PulseError} FAILED_PRECONDITION when the step is decided already
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * await rt.saveShard({ jobId: "llama-7b", step: 100, rank: 0, worldSize: 2, data: new Uint8Array(8) });
   * ```
   */
  async saveShard(options: SaveShardOptions): Promise<Checkpoint> {
    // A rank without a worker is a saver of its own.
    const saver = options.workerId || `rank ${options.rank} of job ${options.jobId}`;
    return await this.#pending.run(saver, () => jobs.saveShard(this.#channel, options));
  }

  /**
   * Commits a job step, all or nothing: saves its metadata if given, waits
   * until every rank's shard is durable, and makes the step visible. Any rank
   * may call it; later calls return the same step.
   *
   * @param options the job, step, world size, metadata bytes and timeout
   * @returns the COMPLETE step
   * @throws {PulseError} ABORTED, naming the missing ranks, when shards were
   * missing at the deadline or a rank's worker went STALE
   * @example
   * ```ts
   * import { Runtime } from "@pulsecheckpoint/sdk";
   * await using rt = new Runtime("grpc://localhost:50051");
   * const step = await rt.commitStep({ jobId: "llama-7b", step: 100, worldSize: 2 });
   * ```
   */
  async commitStep(options: CommitStepOptions): Promise<Step> {
    return await jobs.commitStep(this.#channel, options);
  }

  /**
   * A job's latest COMPLETE step: what the job resumes from.
   *
   * @param jobId the job
   * @returns the step, or undefined when the job has no complete step
   */
  async latestStep(jobId: string): Promise<Step | undefined> {
    return await jobs.latestStep(this.#channel, jobId);
  }

  /**
   * Any step of a job, with its state (PENDING, COMPLETE, ABORTED).
   *
   * @param jobId the job
   * @param step the step
   * @returns the step
   * @throws {PulseError} NOT_FOUND when the step has no shard and no decision
   */
  async getStep(jobId: string, step: number): Promise<Step> {
    return await jobs.getStep(this.#channel, jobId, step);
  }

  /**
   * One page of a job's decided steps (COMPLETE and ABORTED), newest first.
   *
   * @param jobId the job
   * @param options page size and token
   * @returns one page
   */
  async listSteps(jobId: string, options: PageOptions = {}): Promise<Page<Step>> {
    return await jobs.listSteps(this.#channel, jobId, options);
  }

  /**
   * Loads a rank's shard whole into memory, verified as every load is.
   *
   * @param jobId the job
   * @param rank the rank
   * @param options the step; absent for the latest complete step
   * @returns the shard's bytes
   * @throws {PulseError} NOT_FOUND when there is no such step or shard
   */
  async loadShard(jobId: string, rank: number, options: StepOptions = {}): Promise<Uint8Array> {
    checkStepOptions("load shard", jobId, options);
    const loaded = await jobs.loadShardStream(this.#channel, jobId, rank, options.step);
    return await collect(loaded.checkpoint, loaded.stream);
  }

  /**
   * Loads a rank's shard into a file, which appears whole or not at all.
   *
   * @param jobId the job
   * @param rank the rank
   * @param path the file to write; replaced if it exists
   * @param options the step; absent for the latest complete step
   * @returns the shard's checkpoint
   */
  async loadShardToFile(
    jobId: string,
    rank: number,
    path: string,
    options: StepOptions = {},
  ): Promise<Checkpoint> {
    checkStepOptions("load shard", jobId, options);
    checkString("load shard", "path", path);
    const loaded = await jobs.loadShardStream(this.#channel, jobId, rank, options.step);
    await writeFileAtomically(path, loaded.stream);
    return loaded.checkpoint;
  }

  /**
   * The metadata bytes a step was committed with.
   *
   * @param jobId the job
   * @param options the step; absent for the latest complete step
   * @returns the bytes, or undefined when the step has none
   */
  async loadStepMetadata(
    jobId: string,
    options: StepOptions = {},
  ): Promise<Uint8Array | undefined> {
    checkStepOptions("load step metadata", jobId, options);
    return await jobs.loadStepMetadata(this.#channel, jobId, options.step);
  }

  // GetCheckpoint; an empty id asks for the latest.
  async #describe(workerId: string, checkpointId: string): Promise<Checkpoint> {
    const action = "get checkpoint";
    const response = await this.#channel.unary(action, "GetCheckpoint", {
      worker_id: workerId,
      checkpoint_id: checkpointId,
    });
    return toCheckpoint(present(response.checkpoint, "the checkpoint", action));
  }
}

const SAVE = "save checkpoint";
const LOAD = "load checkpoint";

// The job and the step options of a load of a job's checkpoint.
function checkStepOptions(action: string, jobId: unknown, options: StepOptions): void {
  checkString(action, "jobId", jobId);
  checkOptions(action, "options", options, "an options object such as { step: 100 }");
  checkCount(action, "options.step", options.step, true);
}

function saveHeader(options: SaveCheckpointFileOptions): SaveHeader {
  metadataStruct(SAVE, options.metadata); // fails before the call starts
  return {
    workerId: options.workerId,
    metadata: options.metadata ?? {},
    // Made once per save, so that every retry of it carries the same key.
    idempotencyKey: options.idempotencyKey || crypto.randomUUID(),
  };
}

async function* allPages<T>(
  list: (options: PageOptions) => Promise<Page<T>>,
  options: PageOptions,
): AsyncGenerator<T, void, undefined> {
  let pageToken = options.pageToken ?? "";
  do {
    const page = await list({ pageSize: options.pageSize, pageToken });
    yield* page.items;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}
