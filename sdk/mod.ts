/**
 * The TypeScript SDK of PulseCheckpoint Runtime, for Deno and Node.
 *
 * Workers register, heartbeat, and save and load checkpoints through a
 * {@linkcode Runtime}; failures are {@linkcode PulseError}s with a gRPC code.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 *
 * const rt = new Runtime("grpc://localhost:50051");
 * await rt.registerWorker("worker-1", { metadata: { gpu: "A100" } });
 * const checkpoint = await rt.saveCheckpoint({
 *   workerId: "worker-1",
 *   data: new TextEncoder().encode("model-state-bytes"),
 *   metadata: { epoch: 10 },
 * });
 * const { data } = await rt.loadCheckpoint("worker-1");
 * rt.close();
 * ```
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import {
  fromStruct,
  fromTimestamp,
  type JsonObject,
  loadPulsePackage,
  SERVICE_NAME,
  type StructMessage,
  type TimestampMessage,
  toStruct,
} from "./wire.ts";

export type { JsonObject, JsonValue } from "./wire.ts";

/** Size of the data messages a save sends. */
const SAVE_MESSAGE_BYTES = 1024 * 1024;
/** Largest message the client accepts or sends; the runtime's limit is the same. */
const MESSAGE_BYTES_MAX = 16 * 1024 * 1024;

/** The state of a worker. */
export type WorkerState = "ACTIVE" | "STALE" | "DEREGISTERED";

/** A registered worker. */
export interface Worker {
  workerId: string;
  metadata: JsonObject;
  registeredAt: Date;
  lastHeartbeat: Date;
  state: WorkerState;
}

/** A registered dataset. */
export interface Dataset {
  name: string;
  /** A URI such as `s3://bucket/data`. */
  path: string;
  metadata: JsonObject;
  registeredAt: Date;
}

/** A saved checkpoint. */
export interface Checkpoint {
  /** `chk_` followed by a ULID. */
  checkpointId: string;
  workerId: string;
  sizeBytes: number;
  /** Hex SHA-256 of the checkpoint's bytes. */
  sha256: string;
  metadata: JsonObject;
  idempotencyKey: string;
  createdAt: Date;
}

/** One page of a listing, and the token of the next one (empty at the end). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Options of listings. */
export interface PageOptions {
  /** Items per page; 0 or absent for the runtime's default. */
  pageSize?: number;
  /** The `nextPageToken` of the previous page. */
  pageToken?: string;
}

/** Bytes to save: all at once, or streamed. */
export type CheckpointData =
  | Uint8Array
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | ReadableStream<Uint8Array>;

/** What `saveCheckpoint` saves. */
export interface SaveCheckpointOptions {
  workerId: string;
  data: CheckpointData;
  metadata?: JsonObject;
  /** A save repeated with the same key returns the first checkpoint instead of a second. */
  idempotencyKey?: string;
}

/** Options of a {@linkcode Runtime}. */
export interface RuntimeOptions {
  /** grpc-js channel options, passed through. */
  channelOptions?: grpc.ChannelOptions;
}

/** The gRPC status code names a {@linkcode PulseError} carries. */
export type PulseErrorCode = keyof typeof grpc.status;

/** A failed call: its gRPC status code name and the runtime's message. */
export class PulseError extends Error {
  /** The gRPC status code name, e.g. `NOT_FOUND`. */
  readonly code: PulseErrorCode;

  /**
   * @param code the gRPC status code name
   * @param message the runtime's message
   */
  constructor(code: PulseErrorCode, message: string) {
    super(message);
    this.name = "PulseError";
    this.code = code;
  }
}

function toPulseError(error: unknown): unknown {
  const status = (error as Partial<grpc.ServiceError>)?.code;
  if (typeof status !== "number") return error;
  const code = (grpc.status[status] ?? "UNKNOWN") as PulseErrorCode;
  return new PulseError(code, (error as grpc.ServiceError).details);
}

// deno-lint-ignore no-explicit-any
type Message = any;

/**
 * A connection to a PulseCheckpoint Runtime.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 * const rt = new Runtime("grpc://localhost:50051");
 * await rt.heartbeat("worker-1");
 * rt.close();
 * ```
 */
