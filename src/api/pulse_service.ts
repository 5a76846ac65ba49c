/**
 * The gRPC boundary of service `pulse.v1.PulseRuntime`: turns requests into
 * calls of the domain modules and their results into responses, counts and
 * times every call, and sends every error through `toStatus`.
 */
import type * as grpc from "@grpc/grpc-js";
import { fromStruct, type JsonObject, toStruct, toTimestamp } from "@pulsecheckpoint/proto";
import type { Struct__Output as StructMessage } from "@pulsecheckpoint/proto/types";
import type { Checkpoint, Checkpoints } from "../checkpoints/checkpoints.ts";
import type { NamedChunk } from "../checkpoints/chunker.ts";
import type { ExpectedContent } from "../checkpoints/content_problem.ts";
import type { GarbageCollector } from "../checkpoints/garbage_collector.ts";
import type { Dataset, DatasetRegistry } from "../datasets/dataset_registry.ts";
import { PulseError } from "../errors.ts";
import { LOAD_MESSAGE_BYTES } from "../limits.ts";
import { log } from "../log.ts";
import {
  checkpointBytesTotal,
  checkpointDurationSeconds,
  checkpointsTotal,
  grpcRequestDurationSeconds,
  grpcRequestsTotal,
  savesInProgress,
} from "../metrics.ts";
import type { Worker, WorkerRegistry } from "../workers/worker_registry.ts";
import type { Guard } from "./auth.ts";
import { type StatusError, statusName, toStatus } from "./status.ts";

/** What the service works on. */
export interface PulseServiceParts {
  guard: Guard;
  workers: WorkerRegistry;
  datasets: DatasetRegistry;
  checkpoints: Checkpoints;
  garbageCollector: GarbageCollector;
}

// Request messages, as proto-loader decodes them (all fields present).
interface WorkerIdRequest {
  worker_id: string;
}
interface RegisterWorkerRequest extends WorkerIdRequest {
  metadata: StructMessage | null;
}
interface PageRequest {
  page_size: number;
  page_token: string;
}
interface RegisterDatasetRequest {
  name: string;
  path: string;
  metadata: StructMessage | null;
}
interface CheckpointRequest extends WorkerIdRequest {
  checkpoint_id: string;
}
interface LoadCheckpointRequest extends CheckpointRequest {
  offset: number;
  length: number;
}
interface RunGcRequest {
  dry_run: boolean;
  /** Absent (a proto3 optional) for the runtime's gc.grace_ms. */
  grace_ms?: number | null;
}
interface SaveCheckpointTrailer {
  size_bytes: number;
  sha256: string;
  chunks_sha256: string;
}
interface SaveCheckpointRequest {
  payload: "header" | "data" | "trailer" | "chunk_sha256";
  header?: {
    worker_id: string;
    metadata: StructMessage | null;
    idempotency_key: string;
    expect_trailer: boolean;
    base_checkpoint_id: string;
  };
  data?: Uint8Array;
  trailer?: SaveCheckpointTrailer;
  chunk_sha256?: string;
}

