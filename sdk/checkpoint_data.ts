/**
 * Checkpoint bytes on their way in and out: the shapes a save accepts, the
 * client-streaming writer that respects grpc-js backpressure, the end-to-end
 * check of loaded bytes against the checkpoint's size and SHA-256, and files
 * written so that a reader never sees half of one.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout } from "node:timers/promises";
import type * as grpc from "@grpc/grpc-js";
import { PulseError } from "./pulse_error.ts";
import type { Checkpoint } from "./resources.ts";
import { type JsonObject, toStruct } from "@pulsecheckpoint/proto";
import { CHUNK_BYTES, chunksSha256 } from "@pulsecheckpoint/proto/protocol";

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

/** Size of the data messages a save sends. */
export const SAVE_MESSAGE_BYTES = 1024 * 1024;

/** The first message of a save. */
export interface SaveHeader {
  workerId: string;
  metadata: JsonObject;
  idempotencyKey: string;
}

/** A checkpoint whose chunks a save names by SHA-256 instead of sending them again. */
export interface SaveBase {
  checkpointId: string;
  chunkSha256s: ReadonlySet<string>;
}

// deno-lint-ignore no-explicit-any
type Message = any;

/**
 * Sends a save's header, then its data cut into chunks of
 * {@linkcode CHUNK_BYTES} as the runtime cuts them: each chunk is hashed, and
 * sent in messages of at most {@linkcode SAVE_MESSAGE_BYTES}, or named by its
 * SHA-256 when `base` has it. Then the trailer with the size and the hash of
 * the chunk list (without which the runtime commits nothing). It waits for the
 * call to drain whenever grpc-js says its buffer is full, so that no more than
 * that buffer and one chunk are ever held, whatever the size of the data.
 *
 * Stops quietly when the call ends early (the runtime answered, failed, or the
 * call was cancelled): the call's status says why, not this function.
 *
 * @param call the SaveCheckpoint call
 * @param header the worker, metadata and idempotency key
 * @param data the bytes
 * @param base the checkpoint whose chunks need not be sent, if any
 * @param ended aborted when the call has its status: grpc-js then neither
 * drains nor closes the stream, so this is what stops a waiting writer
 * @throws whatever reading `data` throws; the caller then cancels the call
 */
export async function writeSave(
  call: grpc.ClientWritableStream<Message>,
  header: SaveHeader,
  data: CheckpointData,
  base: SaveBase | undefined,
  ended: AbortSignal,
): Promise<void> {
  const first = {
    header: {
      worker_id: header.workerId,
      metadata: toStruct(header.metadata),
      idempotency_key: header.idempotencyKey,
      expect_trailer: true,
      base_checkpoint_id: base?.checkpointId ?? "",
    },
  };
  if (!await write(call, first, ended)) return;
  const chunkSha256s: string[] = [];
  let sizeBytes = 0;
  // Returning from the loop closes the source (an iterator's return()).
  for await (const chunk of chunked(pieces(data))) {
    const sha256 = createHash("sha256").update(chunk).digest("hex");
    chunkSha256s.push(sha256);
    sizeBytes += chunk.length;
    if (base?.chunkSha256s.has(sha256)) {
      if (!await write(call, { chunk_sha256: sha256 }, ended)) return;
    } else {
      for (let offset = 0; offset < chunk.length; offset += SAVE_MESSAGE_BYTES) {
        const message = { data: chunk.subarray(offset, offset + SAVE_MESSAGE_BYTES) };
        if (!await write(call, message, ended)) return;
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
  const trailer = {
    trailer: { size_bytes: sizeBytes, chunks_sha256: chunksSha256(chunkSha256s) },
  };
  if (!await write(call, trailer, ended)) return;
  if (!ended.aborted && !call.destroyed) call.end();
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

// Writes one message; resolves to false if the call ended instead.
function write(
  call: grpc.ClientWritableStream<Message>,
  message: Message,
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

function pieces(
  data: CheckpointData,
): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (data instanceof Uint8Array) return [data];
  if (data instanceof ReadableStream) return readAll(data);
  return data;
}

async function* readAll(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
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

/**
 * Passes a checkpoint's bytes through, checking them against the checkpoint's
 * size and SHA-256 as they go: the runtime verifies every chunk it reads, and
 * this check covers the way from there to here.
 *
 * @param checkpoint what the bytes must match
 * @param source the bytes
 * @returns the same bytes
 * @throws {PulseError} DATA_LOSS if there are more or fewer bytes than the
 * checkpoint's size, or they do not hash to its SHA-256
 */
export async function* verified(
  checkpoint: Checkpoint,
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const hash = createHash("sha256");
  let received = 0;
  for await (const piece of source) {
    received += piece.length;
    if (received > checkpoint.sizeBytes) {
      throw dataLoss(checkpoint, `more than its ${checkpoint.sizeBytes} bytes arrived`);
    }
    hash.update(piece);
    yield piece;
  }
  if (received !== checkpoint.sizeBytes) {
    throw dataLoss(
      checkpoint,
      `it ended after ${received} of ${checkpoint.sizeBytes} bytes`,
    );
  }
  const sha256 = hash.digest("hex");
  if (sha256 !== checkpoint.sha256) {
    throw dataLoss(
      checkpoint,
      `its bytes hash to ${sha256}, not to ${checkpoint.sha256}`,
    );
  }
}

function dataLoss(checkpoint: Checkpoint, reason: string): PulseError {
  return new PulseError(
    "DATA_LOSS",
    `Cannot load checkpoint ${checkpoint.checkpointId}: ${reason}`,
  );
}

/**
 * Collects a checkpoint's bytes into one array of its size.
 *
 * @param checkpoint the checkpoint, for its size
 * @param source its bytes, already {@linkcode verified}
 * @returns the bytes
 */
export async function collect(
  checkpoint: Checkpoint,
  source: AsyncIterable<Uint8Array>,
): Promise<Uint8Array> {
  const data = new Uint8Array(checkpoint.sizeBytes);
  let offset = 0;
  for await (const piece of source) {
    data.set(piece, offset);
    offset += piece.length;
  }
  return data;
}

/**
 * Writes bytes to a file so that the file appears whole or not at all: to a
 * temporary file beside it, awaiting each write (the source is read no faster
 * than the disk takes it), flushed to disk, then renamed over `path`.
 *
 * @param path the file to write
 * @param source the bytes
 * @throws whatever the source or the file system throws; the temporary file
 * is then removed and `path` is left as it was
 */
export async function writeFileAtomically(
  path: string,
  source: AsyncIterable<Uint8Array>,
): Promise<void> {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${randomUUID()}.partial`,
  );
  const file = await open(temporary, "wx");
  try {
    try {
      for await (const piece of source) {
        let written = 0;
        while (written < piece.length) {
          const { bytesWritten } = await file.write(piece, written);
          written += bytesWritten;
        }
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
