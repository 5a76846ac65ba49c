/**
 * SaveCheckpoint, the client-streaming call: the stream taken apart (a
 * header first, then data messages and chunk names in the order of the
 * bytes, then optionally a trailer), the rights checked once the header
 * names the worker, and the bytes handed to the domain.
 */
import * as grpc from "@grpc/grpc-js";
import { fromStruct } from "@pulsecheckpoint/proto";
import { chunksSha256 } from "@pulsecheckpoint/proto/protocol";
import type {
  SaveCheckpointHeader__Output,
  SaveCheckpointRequest__Output,
  SaveCheckpointResponse,
  SaveCheckpointTrailer__Output,
} from "@pulsecheckpoint/proto/types";
import type { Checkpoint, CheckpointStore } from "../checkpoints/checkpoint_store.ts";
import type { NamedChunk } from "../checkpoints/chunker.ts";
import { PulseError } from "../errors.ts";
import { log } from "../log.ts";
import {
  checkpointBytesTotal,
  checkpointDurationSeconds,
  checkpointsTotal,
  savesInProgress,
} from "../metrics.ts";
import type { Guard } from "./auth.ts";
import { checkpointMessage } from "./messages.ts";
import { track } from "./call_metrics.ts";
import { toStatus } from "./status.ts";

/** A save stream taken apart. */
export interface SaveStream {
  /** The first message's header. */
  header: SaveCheckpointHeader__Output;
  /**
   * The data messages' bytes and the named chunks, in order, up to the
   * trailer. Throws ABORTED when the stream fails or ends without the trailer
   * its header promised (under Deno 2.8.3 even a grpc-js client's cancel can
   * end a stream as if it were complete), INVALID_ARGUMENT for a message out
   * of place.
   */
  data: AsyncIterable<Uint8Array | NamedChunk>;
  /** Bytes of data received so far. */
  receivedBytes(): number;
  /** The trailer, once `data` has ended; undefined when the stream had none. */
  trailer(): SaveCheckpointTrailer__Output | undefined;
}

/**
 * Reads the header of a save stream and returns it with the rest of the
 * stream, decoded as `data` is iterated.
 * @param messages the call's messages; a failure of the call is a rejection
 * @throws {PulseError} INVALID_ARGUMENT unless the first message is a header
 */
export async function openSaveStream(
  messages: AsyncIterator<SaveCheckpointRequest__Output>,
): Promise<SaveStream> {
  const next = () =>
    messages.next().catch((error: unknown) => {
      throw new PulseError(
        "ABORTED",
        `Cannot save checkpoint: the call ended before its last message (${
          (error as Error).message
        })`,
      );
    });
  const first = await next();
  const header = first.done || first.value.payload !== "header" ? undefined : first.value.header;
  if (header == null) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      "Cannot save checkpoint: the first message must carry the header",
    );
  }
  const expectTrailer = header.expect_trailer;
  let received = 0;
  let trailer: SaveCheckpointTrailer__Output | undefined;
  async function* data(): AsyncGenerator<Uint8Array | NamedChunk> {
    for (let index = 1;; index++) {
      const message = await next();
      if (message.done) {
        if (trailer !== undefined || !expectTrailer) return;
        throw new PulseError(
          "ABORTED",
          `Cannot save checkpoint: the stream ended after ${received} bytes without a trailer (the client was cancelled or left before it finished); nothing was committed`,
        );
      }
      const piece = pieceOf(message.value, index, trailer !== undefined);
      if ("trailer" in piece) trailer = piece.trailer;
      else if ("sha256" in piece) yield piece;
      else {
        received += piece.bytes.length;
        yield piece.bytes;
      }
    }
  }
  return { header, data: data(), receivedBytes: () => received, trailer: () => trailer };
}

// What message number `index` (after the header) carries, or why it is out of place.
function pieceOf(
  message: SaveCheckpointRequest__Output,
  index: number,
  afterTrailer: boolean,
): { bytes: Uint8Array } | NamedChunk | { trailer: SaveCheckpointTrailer__Output } {
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
    case "trailer":
      return { trailer: message.trailer! };
    default:
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot save checkpoint: message ${index} carries a header; only the first may`,
      );
  }
}

/** The SaveCheckpoint handler. */
export function saveCheckpointHandler(
  guard: Guard,
  checkpoints: CheckpointStore,
): grpc.handleClientStreamingCall<SaveCheckpointRequest__Output, SaveCheckpointResponse> {
  return (call, callback) => {
    const done = track("SaveCheckpoint");
    save(guard, checkpoints, call).then(
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
  checkpoints: CheckpointStore,
  call: grpc.ServerReadableStream<SaveCheckpointRequest__Output, SaveCheckpointResponse>,
): Promise<Checkpoint> {
  const started = performance.now();
  const stream = await openSaveStream(call[Symbol.asyncIterator]());
  const { header } = stream;
  guard.check(call.metadata, "SaveCheckpoint", { worker_id: header.worker_id });
  savesInProgress.inc();
  try {
    const checkpoint = await checkpoints.save({
      workerId: header.worker_id,
      metadata: fromStruct(header.metadata),
      idempotencyKey: header.idempotency_key,
      baseCheckpointId: header.base_checkpoint_id,
      beforeCommit: (saved) => {
        if (call.cancelled) {
          throw new PulseError(
            "ABORTED",
            "Cannot save checkpoint: the client cancelled the call before it completed",
          );
        }
        const chunks = chunksSha256(saved.chunks.map((chunk) => chunk.sha256));
        const problem = trailerProblem(stream.trailer(), { ...saved, chunksSha256: chunks });
        if (problem !== undefined) throw problem;
      },
    }, stream.data);
    const seconds = (performance.now() - started) / 1000;
    checkpointsTotal.inc({ outcome: "ok" });
    checkpointBytesTotal.inc({ operation: "save" }, stream.receivedBytes());
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
      received_bytes: stream.receivedBytes(),
      error,
    });
    throw error;
  } finally {
    savesInProgress.dec();
  }
}

/**
 * Why bytes that arrived must not become a checkpoint, given the trailer the
 * client sent (if any); undefined if they may.
 */
export function trailerProblem(
  trailer: SaveCheckpointTrailer__Output | undefined,
  saved: { sizeBytes: number; sha256: string; chunksSha256: string },
): PulseError | undefined {
  if (trailer === undefined) return undefined;
  if (trailer.size_bytes !== saved.sizeBytes) {
    return new PulseError(
      "INVALID_ARGUMENT",
      `Cannot save checkpoint: trailer.size_bytes is ${trailer.size_bytes} but ${saved.sizeBytes} bytes arrived; nothing was committed`,
    );
  }
  if (trailer.sha256 !== "" && trailer.sha256 !== saved.sha256) {
    return new PulseError(
      "DATA_LOSS",
      `Cannot save checkpoint: the bytes that arrived hash to ${saved.sha256}, not to trailer.sha256 ${trailer.sha256}; nothing was committed`,
    );
  }
  if (trailer.chunks_sha256 !== "" && trailer.chunks_sha256 !== saved.chunksSha256) {
    return new PulseError(
      "DATA_LOSS",
      `Cannot save checkpoint: the chunks that arrived hash to ${saved.chunksSha256}, not to trailer.chunks_sha256 ${trailer.chunks_sha256}; nothing was committed`,
    );
  }
  return undefined;
}