export class Runtime {
  #client: grpc.Client & Record<string, Message>;
  #calls = new Set<{ cancel(): void }>();

  /**
   * @param address `grpc://host:port`, or `host:port`
   * @param options channel options
   */
  constructor(address: string, options: RuntimeOptions = {}) {
    const target = address.replace(/^grpc:\/\//, "");
    const definition = loadPulsePackage();
    const Client = grpc.makeGenericClientConstructor(
      definition[SERVICE_NAME] as grpc.ServiceDefinition,
      SERVICE_NAME,
    );
    this.#client = new Client(target, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MESSAGE_BYTES_MAX,
      "grpc.max_send_message_length": MESSAGE_BYTES_MAX,
      ...options.channelOptions,
    }) as grpc.Client & Record<string, Message>;
  }

  /**
   * Registers a worker, or replaces the metadata of a registered one.
   * @param workerId 1–128 characters of `[A-Za-z0-9._-]`
   * @param options the worker's metadata
   * @returns the worker
   * @throws {PulseError} INVALID_ARGUMENT for a bad id or metadata
   */
  async registerWorker(
    workerId: string,
    options: { metadata?: JsonObject } = {},
  ): Promise<Worker> {
    const response = await this.#unary("RegisterWorker", {
      worker_id: workerId,
      metadata: toStruct(options.metadata ?? {}),
    });
    return toWorker(response.worker);
  }

  /**
   * Tells the runtime the worker is alive.
   * @param workerId a registered worker
   * @returns the server's time and how often it expects heartbeats
   * @throws {PulseError} NOT_FOUND for an unknown worker
   */
  async heartbeat(
    workerId: string,
  ): Promise<{ serverTime: Date; heartbeatIntervalMs: number }> {
    const response = await this.#unary("Heartbeat", { worker_id: workerId });
    return {
      serverTime: fromTimestamp(response.server_time),
      heartbeatIntervalMs: response.heartbeat_interval_ms,
    };
  }

  /**
   * Marks a worker as gone; its checkpoints stay.
   * @param workerId a registered worker
   * @throws {PulseError} NOT_FOUND for an unknown worker
   */
  async deregisterWorker(workerId: string): Promise<void> {
    await this.#unary("DeregisterWorker", { worker_id: workerId });
  }

  /**
   * Describes a worker.
   * @param workerId a registered worker
   * @returns the worker
   * @throws {PulseError} NOT_FOUND for an unknown worker
   */
  async getWorker(workerId: string): Promise<Worker> {
    return toWorker(
      (await this.#unary("GetWorker", { worker_id: workerId })).worker,
    );
  }

  /**
   * Lists workers by id, a page at a time.
   * @param options page size and token
   * @returns one page
   */
  async listWorkers(options: PageOptions = {}): Promise<Page<Worker>> {
    const response = await this.#unary("ListWorkers", pageRequest(options));
    return {
      items: response.workers.map(toWorker),
      nextPageToken: response.next_page_token,
    };
  }

  /**
   * Registers a dataset, or replaces the path and metadata of a registered one.
   * @param name 1–128 characters of `[A-Za-z0-9._-]`
   * @param options the dataset's path (a URI) and metadata
   * @returns the dataset
   * @throws {PulseError} INVALID_ARGUMENT for a bad name, path or metadata
   */
  async registerDataset(
    name: string,
    options: { path: string; metadata?: JsonObject },
  ): Promise<Dataset> {
    const response = await this.#unary("RegisterDataset", {
      name,
      path: options.path,
      metadata: toStruct(options.metadata ?? {}),
    });
    return toDataset(response.dataset);
  }

  /**
   * Describes a dataset.
   * @param name a registered dataset
   * @returns the dataset
   * @throws {PulseError} NOT_FOUND for an unknown dataset
   */
  async getDataset(name: string): Promise<Dataset> {
    return toDataset((await this.#unary("GetDataset", { name })).dataset);
  }

  /**
   * Lists datasets by name, a page at a time.
   * @param options page size and token
   * @returns one page
   */
  async listDatasets(options: PageOptions = {}): Promise<Page<Dataset>> {
    const response = await this.#unary("ListDatasets", pageRequest(options));
    return {
      items: response.datasets.map(toDataset),
      nextPageToken: response.next_page_token,
    };
  }

  /**
   * Saves a checkpoint, streaming its bytes with backpressure: data is read
   * only as fast as the runtime takes it.
   * @param options the worker, the bytes, metadata and an idempotency key
   * @returns the checkpoint
   * @throws {PulseError} NOT_FOUND for an unregistered worker, INVALID_ARGUMENT
   * for bad input, UNAVAILABLE when the store fails
   */
  saveCheckpoint(options: SaveCheckpointOptions): Promise<Checkpoint> {
    return new Promise<Checkpoint>((resolve, reject) => {
      const call = this.#client.SaveCheckpoint(
        (error: unknown, response: Message) => {
          this.#calls.delete(call);
          if (error) reject(toPulseError(error));
          else resolve(toCheckpoint(response.checkpoint));
        },
      ) as grpc.ClientWritableStream<Message>;
      this.#calls.add(call);
      writeSave(call, options).catch((error) => {
        call.cancel();
        reject(error);
      });
    });
  }

  /**
   * Loads a checkpoint whole into memory. For large checkpoints use
   * {@linkcode Runtime.loadCheckpointStream}.
   * @param workerId the worker
   * @param options a checkpoint id; absent for the worker's latest checkpoint
   * @returns the checkpoint and its bytes, verified by the runtime
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint, DATA_LOSS if
   * the stored bytes fail their hash
   */
  async loadCheckpoint(
    workerId: string,
    options: { checkpointId?: string } = {},
  ): Promise<{ checkpoint: Checkpoint; data: Uint8Array }> {
    const { checkpoint, stream } = await this.loadCheckpointStream(
      workerId,
      options,
    );
    const data = new Uint8Array(checkpoint.sizeBytes);
    let offset = 0;
    for await (const piece of stream) {
      data.set(piece, offset);
      offset += piece.length;
    }
    if (offset !== checkpoint.sizeBytes) {
      throw new PulseError(
        "DATA_LOSS",
        `Checkpoint ${checkpoint.checkpointId} ended after ${offset} of ${checkpoint.sizeBytes} bytes`,
      );
    }
    return { checkpoint, data };
  }

  /**
   * Loads a checkpoint as a stream of byte pieces, read as fast as you consume them.
   * @param workerId the worker
   * @param options a checkpoint id; absent for the worker's latest checkpoint
   * @returns the checkpoint and an async iterable of its bytes
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint; the stream
   * throws DATA_LOSS if stored bytes fail their hash
   */
  async loadCheckpointStream(
    workerId: string,
    options: { checkpointId?: string } = {},
  ): Promise<{ checkpoint: Checkpoint; stream: AsyncIterable<Uint8Array> }> {
    const call = this.#client.LoadCheckpoint({
      worker_id: workerId,
      checkpoint_id: options.checkpointId ?? "",
    }) as grpc.ClientReadableStream<Message>;
    this.#calls.add(call);
    call.on("close", () => this.#calls.delete(call));
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<Message>;
    const first = await messages.next().catch((error) => {
      throw toPulseError(error);
    });
    if (first.done || first.value.payload !== "checkpoint") {
      throw new PulseError(
        "INTERNAL",
        "LoadCheckpoint did not start with the checkpoint",
      );
    }
    async function* stream(): AsyncGenerator<Uint8Array> {
      try {
        while (true) {
          const next = await messages.next();
          if (next.done) return;
          yield next.value.data;
        }
      } catch (error) {
        throw toPulseError(error);
      } finally {
        call.cancel(); // no-op once the call has ended
      }
    }
    return {
      checkpoint: toCheckpoint(first.value.checkpoint),
      stream: stream(),
    };
  }

  /**
   * Describes a checkpoint.
   * @param workerId the worker
   * @param options a checkpoint id; absent for the worker's latest checkpoint
   * @returns the checkpoint
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint
   */
  async getCheckpoint(
    workerId: string,
    options: { checkpointId?: string } = {},
  ): Promise<Checkpoint> {
    const response = await this.#unary("GetCheckpoint", {
      worker_id: workerId,
      checkpoint_id: options.checkpointId ?? "",
    });
    return toCheckpoint(response.checkpoint);
  }

  /**
   * Lists a worker's checkpoints, newest first, a page at a time.
   * @param workerId the worker
   * @param options page size and token
   * @returns one page
   */
  async listCheckpoints(
    workerId: string,
    options: PageOptions = {},
  ): Promise<Page<Checkpoint>> {
    const response = await this.#unary("ListCheckpoints", {
      worker_id: workerId,
      ...pageRequest(options),
    });
    return {
      items: response.checkpoints.map(toCheckpoint),
      nextPageToken: response.next_page_token,
    };
  }

  /**
   * Deletes a checkpoint.
   * @param workerId the worker
   * @param checkpointId the checkpoint
   * @throws {PulseError} NOT_FOUND if there is no such checkpoint
   */
  async deleteCheckpoint(
    workerId: string,
    checkpointId: string,
  ): Promise<void> {
    await this.#unary("DeleteCheckpoint", {
      worker_id: workerId,
      checkpoint_id: checkpointId,
    });
  }

  /** Cancels calls in flight and closes the connection. */
  close(): void {
    for (const call of this.#calls) call.cancel();
    this.#calls.clear();
    this.#client.close();
  }

  #unary(method: string, request: Message): Promise<Message> {
    return new Promise((resolve, reject) => {
      const call = this.#client[method](
        request,
        (error: unknown, response: Message) => {
          this.#calls.delete(call);
          if (error) reject(toPulseError(error));
          else resolve(response);
        },
      );
      this.#calls.add(call);
    });
  }
}

