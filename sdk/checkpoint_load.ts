/**
 * Loads: the checkpoint and its chunk list first (`GetCheckpoint` with
 * `include_chunks`, which pins the latest checkpoint's id), then its bytes in
 * windows of `LoadCheckpoint` calls (`offset` and `length`), resumed from the
 * last byte received when a window is cut by UNAVAILABLE; each 8 MiB chunk is
 * checked against its size and SHA-256 before any byte of it is passed on,
 * and the whole against the checkpoint's size and SHA-256 at the end. Then
 * collected into memory, or written to a file that appears whole or not at
 * all.
 *
 * The twin of the Python SDK's `pulse/_checkpoint_load.py`.
 *
 * @module
 */
import { createHash, type Hash, randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CHUNK_BYTES, LOAD_WINDOW_BYTES } from "@pulsecheckpoint/proto/protocol";
import type {
  Checkpoint__Output,
  LoadCheckpointResponse__Output,
} from "@pulsecheckpoint/proto/types";
import type { Attempts, Channel } from "./_channel.ts";
import { directLoadStream } from "./direct_load.ts";
import { PulseError, restated } from "./pulse_error.ts";
import { type Checkpoint, present, toCheckpoint } from "./resources.ts";

const ACTION = "load checkpoint";

/** A checkpoint being loaded. */
export interface CheckpointStream {
  /** The checkpoint. */
  checkpoint: Checkpoint;
  /**
   * Its bytes, read from the runtime as fast as they are consumed. Iterate it
   * to the end or break out of it: until then the call stays open. Each 8 MiB
   * chunk is passed on only once all its bytes arrived and matched its size
   * and SHA-256, and the last one only once the whole matched the
   * checkpoint's size and SHA-256: otherwise the stream throws a
   * {@linkcode PulseError} with code DATA_LOSS naming the checkpoint and the
   * chunk, and no byte of that chunk is passed on.
   */
  stream: AsyncIterable<Uint8Array>;
}

/** A loaded checkpoint and its bytes. */
export interface LoadedCheckpoint {
  /** The checkpoint. */
  checkpoint: Checkpoint;
  /** Its bytes, checked chunk by chunk and whole against their sizes and SHA-256s. */
  data: Uint8Array;
}

/**
 * Opens a load: through the direct path (`direct_load.ts`) when the Runtime
 * may use it and the runtime offers it, else through the stream (below).
 *
 * @param channel the channel
 * @param workerId the worker
 * @param checkpointId the checkpoint; empty for the latest
 * @param jobId the job whose checkpoint it is (a shard); empty for the worker's own
 * @param parallelism chunk requests at once on the direct path; the Runtime's by default
 * @returns the checkpoint and its checked bytes
 * @throws {PulseError} NOT_FOUND if there is no such checkpoint
 */
export async function loadCheckpointStream(
  channel: Channel,
  workerId: string,
  checkpointId: string,
  jobId = "",
  parallelism?: number,
): Promise<CheckpointStream> {
  if (channel.direct.usable) {
    const direct = await directLoadStream(
      channel,
      { workerId, checkpointId, jobId },
      parallelism ?? channel.direct.parallelism,
      (pinned) => streamLoad(channel, workerId, pinned, jobId),
    );
    if (direct !== undefined) return direct;
  }
  return await streamLoad(channel, workerId, checkpointId, jobId);
}

/**
 * Opens a load through the stream: describes the checkpoint with its chunk list (the latest when
 * `checkpointId` is empty; its id then names it in every window), and
 * returns its bytes as a stream that loads and checks them as it is read.
 *
 * @param channel the channel
 * @param workerId the worker
 * @param checkpointId the checkpoint; empty for the latest
 * @param jobId the job whose checkpoint it is (a shard); empty for the worker's own
 * @returns the checkpoint and its checked bytes
 * @throws {PulseError} NOT_FOUND if there is no such checkpoint, DATA_LOSS if
 * its chunk list does not fit its size
 */
export async function streamLoad(
  channel: Channel,
  workerId: string,
  checkpointId: string,
  jobId = "",
): Promise<CheckpointStream> {
  const response = await channel.unary(ACTION, "GetCheckpoint", {
    worker_id: workerId,
    job_id: jobId,
    checkpoint_id: checkpointId,
    include_chunks: true,
  }).catch((error) => {
    throw restated(error, ACTION);
  });
  const described = present(response.checkpoint, "the checkpoint", ACTION);
  const verifier = new ChunkVerifier(toCheckpoint(described), response.chunk_sha256s);
  return {
    checkpoint: verifier.checkpoint,
    // The windows' turn is taken now, right after the description's, as the
    // Python SDK takes it, not when the caller starts reading.
    stream: verified(verifier, windows(channel, described, channel.attempts())),
  };
}

