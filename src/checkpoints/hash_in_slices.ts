/**
 * SHA-256 of chunk-sized byte arrays without stalling the runtime: bytes are
 * hashed a slice at a time, and other calls run between slices.
 */
import { createHash, type Hash } from "node:crypto";
import { setImmediate } from "node:timers/promises";
import { HASH_SLICE_BYTES } from "../limits.ts";

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

/** The hex SHA-256 of `bytes`, hashed in slices as by {@linkcode hashInSlices}. */
export async function sha256InSlices(bytes: Uint8Array): Promise<string> {
  return (await hashInSlices(createHash("sha256"), bytes)).digest("hex");
}
