/**
 * Saves: the shapes of bytes a save accepts, their cut into chunks of
 * `CHUNK_BYTES` as the runtime cuts them, each hashed once, the message
 * stream of a save (header, data messages or the names of a base's chunks,
 * trailer), written with grpc-js backpressure, incremental bases, and the
 * attempts of one save under one idempotency key.
 *
 * The twin of the Python SDK's `pulse/_checkpoint_save.py`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { setTimeout } from "node:timers/promises";
import type * as grpc from "@grpc/grpc-js";
import { type JsonObject, toStruct } from "@pulsecheckpoint/proto";
import { CHUNK_BYTES, chunksSha256, DATA_MESSAGE_BYTES } from "@pulsecheckpoint/proto/protocol";
import type {
  GetCheckpointRequest,
  SaveCheckpointRequest,
  Step__Output,
} from "@pulsecheckpoint/proto/types";
import type { Attempts, Channel } from "./_channel.ts";
import { directSave } from "./direct_save.ts";
import { PulseError, restated } from "./pulse_error.ts";
import { type Checkpoint, present, type ShardRef, toCheckpoint } from "./resources.ts";

/**
 * Bytes to save: all at once (a `Uint8Array`, which a retried save can send
 * again), or streamed (read once, as fast as the runtime takes them). A Node
 * `Readable` of Buffers is an `AsyncIterable<Uint8Array>`.
 */
export type CheckpointData =
  | Uint8Array
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | ReadableStream<Uint8Array>;

const ACTION = "save checkpoint";

/** The first message of a save. */
export interface SaveHeader {
  /** A registered worker. */
  workerId: string;
  /** Free JSON. */
  metadata: JsonObject;
  /** The same for every attempt of one save. */
  idempotencyKey: string;
  /** Where in a job the checkpoint belongs, for a shard (`workerId` may then be empty). */
  shard?: ShardRef;
}

/** A checkpoint whose chunks a save names by SHA-256 instead of sending them again. */
export interface SaveBase {
  /** The base checkpoint. */
  checkpointId: string;
  /** The hex SHA-256 of each of its chunks. */
  chunkSha256s: ReadonlySet<string>;
}

/** One chunk of a save's bytes and its hex SHA-256. */
export interface HashedChunk {
  /** The chunk's bytes: a view of the source's piece where one held it whole, a copy otherwise. */
  bytes: Uint8Array;
  /** Its hex SHA-256. */
  sha256: string;
}

/**
 * Saves a checkpoint: the worker's latest chunks first when `incremental`,
 * then the direct path (`direct_save.ts`) when the Runtime may use it, or
 * else attempts of the save through the stream, retried on UNAVAILABLE when `reopenable` (the
 * data can be read again: `data()` gives it anew), each with the same header,
 * idempotency key and base.
 *
 * @param channel the channel
 * @param header the worker, metadata and idempotency key
 * @param data gives the bytes, once per attempt
 * @param options whether the data can be read again, and whether to name a base's chunks
 * @returns the checkpoint
 * @throws {PulseError} the save's status; whatever reading the data throws, as is
 */
export async function saveCheckpoint(
  channel: Channel,
  header: SaveHeader,
  data: () => CheckpointData,
  options: { reopenable: boolean; incremental: boolean; parallelism?: number },
): Promise<Checkpoint> {
  const base = !options.incremental
    ? undefined
    : header.shard
    ? await previousShardChunks(channel, header.shard)
    : await latestChunks(channel, { worker_id: header.workerId });
  if (channel.direct.usable) {
    // The direct path when the runtime offers it and the bucket answers.
    const outcome = await directSave(channel, header, data(), base, {
      parallelism: options.parallelism ?? channel.direct.parallelism,
      reopenable: options.reopenable,
    });
    if ("checkpoint" in outcome) return outcome.checkpoint;
    const { replay } = outcome;
    if (replay !== undefined) data = () => replay;
  }
  let current = base;
  for (;;) {
    try {
      // Each attempt goes to the next replica, which shares the store: the
      // key finds a save that the replica before committed.
      return await channel.retrying(
        (attempts) => saveOnce(channel, attempts, header, data(), current),
        () => options.reopenable,
      );
    } catch (error) {
      // The runtime found a chunk of the base rotten: send that one in full.
      const rotten = options.reopenable ? rottenBaseChunk(error, current) : undefined;
      if (rotten === undefined) throw error;
      current = withoutChunk(current!, rotten);
    }
  }
}

