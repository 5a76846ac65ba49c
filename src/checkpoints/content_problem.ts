/**
 * Whether the bytes a save received are the ones its client says it sent: the
 * check between every chunk being durable and the manifest write, so that a
 * stream cut or garbled on its way never becomes a checkpoint.
 */
import { chunksSha256 } from "@pulsecheckpoint/proto/protocol";
import { PulseError } from "../errors.ts";
import type { WrittenChunks } from "./chunk_writer.ts";

/** What a client says it sent, once it has sent it all (its trailer). */
export interface ExpectedContent {
  sizeBytes: number;
  /** Hex SHA-256 of the bytes; "" when the client did not say. */
  sha256: string;
  /** Hex SHA-256 of the chunk list (chunksSha256 of @pulsecheckpoint/proto/protocol); "" when the client did not say. */
  chunksSha256: string;
}

/**
 * Why `saved` must not be committed as what `expected` describes: a size
 * that differs is INVALID_ARGUMENT, a hash that differs is DATA_LOSS.
 * @returns the error to fail the save with; undefined when they agree
 */
export function contentProblem(
  expected: ExpectedContent,
  saved: WrittenChunks,
): PulseError | undefined {
  if (expected.sizeBytes !== saved.sizeBytes) {
    return new PulseError(
      "INVALID_ARGUMENT",
      `Cannot save checkpoint: trailer.size_bytes is ${expected.sizeBytes} but ${saved.sizeBytes} bytes arrived; nothing was committed`,
    );
  }
  if (expected.sha256 !== "" && expected.sha256 !== saved.sha256) {
    return new PulseError(
      "DATA_LOSS",
      `Cannot save checkpoint: the bytes that arrived hash to ${saved.sha256}, not to trailer.sha256 ${expected.sha256}; nothing was committed`,
    );
  }
  if (expected.chunksSha256 === "") return undefined;
  const chunks = chunksSha256(saved.chunks.map((chunk) => chunk.sha256));
  if (expected.chunksSha256 !== chunks) {
    return new PulseError(
      "DATA_LOSS",
      `Cannot save checkpoint: the chunks that arrived hash to ${chunks}, not to trailer.chunks_sha256 ${expected.chunksSha256}; nothing was committed`,
    );
  }
  return undefined;
}