/**
 * Checks a checkpoint's bytes chunk by chunk as they arrive: it holds the
 * bytes of one chunk until they are all there, checks them against the
 * chunk's SHA-256 (every chunk is `CHUNK_BYTES` but the last), and only then
 * hands them on; the last chunk is held until {@linkcode ChunkVerifier.finish}
 * has checked the total size and the whole SHA-256.
 */
export class ChunkVerifier {
  /** The checkpoint the bytes must match. */
  readonly checkpoint: Checkpoint;
  #chunkSha256s: readonly string[];
  #whole: Hash = createHash("sha256");
  #chunk: Hash = createHash("sha256");
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #index = 0;
  #received = 0;

  /**
   * @param checkpoint what the bytes must match
   * @param chunkSha256s the hex SHA-256 of each of its chunks, in order
   * @throws {PulseError} DATA_LOSS if there are not as many chunks as its size makes
   */
  constructor(checkpoint: Checkpoint, chunkSha256s: readonly string[]) {
    this.checkpoint = checkpoint;
    this.#chunkSha256s = chunkSha256s;
    const chunks = Math.ceil(checkpoint.sizeBytes / CHUNK_BYTES);
    if (chunkSha256s.length !== chunks) {
      throw this.#dataLoss(
        `its chunk list names ${chunkSha256s.length} chunks, its ${checkpoint.sizeBytes} bytes make ${chunks}`,
      );
    }
  }

  /**
   * Takes the next piece of the bytes.
   *
   * @param piece the next bytes
   * @returns the pieces of every chunk this piece completed and that matched, in order
   * @throws {PulseError} DATA_LOSS if a completed chunk does not match its
   * SHA-256, or bytes arrive past the checkpoint's size
   */
  push(piece: Uint8Array): Uint8Array[] {
    const released: Uint8Array[] = [];
    for (let offset = 0; offset < piece.length;) {
      if (this.#index === this.#chunkSha256s.length) {
        throw this.#dataLoss(`more than its ${this.checkpoint.sizeBytes} bytes arrived`);
      }
      const part = piece.subarray(offset, offset + this.#chunkBytes() - this.#heldBytes);
      this.#chunk.update(part);
      this.#held.push(part);
      this.#heldBytes += part.length;
      this.#received += part.length;
      offset += part.length;
      if (this.#heldBytes === this.#chunkBytes()) released.push(...this.#endChunk());
    }
    return released;
  }

  /**
   * Ends the bytes.
   *
   * @returns the pieces of the last chunk
   * @throws {PulseError} DATA_LOSS if fewer bytes than the checkpoint's size
   * arrived, or they do not hash to its SHA-256
   */
  finish(): Uint8Array[] {
    const { sizeBytes, sha256 } = this.checkpoint;
    if (this.#received !== sizeBytes) {
      throw this.#dataLoss(
        `it ended after ${this.#received} of ${sizeBytes} bytes, in chunk ${this.#index}`,
      );
    }
    const whole = this.#whole.digest("hex");
    if (whole !== sha256) throw this.#dataLoss(`its bytes hash to ${whole}, not to ${sha256}`);
    return this.#release();
  }

  // Checks the chunk just completed; hands it on unless it is the last one.
  #endChunk(): Uint8Array[] {
    const sha256 = this.#chunk.digest("hex");
    const expected = this.#chunkSha256s[this.#index]!;
    if (sha256 !== expected) {
      throw this.#dataLoss(`chunk ${this.#index} hashes to ${sha256}, not to ${expected}`);
    }
    for (const part of this.#held) this.#whole.update(part);
    this.#index++;
    this.#chunk = createHash("sha256");
    return this.#index === this.#chunkSha256s.length ? [] : this.#release();
  }

  #release(): Uint8Array[] {
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    return held;
  }

  // Every chunk is CHUNK_BYTES but the last, which holds the rest.
  #chunkBytes(): number {
    return Math.min(CHUNK_BYTES, this.checkpoint.sizeBytes - this.#index * CHUNK_BYTES);
  }

  #dataLoss(reason: string): PulseError {
    return new PulseError(
      "DATA_LOSS",
      `Cannot load checkpoint ${this.checkpoint.checkpointId}: ${reason}`,
    );
  }
}