// The base chunk a DATA_LOSS names as failing its SHA-256, if it is one of `base`.
function rottenBaseChunk(error: unknown, base: SaveBase | undefined): string | undefined {
  if (!(error instanceof PulseError) || error.code !== "DATA_LOSS" || base === undefined) {
    return undefined;
  }
  const named = /chunk ([0-9a-f]{64}) of base checkpoint/.exec(error.message)?.[1];
  return named !== undefined && base.chunkSha256s.has(named) ? named : undefined;
}

function withoutChunk(base: SaveBase, sha256: string): SaveBase {
  const chunkSha256s = new Set(base.chunkSha256s);
  chunkSha256s.delete(sha256);
  return { checkpointId: base.checkpointId, chunkSha256s };
}

// A checkpoint (the worker's latest, unless the request names one) and its
// chunks, or undefined if there is none.
async function latestChunks(
  channel: Channel,
  request: GetCheckpointRequest,
): Promise<SaveBase | undefined> {
  try {
    const response = await channel.unary(ACTION, "GetCheckpoint", {
      ...request,
      include_chunks: true,
    });
    return {
      checkpointId: present(response.checkpoint, "the checkpoint", ACTION).checkpoint_id,
      chunkSha256s: new Set(response.chunk_sha256s),
    };
  } catch (error) {
    if (error instanceof PulseError && error.code === "NOT_FOUND") return undefined;
    throw restated(error, ACTION);
  }
}

// The same rank's shard of the job's latest complete step and its chunks,
// or undefined if there is none.
async function previousShardChunks(
  channel: Channel,
  shard: ShardRef,
): Promise<SaveBase | undefined> {
  let step: Step__Output | null | undefined;
  try {
    ({ step } = await channel.unary(ACTION, "GetStep", { job_id: shard.jobId }));
  } catch (error) {
    if (error instanceof PulseError && error.code === "NOT_FOUND") return undefined;
    throw restated(error, ACTION);
  }
  const previous = step?.shards.find((s) => s.rank === shard.rank);
  if (previous === undefined || step!.world_size !== shard.worldSize) return undefined;
  return await latestChunks(channel, {
    job_id: shard.jobId,
    checkpoint_id: previous.checkpoint_id,
  });
}

function saveOnce(
  channel: Channel,
  attempts: Attempts,
  header: SaveHeader,
  data: CheckpointData,
  base: SaveBase | undefined,
): Promise<Checkpoint> {
  return new Promise<Checkpoint>((resolve, reject) => {
    const ended = new AbortController();
    const call = channel.saveCall(ACTION, attempts, (error, response) => {
      ended.abort();
      if (error) reject(error);
      else {
        try {
          resolve(toCheckpoint(present(response?.checkpoint, "the checkpoint", ACTION)));
        } catch (missing) {
          reject(missing);
        }
      }
    });
    writeSave(call, saveMessages(header, data, base), ended.signal).catch((error) => {
      // The source failed: end the call and report the source's error.
      reject(error);
      call.cancel();
    });
  });
}

/**
 * The messages of a save, in order: the header; the data cut into chunks of
 * {@linkcode CHUNK_BYTES} as the runtime cuts them, each hashed once and sent
 * in data messages of at most {@linkcode DATA_MESSAGE_BYTES}, or named by its
 * SHA-256 when `base` has it; then the trailer with the size and the hash of
 * the chunk list (without which the runtime commits nothing). Generated as
 * they are asked for: at most one chunk is held.
 *
 * @param header the worker, metadata and idempotency key
 * @param data the bytes
 * @param base the checkpoint whose chunks need not be sent, if any
 * @returns the messages
 * @throws whatever reading `data` throws
 */
