/** Test data: random bytes and their hashes. */
import { createHash } from "node:crypto";

/** `size` random bytes (no two chunks alike, so nothing is deduplicated). */
export function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(
      bytes.subarray(offset, Math.min(offset + 65536, size)),
    );
  }
  return bytes;
}

/** Hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Yields `total` random bytes in pieces of `pieceBytes`, never holding more than one piece. */
export async function* randomStream(
  total: number,
  pieceBytes = 1024 * 1024,
): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += pieceBytes) {
    yield randomBytes(Math.min(pieceBytes, total - sent));
  }
}
