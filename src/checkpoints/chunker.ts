/**
 * Cuts a byte stream into fixed-size chunks, in buffers from the pool that
 * all saves share (`chunk_buffers.ts`). It pulls from its source only when its
 * consumer asks for the next chunk, so a slow consumer slows the source down
 * instead of making memory grow.
 */
import { PulseError } from "../errors.ts";
import type { ChunkBuffers } from "./chunk_buffers.ts";

/** A chunk the client names by SHA-256 instead of sending its bytes. */
export interface NamedChunk {
  sha256: string;
}

/**
 * Yields chunks of exactly `buffers.chunkBytes` bytes, then the rest (never
 * empty), and passes named chunks through where they come, which must be at a
 * chunk boundary. Each chunk of bytes is a buffer from `buffers`, which the
 * consumer owns and must release; a buffer not yet yielded when the source
 * fails or the consumer stops is released here. A buffer is taken only once
 * a byte for it has arrived: a save holds none before its first data byte.
 * @param signal stops a wait for a buffer when it fires (the client has gone)
 * @throws {PulseError} INVALID_ARGUMENT for a named chunk within a chunk of
 *   bytes; what `buffers.acquire` throws
 */
export async function* chunks(
  source: AsyncIterable<Uint8Array | NamedChunk>,
  buffers: ChunkBuffers,
  signal?: AbortSignal,
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
        buffer ??= await buffers.acquire(signal);
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
