/**
 * The one rule of chunk sizes, whichever way a save's chunks arrive: every
 * chunk but the last is CHUNK_BYTES, and the whole stays within the largest
 * checkpoint allowed.
 */
import { PulseError } from "../errors.ts";
import { CHUNK_BYTES } from "../limits.ts";

/**
 * Checks that a chunk of `size` bytes may follow `chunks` (their sizes, in
 * order, adding up to `sizeBytes`).
 * @throws {PulseError} INVALID_ARGUMENT when a short chunk would not be the
 *   last, RESOURCE_EXHAUSTED beyond `checkpointBytesMax`
 */
export function checkNextChunk(
  chunks: readonly { size: number }[],
  sizeBytes: number,
  size: number,
  checkpointBytesMax: number,
): void {
  const last = chunks.at(-1);
  if (last !== undefined && last.size < CHUNK_BYTES) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot save checkpoint: bytes follow chunk ${
        chunks.length - 1
      }, which is shorter than ${CHUNK_BYTES} bytes; only the last chunk may be`,
    );
  }
  if (sizeBytes + size > checkpointBytesMax) {
    throw new PulseError(
      "RESOURCE_EXHAUSTED",
      `Cannot save checkpoint: it is larger than ${checkpointBytesMax} bytes, the limit (limits.checkpoint_bytes_max)`,
    );
  }
}
