/**
 * Every wire constant of the PulseCheckpoint contract, in one place: the
 * runtime and both SDKs take them from here (the Python SDK from
 * `sdk/python/pulse/_protocol.py`, generated from this module by
 * `deno task proto`), so that no chunk size, message size or window is
 * written twice.
 *
 * @module
 */
import { createHash } from "node:crypto";

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * Size of every chunk of a checkpoint but the last: bytes are cut at
 * multiples of it and each chunk is stored once, under its SHA-256. A save
 * that names chunks instead of sending them cuts its bytes the same way.
 */
export const CHUNK_BYTES = 8 * MIB;

/** Size of the `data` messages of saves and loads (the last one of a chunk may be shorter). */
export const DATA_MESSAGE_BYTES = 1 * MIB;

/**
 * Largest metadata object of a worker, dataset or checkpoint, measured as its
 * JSON encoding in UTF-8.
 */
export const METADATA_BYTES_MAX = 64 * KIB;

/**
 * Largest message the runtime accepts. One limit serves every call: a data
 * message and its framing, and headers whose metadata (64 KiB of JSON at
 * most) fits many times over. Kept small because grpc-js buffers a message
 * until it is whole, for every open call.
 */
export const REQUEST_BYTES_MAX: number = DATA_MESSAGE_BYTES + 64 * KIB;

/**
 * Largest message the runtime sends and clients accept: room for the chunk
 * list of the largest checkpoint (`GetCheckpoint` with `include_chunks`).
 */
export const RESPONSE_BYTES_MAX = 16 * MIB;

/**
 * Bytes a client asks for with one `LoadCheckpoint` call: loads go in
 * windows, so that the runtime never holds more of a load than a window
 * for a slow reader, and a cut load resumes from its last byte.
 */
export const LOAD_WINDOW_BYTES: number = 4 * CHUNK_BYTES;

/** Most chunks of one PlanSave request, or of one PlanLoad page (8 GiB of checkpoint). */
export const PLAN_CHUNKS_MAX = 1024;

/**
 * The `chunks_sha256` of a save's trailer: the hex SHA-256 of the chunks'
 * hex SHA-256s in order, each followed by a line feed.
 * @param chunkSha256s the hex SHA-256 of each chunk, in order
 * @returns the hex digest
 * @example
 * ```ts
 * import { chunksSha256 } from "@pulsecheckpoint/proto/protocol";
 * chunksSha256([]); // "e3b0c442...", the SHA-256 of nothing
 * ```
 */
export function chunksSha256(chunkSha256s: readonly string[]): string {
  const hash = createHash("sha256");
  for (const sha256 of chunkSha256s) hash.update(`${sha256}\n`);
  return hash.digest("hex");
}