/** Builds the handlers of `pulse.v1.PulseRuntime`. */
export function createPulseService(
  parts: PulseServiceParts,
): grpc.UntypedServiceImplementation {
  const { guard, workers, datasets, checkpoints } = parts;
  return {
    RegisterWorker: unary(guard, "RegisterWorker", async (request: RegisterWorkerRequest) => {
      const worker = await workers.register(
        request.worker_id,
        fromStruct(request.metadata),
      );
      log.info("pulse::worker", "Worker registered", {
        worker_id: worker.workerId,
      });
      return { worker: workerMessage(worker) };
    }),
    Heartbeat: unary(guard, "Heartbeat", async (request: WorkerIdRequest) => {
      const serverTime = await workers.heartbeat(request.worker_id);
      return {
        server_time: toTimestamp(serverTime),
        heartbeat_interval_ms: workers.heartbeatIntervalMs,
      };
    }),
    DeregisterWorker: unary(guard, "DeregisterWorker", async (request: WorkerIdRequest) => {
      await workers.deregister(request.worker_id);
      log.info("pulse::worker", "Worker deregistered", {
        worker_id: request.worker_id,
      });
      return {};
    }),
    GetWorker: unary(guard, "GetWorker", (request: WorkerIdRequest) => {
      return Promise.resolve({
        worker: workerMessage(workers.get(request.worker_id)),
      });
    }),
    ListWorkers: unary(guard, "ListWorkers", (request: PageRequest) => {
      const page = workers.list(request.page_size, request.page_token);
      return Promise.resolve({
        workers: page.workers.map(workerMessage),
        next_page_token: page.nextPageToken,
      });
    }),
    RegisterDataset: unary(guard, "RegisterDataset", async (request: RegisterDatasetRequest) => {
      const metadata = fromStruct(request.metadata);
      const dataset = await datasets.register(
        request.name,
        request.path,
        metadata,
      );
      log.info("pulse::dataset", "Dataset registered", {
        name: dataset.name,
        path: dataset.path,
      });
      return { dataset: datasetMessage(dataset) };
    }),
    GetDataset: unary(guard, "GetDataset", async (request: { name: string }) => {
      return { dataset: datasetMessage(await datasets.get(request.name)) };
    }),
    ListDatasets: unary(guard, "ListDatasets", async (request: PageRequest) => {
      const page = await datasets.list(request.page_size, request.page_token);
      return {
        datasets: page.datasets.map(datasetMessage),
        next_page_token: page.nextPageToken,
      };
    }),
    SaveCheckpoint: (
      call: grpc.ServerReadableStream<SaveCheckpointRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const done = track("SaveCheckpoint");
      saveCheckpoint(guard, checkpoints, call).then(
        (checkpoint) => {
          done(0);
          callback(null, { checkpoint: checkpointMessage(checkpoint) });
        },
        (error) => {
          const status = toStatus(error, "SaveCheckpoint");
          done(status.code);
          callback(status);
        },
      );
    },
    LoadCheckpoint: (call: grpc.ServerWritableStream<LoadCheckpointRequest, unknown>) => {
      const done = track("LoadCheckpoint");
      loadCheckpoint(guard, checkpoints, call).then(
        () => {
          done(0);
          call.end();
        },
        (error) => {
          const status = toStatus(error, "LoadCheckpoint");
          done(status.code);
          if (!call.destroyed) call.emit("error", status);
        },
      );
    },
    GetCheckpoint: unary(
      guard,
      "GetCheckpoint",
      async (request: CheckpointRequest & { include_chunks: boolean }) => {
        const { checkpoint, chunkSha256s } = await checkpoints.get(
          request.worker_id,
          request.checkpoint_id,
        );
        return {
          checkpoint: checkpointMessage(checkpoint),
          chunk_sha256s: request.include_chunks ? chunkSha256s : [],
        };
      },
    ),
    ListCheckpoints: unary(
      guard,
      "ListCheckpoints",
      async (request: WorkerIdRequest & PageRequest) => {
        const page = await checkpoints.list(
          request.worker_id,
          request.page_size,
          request.page_token,
        );
        return {
          checkpoints: page.checkpoints.map(checkpointMessage),
          next_page_token: page.nextPageToken,
        };
      },
    ),
    DeleteCheckpoint: unary(guard, "DeleteCheckpoint", async (request: CheckpointRequest) => {
      await checkpoints.delete(request.worker_id, request.checkpoint_id);
      log.info("pulse::checkpoint", "Checkpoint deleted", {
        worker_id: request.worker_id,
        checkpoint_id: request.checkpoint_id,
      });
      return {};
    }),
    RunGc: unary(guard, "RunGc", async (request: RunGcRequest) => {
      const report = await parts.garbageCollector.collect({
        dryRun: request.dry_run,
        graceMs: request.grace_ms ?? undefined,
      });
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
      };
    }),
  };
}

