/**
 * SaveCheckpoint, the client-streaming call: the stream taken apart (a
 * header first, then data messages and chunk names in the order of the
 * bytes, then optionally a trailer), the rights and the caller's share of
 * saves checked once the header names the worker, and the bytes handed to
 * the domain with what the trailer says they are.
 */
import * as grpc from "@grpc/grpc-js";
import { fromStruct } from "@pulsecheckpoint/proto";
import type {
  SaveCheckpointHeader__Output,
  SaveCheckpointRequest__Output,
  SaveCheckpointResponse,
  SaveCheckpointTrailer__Output,
} from "@pulsecheckpoint/proto/types";
import type { Checkpoint, Checkpoints } from "../checkpoints/checkpoints.ts";
import type { JobSteps } from "../jobs/job_steps.ts";
import type { NamedChunk } from "../checkpoints/chunker.ts";
import type { ExpectedContent } from "../checkpoints/content_problem.ts";
import type { ChunkRef } from "../checkpoints/manifest.ts";
import { PulseError } from "../errors.ts";
import { log } from "../log.ts";
import {
  checkpointBytesTotal,
  checkpointDurationSeconds,
  checkpointsTotal,
  savesInProgress,
} from "../metrics.ts";
import type { Guard, Principal } from "./auth.ts";
import { track } from "./call_metrics.ts";
import { checkpointMessage, shardRefOf } from "./messages.ts";
import { toStatus } from "./status.ts";

/** A save stream taken apart. */
export interface SaveStream {
  /** The first message's header. */
  header: SaveCheckpointHeader__Output;
  /**
   * The data messages' bytes and the named chunks, in order, up to the
   * trailer. Throws ABORTED when the stream fails, goes silent for longer
   * than the idle timeout, or ends without the trailer its header promised
   * (under Deno 2.8.3 even a grpc-js client's cancel can end a stream as if
   * it were complete); INVALID_ARGUMENT for a message out of place.
   */
  data: AsyncIterable<Uint8Array | NamedChunk | ChunkRef>;
  /** What the trailer says was sent, once `data` has ended; undefined without one. */
  expected: Promise<ExpectedContent | undefined>;
  /** Bytes of data received so far. */
  receivedBytes(): number;
}

/**
 * Reads the header of a save stream and returns it with the rest of the
 * stream, decoded as `data` is iterated.
 * @param messages the call's messages; a failure of the call is a rejection
 * @param idleTimeoutMs longest wait for the message after each one
 * @throws {PulseError} INVALID_ARGUMENT unless the first message is a header
 */
export async function openSaveStream(
  messages: AsyncIterator<SaveCheckpointRequest__Output>,
  idleTimeoutMs: number,
): Promise<SaveStream> {
  let received = 0;
  const next = () => nextWithin(messages, idleTimeoutMs, () => received);
  const first = await next();
  const header = first.done || first.value.payload !== "header" ? undefined : first.value.header;
  if (header == null) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      "Cannot save checkpoint: the first message must carry the header",
    );
  }
  const expectTrailer = header.expect_trailer;
  let trailer: SaveCheckpointTrailer__Output | undefined;
  let ended!: () => void;
  const expected = new Promise<ExpectedContent | undefined>((resolve) => {
    ended = () => resolve(trailer && expectedContentOf(trailer));
  });
  async function* data(): AsyncGenerator<Uint8Array | NamedChunk | ChunkRef> {
    for (let index = 1;; index++) {
      const message = await next();
      if (message.done) {
        if (trailer !== undefined || !expectTrailer) return ended();
        throw new PulseError(
          "ABORTED",
          `Cannot save checkpoint: the stream ended after ${received} bytes without a trailer (the client was cancelled or left before it finished); nothing was committed`,
        );
      }
      const piece = pieceOf(message.value, index, trailer !== undefined);
      if ("trailer" in piece) trailer = piece.trailer;
      else if ("sha256" in piece) yield piece;
      else if ("chunk" in piece) yield piece.chunk;
      else {
        received += piece.bytes.length;
        yield piece.bytes;
      }
    }
  }
  return { header, data: data(), expected, receivedBytes: () => received };
}

// The next message, unless the client stays silent for `timeoutMs`.
async function nextWithin(
  messages: AsyncIterator<SaveCheckpointRequest__Output>,
  timeoutMs: number,
  receivedBytes: () => number,
): Promise<IteratorResult<SaveCheckpointRequest__Output>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silence = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new PulseError(
          "ABORTED",
          `Cannot save checkpoint: no message for ${timeoutMs} ms after ${receivedBytes()} bytes (server.save_idle_timeout_ms); nothing was committed`,
        ),
      );
    }, timeoutMs);
  });
  const message = messages.next().catch((error: unknown) => {
    throw new PulseError(
      "ABORTED",
      `Cannot save checkpoint: the call ended before its last message (${
        (error as Error).message
      })`,
    );
  });
  message.catch(() => {}); // lost the race to the timeout: the call is failed anyway
  try {
    return await Promise.race([message, silence]);
  } finally {
    clearTimeout(timer);
  }
}

// What message number `index` (after the header) carries, or why it is out of place.
function pieceOf(
  message: SaveCheckpointRequest__Output,
  index: number,
  afterTrailer: boolean,
):
  | { bytes: Uint8Array }
  | NamedChunk
  | { chunk: ChunkRef }
  | { trailer: SaveCheckpointTrailer__Output } {
  if (afterTrailer) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot save checkpoint: message ${index} follows the trailer; the trailer must be the last message`,
    );
  }
  switch (message.payload) {
    case "data":
      return { bytes: message.data! };
    case "chunk_sha256":
      return { sha256: message.chunk_sha256! };
    case "chunk":
      return { chunk: { sha256: message.chunk!.sha256, size: message.chunk!.size } };
    case "trailer":
      return { trailer: message.trailer! };
    default:
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot save checkpoint: message ${index} carries a header; only the first may`,
      );
  }
}