// Passes the bytes through the verifier: what it hands on, then the last chunk.
async function* verified(
  verifier: ChunkVerifier,
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  for await (const piece of source) yield* verifier.push(piece);
  yield* verifier.finish();
}

// The checkpoint's bytes, a window at a time from the last byte received.
// The windows go to one replica while it answers; a window cut by
// UNAVAILABLE is asked for again from the next replica at once, from the
// first byte not received (the verifier holds the bytes of the chunk under
// way and checks them with the rest), and the retry policy counts rounds over
// the replicas since the last progress, as the Python SDK's load does. A
// window that brings no byte where bytes remain ends the load: asking again
// would only loop.
async function* windows(
  channel: Channel,
  checkpoint: Checkpoint__Output,
  attempts: Attempts,
): AsyncGenerator<Uint8Array> {
  let offset = 0;
  while (offset < checkpoint.size_bytes) {
    const start = offset;
    try {
      for await (const piece of window(channel, checkpoint, offset, attempts)) {
        offset += piece.length;
        yield piece;
      }
      if (offset === start) {
        throw new PulseError(
          "DATA_LOSS",
          `Cannot load checkpoint ${checkpoint.checkpoint_id}: the runtime sent no bytes from offset ${offset} (chunk ${
            Math.floor(offset / CHUNK_BYTES)
          }), ${checkpoint.size_bytes - offset} bytes before its end`,
        );
      }
    } catch (error) {
      if (offset > start) attempts.progressed();
      if (!(await attempts.retry(error))) throw error;
      continue;
    }
    attempts.progressed();
  }
}

// One LoadCheckpoint call for up to LOAD_WINDOW_BYTES from `offset`, of the
// checkpoint the load described. Loads go in windows: the runtime's HTTP/2
// server (Deno's node:http2) does not hold back a server stream for a slow
// reader, so one call for a whole checkpoint would let the runtime buffer all
// of it; a window bounds that, and a cut load resumes from the last byte
// received.
async function* window(
  channel: Channel,
  checkpoint: Checkpoint__Output,
  offset: number,
  attempts: Attempts,
): AsyncGenerator<Uint8Array> {
  const replica = attempts.index;
  const call = channel.loadCall(ACTION, {
    worker_id: checkpoint.worker_id,
    job_id: checkpoint.shard?.job_id ?? "",
    checkpoint_id: checkpoint.checkpoint_id,
    offset,
    length: LOAD_WINDOW_BYTES,
  }, attempts);
  // Read by hand, not with for await: leaving such a loop early would destroy
  // grpc-js's stream under the call instead of cancelling the call.
  const messages = call[Symbol.asyncIterator]() as AsyncIterator<LoadCheckpointResponse__Output>;
  try {
    let first = true;
    for (let next = await messages.next(); !next.done; next = await messages.next()) {
      const message = next.value;
      if (first) {
        checkSame(checkpoint, message.checkpoint);
        first = false;
        continue;
      }
      if (message.payload !== "data" || message.data === undefined) {
        throw new PulseError(
          "INTERNAL",
          `Cannot load checkpoint ${checkpoint.checkpoint_id}: the runtime sent a ${message.payload} message among the data`,
        );
      }
      const { data } = message;
      // A plain view of grpc-js's Buffer, without copying it.
      yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    if (first) throw notFirst();
  } catch (error) {
    throw channel.error(ACTION, error, replica);
  } finally {
    call.cancel(); // a no-op once the call has ended
  }
}

// A window's first message describes the checkpoint the load described.
function checkSame(described: Checkpoint__Output, first: Checkpoint__Output | null | undefined) {
  if (!first) throw notFirst();
  const same = first.checkpoint_id === described.checkpoint_id &&
    first.size_bytes === described.size_bytes && first.sha256 === described.sha256;
  if (!same) {
    throw new PulseError(
      "DATA_LOSS",
      `Cannot load checkpoint ${described.checkpoint_id}: it changed between two windows of the load (a window described ${first.checkpoint_id}, ${first.size_bytes} bytes, SHA-256 ${first.sha256})`,
    );
  }
}

function notFirst(): PulseError {
  return new PulseError(
    "INTERNAL",
    "Cannot load checkpoint: the runtime did not send the checkpoint first",
  );
}

/**
 * Collects a checkpoint's bytes into one array of its size.
 *
 * @param checkpoint the checkpoint, for its size
 * @param source its bytes, as a {@linkcode CheckpointStream} gives them
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