export async function* saveMessages(
  header: SaveHeader,
  data: CheckpointData,
  base: SaveBase | undefined,
): AsyncGenerator<SaveCheckpointRequest> {
  yield {
    header: {
      worker_id: header.workerId,
      metadata: toStruct(header.metadata),
      idempotency_key: header.idempotencyKey,
      expect_trailer: true,
      base_checkpoint_id: base?.checkpointId ?? "",
      shard: header.shard && {
        job_id: header.shard.jobId,
        step: header.shard.step,
        rank: header.shard.rank,
        world_size: header.shard.worldSize,
        step_metadata: header.shard.stepMetadata,
      },
    },
  };
  const chunkSha256s: string[] = [];
  let sizeBytes = 0;
  for await (const chunk of hashedChunks(data)) {
    chunkSha256s.push(chunk.sha256);
    sizeBytes += chunk.bytes.length;
    if (base?.chunkSha256s.has(chunk.sha256)) {
      yield { chunk_sha256: chunk.sha256 };
    } else {
      for (let offset = 0; offset < chunk.bytes.length; offset += DATA_MESSAGE_BYTES) {
        yield { data: chunk.bytes.subarray(offset, offset + DATA_MESSAGE_BYTES) };
      }
    }
    // Writes that grpc-js takes at once (a name always, data under Deno 2.8.3)
    // go out only when the event loop gets a turn: give it one before the next
    // chunk is hashed, so that sending and hashing overlap. A timer's turn (2 ms
    // under Deno 2.8.3), not setImmediate's (microseconds): measured there, it
    // lets the connection send more, so that saves with data to send finish
    // sooner (those that only name chunks a little later).
    await setTimeout(0);
  }
  // The runtime commits only after the trailer, and checks the chunks against it.
  yield { trailer: { size_bytes: sizeBytes, chunks_sha256: chunksSha256(chunkSha256s) } };
}

/**
 * Cuts bytes into chunks of {@linkcode CHUNK_BYTES} (the last one shorter)
 * and hashes each.
 *
 * @param data the bytes, in pieces of any size
 * @returns the chunks and their hex SHA-256, one at a time
 * @throws whatever reading `data` throws
 */
export async function* hashedChunks(data: CheckpointData): AsyncGenerator<HashedChunk> {
  for await (const bytes of chunked(pieces(data))) {
    yield { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
  }
}

// Cuts pieces into chunks of CHUNK_BYTES, then the rest: views of a piece
// where one holds a whole chunk, copies otherwise.
async function* chunked(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let buffer: Uint8Array | undefined;
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      if (buffer === undefined && piece.length - offset >= CHUNK_BYTES) {
        yield piece.subarray(offset, offset + CHUNK_BYTES);
        offset += CHUNK_BYTES;
        continue;
      }
      buffer ??= new Uint8Array(CHUNK_BYTES);
      const n = Math.min(piece.length - offset, CHUNK_BYTES - filled);
      buffer.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === CHUNK_BYTES) {
        yield buffer;
        buffer = undefined;
        filled = 0;
      }
    }
  }
  if (buffer !== undefined) yield buffer.subarray(0, filled);
}

/**
 * Writes a save's messages to its call. It waits for the call to drain
 * whenever grpc-js says its buffer is full, so that no more than that buffer
 * and one chunk are ever held, whatever the size of the data.
 *
 * Stops quietly when the call ends early (the runtime answered, failed, or the
 * call was cancelled): the call's status says why, not this function.
 * Stopping closes the messages' source (an iterator's return()).
 *
 * @param call the SaveCheckpoint call
 * @param messages the save's messages
 * @param ended aborted when the call has its status: grpc-js then neither
 * drains nor closes the stream, so this is what stops a waiting writer
 * @throws whatever reading the messages throws; the caller then cancels the call
 */
export async function writeSave(
  call: grpc.ClientWritableStream<SaveCheckpointRequest>,
  messages: AsyncIterable<SaveCheckpointRequest>,
  ended: AbortSignal,
): Promise<void> {
  for await (const message of messages) {
    if (!await write(call, message, ended)) return;
  }
  if (!ended.aborted && !call.destroyed) call.end();
}

// Writes one message; resolves to false if the call ended instead.
function write(
  call: grpc.ClientWritableStream<SaveCheckpointRequest>,
  message: SaveCheckpointRequest,
  ended: AbortSignal,
): Promise<boolean> {
  if (ended.aborted || call.destroyed || call.writableEnded) {
    return Promise.resolve(false);
  }
  if (call.write(message)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const settle = (drained: boolean) => {
      call.off("drain", onDrain);
      call.off("close", onEnd);
      ended.removeEventListener("abort", onEnd);
      resolve(drained);
    };
    const onDrain = () => settle(true);
    const onEnd = () => settle(false);
    call.once("drain", onDrain);
    call.once("close", onEnd);
    ended.addEventListener("abort", onEnd, { once: true });
  });
}

function pieces(data: CheckpointData): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (data instanceof Uint8Array) return [data];
  if (data instanceof ReadableStream) return readAll(data);
  return data;
}

async function* readAll(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    // A save that ended early cancels its source, as fetch() does with a body.
    if (finished) reader.releaseLock();
    else await reader.cancel().catch(() => {});
  }
}