function expectedContentOf(trailer: SaveCheckpointTrailer__Output): ExpectedContent {
  return {
    sizeBytes: trailer.size_bytes,
    sha256: trailer.sha256,
    chunksSha256: trailer.chunks_sha256,
  };
}

/** Options of the SaveCheckpoint handler. */
export interface SaveHandlerOptions {
  /** Longest silence between two messages of a save (`server.save_idle_timeout_ms`). */
  idleTimeoutMs: number;
  /** Saves in progress at once per token, or per connection while authentication is off. */
  savesPerCallerMax: number;
}

/** What saves go to: checkpoints, and the job steps their shards belong to. */
export interface SaveParts {
  checkpoints: Checkpoints;
  jobs: JobSteps;
}

/** The SaveCheckpoint handler. */
export function saveCheckpointHandler(
  guard: Guard,
  parts: SaveParts,
  options: SaveHandlerOptions,
): grpc.handleClientStreamingCall<SaveCheckpointRequest__Output, SaveCheckpointResponse> {
  const callers = new CallerSaves(options.savesPerCallerMax);
  return (call, callback) => {
    const done = track("SaveCheckpoint");
    save(guard, parts, call, { ...options, callers }).then(
      (checkpoint) => {
        done(grpc.status.OK);
        callback(null, { checkpoint: checkpointMessage(checkpoint) });
      },
      (error) => {
        const status = toStatus(error, "SaveCheckpoint");
        done(status.code);
        callback(status);
      },
    );
  };
}

async function save(
  guard: Guard,
  { checkpoints, jobs }: SaveParts,
  call: grpc.ServerReadableStream<SaveCheckpointRequest__Output, SaveCheckpointResponse>,
  options: SaveHandlerOptions & { callers: CallerSaves },
): Promise<Checkpoint> {
  const started = performance.now();
  const stream = await openSaveStream(call[Symbol.asyncIterator](), options.idleTimeoutMs);
  const { header } = stream;
  const shard = shardRefOf(header.shard);
  const principal = guard.check(call.metadata, "SaveCheckpoint", {
    worker_id: header.worker_id,
    job_id: shard?.jobId,
  });
  const release = options.callers.admit(principal, call.getPeer());
  const path = header.plan_id === "" ? "stream" : "direct";
  const cancelled = new AbortController();
  if (call.cancelled) cancelled.abort();
  else call.once("cancelled", () => cancelled.abort());
  savesInProgress.inc();
  try {
    if (shard !== undefined) await jobs.shardStarting(shard, header.worker_id);
    const checkpoint = await checkpoints.save(
      {
        workerId: header.worker_id,
        shard,
        metadata: fromStruct(header.metadata),
        idempotencyKey: header.idempotency_key,
        baseCheckpointId: header.base_checkpoint_id,
        planId: header.plan_id,
      },
      stream.data,
      { signal: cancelled.signal, expected: stream.expected },
    );
    if (shard !== undefined) await jobs.shardSaved(shard, checkpoint);
    const seconds = (performance.now() - started) / 1000;
    checkpointsTotal.inc({ outcome: "ok", path });
    checkpointBytesTotal.inc(
      { operation: "save", path },
      path === "direct" ? checkpoint.sizeBytes : stream.receivedBytes(),
    );
    checkpointDurationSeconds.observe({ operation: "save" }, seconds);
    log.info("pulse::checkpoint", "Checkpoint saved successfully", {
      worker_id: checkpoint.workerId,
      checkpoint_id: checkpoint.checkpointId,
      size_bytes: checkpoint.sizeBytes,
      duration_ms: Math.round(seconds * 1000),
      ...(shard && { job_id: shard.jobId, step: shard.step, rank: shard.rank }),
    });
    return checkpoint;
  } catch (error) {
    checkpointsTotal.inc({ outcome: "error", path });
    log.warn("pulse::checkpoint", "Checkpoint save failed", {
      worker_id: header.worker_id,
      received_bytes: stream.receivedBytes(),
      error,
    });
    throw error;
  } finally {
    savesInProgress.dec();
    release();
  }
}

/**
 * Saves in progress per caller: a token (by its hash), or a connection while
 * authentication is off, so that one tenant cannot take every save the
 * runtime admits (`limits.saves_max`).
 */
class CallerSaves {
  #max: number;
  #saves = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts a save of the caller, or refuses it; returns what ends it. */
  admit(principal: Principal, peer: string): () => void {
    const key = principal.tokenSha256 ?? `peer ${peer}`;
    const count = this.#saves.get(key) ?? 0;
    if (count >= this.#max) {
      const who = principal.tokenSha256 === undefined
        ? `connection ${peer}`
        : `token ${principal.name}`;
      throw new PulseError(
        "RESOURCE_EXHAUSTED",
        `Cannot save checkpoint: ${who} has ${count} saves in progress, limit is ${this.#max} (limits.saves_per_token_max)`,
      );
    }
    this.#saves.set(key, count + 1);
    return () => {
      const left = this.#saves.get(key)! - 1;
      if (left === 0) this.#saves.delete(key);
      else this.#saves.set(key, left);
    };
  }
}