// Sends the header, then the data in messages of at most SAVE_MESSAGE_BYTES,
// waiting for the stream to drain whenever grpc-js says its buffer is full.
async function writeSave(
  call: grpc.ClientWritableStream<Message>,
  options: SaveCheckpointOptions,
): Promise<void> {
  const write = (message: Message) =>
    call.write(message)
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          call.off("close", onClose);
          resolve();
        };
        const onClose = () => {
          call.off("drain", onDrain);
          reject(
            new PulseError(
              "CANCELLED",
              "The save ended before all data was sent",
            ),
          );
        };
        call.once("drain", onDrain);
        call.once("close", onClose);
      });
  await write({
    header: {
      worker_id: options.workerId,
      metadata: toStruct(options.metadata ?? {}),
      idempotency_key: options.idempotencyKey ?? "",
    },
  });
  for await (const piece of pieces(options.data)) {
    for (let offset = 0; offset < piece.length; offset += SAVE_MESSAGE_BYTES) {
      if (call.destroyed) return; // the runtime answered early (e.g. an idempotent retry)
      await write({
        data: piece.subarray(offset, offset + SAVE_MESSAGE_BYTES),
      });
    }
  }
  call.end();
}

function pieces(
  data: CheckpointData,
): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (data instanceof Uint8Array) return [data];
  if (data instanceof ReadableStream) {
    const reader = data.getReader();
    return {
      async *[Symbol.asyncIterator]() {
        try {
          while (true) {
            const { done, value } = await reader.read();
            if (done) return;
            yield value;
          }
        } finally {
          reader.releaseLock();
        }
      },
    };
  }
  return data;
}

function pageRequest(options: PageOptions) {
  return {
    page_size: options.pageSize ?? 0,
    page_token: options.pageToken ?? "",
  };
}

function toWorker(message: Message): Worker {
  return {
    workerId: message.worker_id,
    metadata: fromStruct(message.metadata as StructMessage),
    registeredAt: fromTimestamp(message.registered_at as TimestampMessage),
    lastHeartbeat: fromTimestamp(message.last_heartbeat as TimestampMessage),
    state: String(message.state).replace("WORKER_STATE_", "") as WorkerState,
  };
}

function toDataset(message: Message): Dataset {
  return {
    name: message.name,
    path: message.path,
    metadata: fromStruct(message.metadata),
    registeredAt: fromTimestamp(message.registered_at),
  };
}

function toCheckpoint(message: Message): Checkpoint {
  return {
    checkpointId: message.checkpoint_id,
    workerId: message.worker_id,
    sizeBytes: Number(message.size_bytes),
    sha256: message.sha256,
    metadata: fromStruct(message.metadata),
    idempotencyKey: message.idempotency_key,
    createdAt: fromTimestamp(message.created_at),
  };
}