// Starts counting and timing a call; the returned function records its end.
function track(method: string): (code: grpc.status) => void {
  const end = grpcRequestDurationSeconds.startTimer({ method });
  return (code) => {
    end();
    grpcRequestsTotal.inc({ method, code: statusName(code) });
  };
}

// A unary handler whose call is authorized, for the request's worker_id when
// it has one, before `handle` runs.
function unary<Request, Response>(
  guard: Guard,
  method: string,
  handle: (request: Request) => Response | Promise<Response>,
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    const done = track(method);
    // Called inside an async function so that a synchronous throw becomes a
    // rejection too, never grpc-js's UNKNOWN.
    (async () => {
      guard.check(call.metadata, method, (call.request as { worker_id?: string }).worker_id);
      return await handle(call.request);
    })().then(
      (response) => {
        done(0);
        callback(null, response);
      },
      (error) => {
        const status: StatusError = toStatus(error, method);
        done(status.code);
        callback(status);
      },
    );
  };
}

async function saveCheckpoint(
  guard: Guard,
  checkpoints: Checkpoints,
  call: grpc.ServerReadableStream<SaveCheckpointRequest, unknown>,
): Promise<Checkpoint> {
  const started = performance.now();
  const iterator = call[Symbol.asyncIterator]() as AsyncIterator<SaveCheckpointRequest>;
  // The stream fails when the call ends early: the client cancelled, left, or
  // sent a message grpc-js could not decode (it has answered that call itself).
  const nextMessage = () =>
    iterator.next().catch((error) => {
      throw new PulseError(
        "ABORTED",
        `Cannot save checkpoint: the call ended before its last message (${
          (error as Error).message
        })`,
      );
    });
  const first = await nextMessage();
  const header = first.done ? undefined : first.value.header;
  if (header === undefined || first.value.payload !== "header") {
    throw new PulseError(
      "INVALID_ARGUMENT",
      "Cannot save checkpoint: the first message must carry the header",
    );
  }
  guard.check(call.metadata, "SaveCheckpoint", header.worker_id);
  const { expect_trailer: expectTrailer } = header;
  let received = 0;
  let trailer: SaveCheckpointTrailer | undefined;
  // What the client says it sent (the trailer), resolved once the data has ended.
  let dataEnded!: () => void;
  const expected = new Promise<ExpectedContent | undefined>((resolve) => {
    dataEnded = () =>
      resolve(
        trailer && {
          sizeBytes: trailer.size_bytes,
          sha256: trailer.sha256,
          chunksSha256: trailer.chunks_sha256,
        },
      );
  });
  const cancelled = new AbortController();
  if (call.cancelled) cancelled.abort();
  else call.once("cancelled", () => cancelled.abort());
  // The data messages' bytes and the named chunks, up to the trailer, which
  // must come last. When the header promised a trailer, a stream that ends
  // without one was not finished by its client: under Deno 2.8.3 even a
  // grpc-js client's cancel can end a stream as if it were complete.
  async function* data(): AsyncGenerator<Uint8Array | NamedChunk> {
    for (let index = 1;; index++) {
      const next = await nextMessage();
      if (next.done) {
        if (trailer !== undefined || !expectTrailer) {
          dataEnded();
          return;
        }
        throw new PulseError(
          "ABORTED",
          `Cannot save checkpoint: the stream ended after ${received} bytes without a trailer (the client was cancelled or left before it finished); nothing was committed`,
        );
      }
      if (trailer !== undefined) {
        throw new PulseError(
          "INVALID_ARGUMENT",
          `Cannot save checkpoint: message ${index} follows the trailer; the trailer must be the last message`,
        );
      }
      if (next.value.payload === "trailer") {
        trailer = next.value.trailer!;
        continue;
      }
      if (next.value.payload === "chunk_sha256") {
        yield { sha256: next.value.chunk_sha256! };
        continue;
      }
      if (next.value.payload !== "data") {
        throw new PulseError(
          "INVALID_ARGUMENT",
          `Cannot save checkpoint: message ${index} carries a header; only the first may`,
        );
      }
      received += next.value.data!.length;
      yield next.value.data!;
    }
  }
  savesInProgress.inc();
  try {
    const request = {
      workerId: header.worker_id,
      metadata: fromStruct(header.metadata),
      idempotencyKey: header.idempotency_key,
      baseCheckpointId: header.base_checkpoint_id,
    };
    const checkpoint = await checkpoints.save(request, data(), {
      signal: cancelled.signal,
      expected,
    });
    const seconds = (performance.now() - started) / 1000;
    checkpointsTotal.inc({ outcome: "ok" });
    checkpointBytesTotal.inc({ operation: "save" }, received);
    checkpointDurationSeconds.observe({ operation: "save" }, seconds);
    log.info("pulse::checkpoint", "Checkpoint saved successfully", {
      worker_id: checkpoint.workerId,
      checkpoint_id: checkpoint.checkpointId,
      size_bytes: checkpoint.sizeBytes,
      duration_ms: Math.round(seconds * 1000),
    });
    return checkpoint;
  } catch (error) {
    checkpointsTotal.inc({ outcome: "error" });
    log.warn("pulse::checkpoint", "Checkpoint save failed", {
      worker_id: header.worker_id,
      received_bytes: received,
      error,
    });
    throw error;
  } finally {
    savesInProgress.dec();
  }
}

