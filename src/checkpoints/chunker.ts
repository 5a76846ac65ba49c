/**
 * Cuts a byte stream into fixed-size chunks. It pulls from its source only
 * when its consumer asks for the next chunk, so a slow consumer slows the
 * source down instead of making memory grow.
 */

/**
 * Yields chunks of exactly `chunkBytes` bytes, then the rest (never empty).
 * Each chunk is a new buffer that the consumer owns.
 */
export async function* chunks(
  source: AsyncIterable<Uint8Array>,
  chunkBytes: number,
): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(chunkBytes);
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const n = Math.min(piece.length - offset, chunkBytes - filled);
      buffer.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === chunkBytes) {
        yield buffer;
        buffer = new Uint8Array(chunkBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
