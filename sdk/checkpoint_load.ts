/**
 * Loads: a checkpoint read in windows of `LoadCheckpoint` calls (`offset`
 * and `length`), resumed from the last byte received when a window is cut by
 * UNAVAILABLE, checked against the checkpoint's size and SHA-256, collected
 * into memory or written to a file that appears whole or not at all.
 *
 * The twin of the Python SDK's `pulse/_checkpoint_load.py`.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { LOAD_WINDOW_BYTES } from "@pulsecheckpoint/proto/protocol";
import type { LoadCheckpointResponse__Output } from "@pulsecheckpoint/proto/types";
import type { Channel } from "./_channel.ts";
import { retryDelayMs } from "./retry.ts";
import { PulseError, toPulseError } from "./pulse_error.ts";
import { type Checkpoint, toCheckpoint } from "./resources.ts";

const ACTION = "load checkpoint";

/** A checkpoint being loaded. */
export interface CheckpointStream {
  /** The checkpoint. */
  checkpoint: Checkpoint;
  /**
   * Its bytes, read from the runtime as fast as they are consumed. Iterate it
   * to the end or break out of it: until then the call stays open. It throws
   * a {@linkcode PulseError} with code DATA_LOSS, after its last piece, if the
   * bytes do not match the checkpoint's size and SHA-256.
   */
  stream: AsyncIterable<Uint8Array>;
}

/** A loaded checkpoint and its bytes. */
export interface LoadedCheckpoint {
  /** The checkpoint. */
  checkpoint: Checkpoint;
  /** Its bytes, checked against its size and SHA-256. */
  data: Uint8Array;
}

/**
 * Opens a load: the first window names the checkpoint (the latest when
 * `checkpointId` is empty), and the stream asks every later window for that
 * same checkpoint.
 *
 * @param channel the channel
 * @param workerId the worker
 * @param checkpointId the checkpoint; empty for the latest
 * @returns the checkpoint and its checked bytes
 * @throws {PulseError} NOT_FOUND if there is no such checkpoint
 */
export async function loadCheckpointStream(
  channel: Channel,
  workerId: string,
  checkpointId: string,
): Promise<CheckpointStream> {
  const first = await channel.retrying(() => openWindow(channel, workerId, checkpointId, 0));
  const { checkpoint } = first;
  return { checkpoint, stream: verified(checkpoint, windows(channel, checkpoint, first.stream)) };
}

// The checkpoint's bytes from the first window on, each further window
// asked for from the last byte received; a window cut by UNAVAILABLE is
// asked for again, up to the retry policy's attempts without progress.
async function* windows(
  channel: Channel,
  checkpoint: Checkpoint,
  first: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let window: AsyncIterable<Uint8Array> | undefined = first;
  for (let failures = 0;;) {
    try {
      window ??= (await openWindow(
        channel,
        checkpoint.workerId,
        checkpoint.checkpointId,
        offset,
      )).stream;
      const start = offset;
      for await (const piece of window) {
        offset += piece.length;
        failures = 0;
        yield piece;
      }
      if (offset >= checkpoint.sizeBytes) return;
      if (offset === start) {
        throw new PulseError(
          "INTERNAL",
          `Cannot load checkpoint ${checkpoint.checkpointId}: the runtime sent no bytes from offset ${offset}`,
        );
      }
    } catch (error) {
      failures++;
      if (failures >= channel.retry.maxAttempts || !channel.retryable(error)) throw error;
      await channel.backOff(retryDelayMs(failures, channel.retry));
    }
    window = undefined;
  }
}

// One LoadCheckpoint call for up to LOAD_WINDOW_BYTES from `offset`. Loads
// go in windows: the runtime's HTTP/2 server (Deno's node:http2) does not hold
// back a server stream for a slow reader, so one call for a whole checkpoint
// would let the runtime buffer all of it; a window bounds that, and a cut load
// resumes from the last byte received.
async function openWindow(
  channel: Channel,
  workerId: string,
  checkpointId: string,
  offset: number,
): Promise<CheckpointStream> {
  const call = channel.loadCall(ACTION, {
    worker_id: workerId,
    checkpoint_id: checkpointId,
    offset,
    length: LOAD_WINDOW_BYTES,
  });
  const messages = call[Symbol.asyncIterator]() as AsyncIterator<LoadCheckpointResponse__Output>;
  let first: IteratorResult<LoadCheckpointResponse__Output>;
  try {
    first = await messages.next();
  } catch (error) {
    call.cancel();
    throw toPulseError(error);
  }
  if (first.done || first.value.payload !== "checkpoint" || !first.value.checkpoint) {
    call.cancel();
    throw new PulseError(
      "INTERNAL",
      "Cannot load checkpoint: the runtime did not send the checkpoint first",
    );
  }
  return { checkpoint: toCheckpoint(first.value.checkpoint), stream: rest(messages, call) };
}

// The data messages after the first, as byte pieces, with errors as PulseErrors.
async function* rest(
  messages: AsyncIterator<LoadCheckpointResponse__Output>,
  call: grpc.ClientReadableStream<LoadCheckpointResponse__Output>,
): AsyncGenerator<Uint8Array> {
  try {
    while (true) {
      const next = await messages.next();
      if (next.done) return;
      const data = next.value.data ?? new Uint8Array();
      // A plain view of grpc-js's Buffer, without copying it.
      yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
  } catch (error) {
    throw toPulseError(error);
  } finally {
    call.cancel(); // a no-op once the call has ended
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