async function loadCheckpoint(
  guard: Guard,
  checkpoints: Checkpoints,
  call: grpc.ServerWritableStream<LoadCheckpointRequest, unknown>,
): Promise<void> {
  const started = performance.now();
  const { worker_id: workerId, checkpoint_id: checkpointId, offset, length } = call.request;
  guard.check(call.metadata, "LoadCheckpoint", workerId);
  const { checkpoint, data } = await checkpoints.load(workerId, checkpointId, { offset, length });
  await send(call, { checkpoint: checkpointMessage(checkpoint) });
  let sent = 0;
  for await (const chunk of data) {
    sent += chunk.length;
    for (let offset = 0; offset < chunk.length; offset += LOAD_MESSAGE_BYTES) {
      await send(call, {
        data: chunk.subarray(offset, offset + LOAD_MESSAGE_BYTES),
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  checkpointBytesTotal.inc({ operation: "load" }, sent);
  checkpointDurationSeconds.observe({ operation: "load" }, seconds);
  log.info("pulse::checkpoint", "Checkpoint loaded", {
    worker_id: workerId,
    checkpoint_id: checkpoint.checkpointId,
    offset,
    size_bytes: sent,
    duration_ms: Math.round(seconds * 1000),
  });
}

// Writes one message, waiting while the client is slower than the store.
function send(
  call: grpc.ServerWritableStream<unknown, unknown>,
  message: unknown,
): Promise<void> {
  if (call.cancelled || call.destroyed) {
    return Promise.reject(
      new PulseError("ABORTED", "Cannot load checkpoint: the client left"),
    );
  }
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      call.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      call.off("drain", onDrain);
      reject(
        new PulseError("ABORTED", "Cannot load checkpoint: the client left"),
      );
    };
    call.once("drain", onDrain);
    call.once("close", onClose);
  });
}

function workerMessage(worker: Worker) {
  return {
    worker_id: worker.workerId,
    metadata: toStruct(worker.metadata as JsonObject),
    registered_at: toTimestamp(worker.registeredAt),
    last_heartbeat: toTimestamp(worker.lastHeartbeat),
    state: `WORKER_STATE_${worker.state}`,
  };
}

function datasetMessage(dataset: Dataset) {
  return {
    name: dataset.name,
    path: dataset.path,
    metadata: toStruct(dataset.metadata as JsonObject),
    registered_at: toTimestamp(dataset.registeredAt),
  };
}

function checkpointMessage(checkpoint: Checkpoint) {
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
