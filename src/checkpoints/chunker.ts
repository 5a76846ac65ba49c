/**
 * Cuts a byte stream into fixed-size chunks, in buffers from a pool that all
 * saves share. It pulls from its source only when its consumer asks for the
 * next chunk, so a slow consumer slows the source down instead of making
 * memory grow; and the pool bounds the chunk memory of all saves together,
 * however many run at once.
 */
import type { Hash } from "node:crypto";
import { setImmediate } from "node:timers/promises";
import { PulseError } from "../errors.ts";
import { HASH_SLICE_BYTES } from "../limits.ts";

/**
 * A fixed number of chunk-sized buffers shared by every save: the runtime's
 * memory for checkpoint bytes on their way to the store. A save waits for a
 * buffer when all are taken, and its gRPC stream waits with it. Buffers are
 * reused rather than left to the garbage collector, so the memory they take
 * is what they are, not what the collector has not yet freed.
 */
export class ChunkBuffers {
  readonly #free: ArrayBuffer[] = [];
  readonly #waiting: ((buffer: ArrayBuffer) => void)[] = [];
  #allocated = 0;

  /**
   * @param count most buffers at once
   * @param chunkBytes the size of each, the size of every chunk but the last
   */
  constructor(readonly count: number, readonly chunkBytes: number) {}

  /** A buffer of `chunkBytes`, when one is free. */
  async acquire(): Promise<Uint8Array> {
    const free = this.#free.pop();
    if (free !== undefined) return new Uint8Array(free);
    if (this.#allocated < this.count) {
      this.#allocated++;
      return new Uint8Array(this.chunkBytes);
    }
    return new Uint8Array(await new Promise<ArrayBuffer>((resolve) => this.#waiting.push(resolve)));
  }

  /** Gives back a buffer from `acquire()` (or a view of one); it must no longer be used. */
  release(chunk: Uint8Array): void {
    const buffer = chunk.buffer as ArrayBuffer;
    const next = this.#waiting.shift();
    if (next !== undefined) next(buffer);
    else this.#free.push(buffer);
  }

  /** Saves waiting for a buffer. */
  get waiting(): number {
    return this.#waiting.length;
  }
}

/** A chunk the client names by SHA-256 instead of sending its bytes. */
export interface NamedChunk {
  sha256: string;
}

/**
 * Yields chunks of exactly `buffers.chunkBytes` bytes, then the rest (never
 * empty), and passes named chunks through where they come, which must be at a
 * chunk boundary. Each chunk of bytes is a buffer from `buffers`, which the
 * consumer owns and must release; a buffer not yet yielded when the source
 * fails or the consumer stops is released here.
 * @throws {PulseError} INVALID_ARGUMENT for a named chunk within a chunk of bytes
 */
export async function* chunks(
  source: AsyncIterable<Uint8Array | NamedChunk>,
  buffers: ChunkBuffers,
): AsyncGenerator<Uint8Array | NamedChunk> {
  let buffer: Uint8Array | undefined;
  let filled = 0;
  try {
    for await (const piece of source) {
      if (!(piece instanceof Uint8Array)) {
        if (buffer !== undefined) {
          throw new PulseError(
            "INVALID_ARGUMENT",
            `Cannot save checkpoint: chunk_sha256 ${piece.sha256} follows ${filled} bytes of a chunk; a named chunk must start at a chunk boundary (every ${buffers.chunkBytes} bytes of data)`,
          );
        }
        yield piece;
        continue;
      }
      let offset = 0;
      while (offset < piece.length) {
        buffer ??= await buffers.acquire();
        const n = Math.min(piece.length - offset, buffer.length - filled);
        buffer.set(piece.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === buffer.length) {
          const full = buffer;
          buffer = undefined;
          filled = 0;
          yield full;
        }
      }
    }
    if (buffer !== undefined) {
      const rest = buffer.subarray(0, filled);
      buffer = undefined;
      yield rest;
    }
  } finally {
    if (buffer !== undefined) buffers.release(buffer);
  }
}

/**
 * Feeds `bytes` to `hash` {@linkcode HASH_SLICE_BYTES} at a time, letting the
 * event loop run between slices: hashing a chunk whole would hold every other
 * call on the runtime back for milliseconds.
 */
export async function hashInSlices(hash: Hash, bytes: Uint8Array): Promise<Hash> {
  for (let offset = 0; offset < bytes.length; offset += HASH_SLICE_BYTES) {
    if (offset > 0) await setImmediate();
    hash.update(bytes.subarray(offset, offset + HASH_SLICE_BYTES));
  }
  return hash;
}
