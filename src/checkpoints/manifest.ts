/**
 * The checkpoint manifest: the JSON object whose write commits a checkpoint.
 * It lists the checkpoint's chunks in order with their sizes and SHA-256, the
 * SHA-256 of the whole stream, the metadata and the idempotency key.
 */
import { PulseError } from "../errors.ts";
import type { Metadata } from "../validation.ts";

/** Version of the manifest format; bumped on any incompatible change. */
export const MANIFEST_FORMAT = 1;

/** One chunk of a checkpoint. */
export interface ChunkRef {
  sha256: string;
  size: number;
}

/** A committed checkpoint, as its manifest records it. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  checkpoint_id: string;
  worker_id: string;
  size_bytes: number;
  sha256: string;
  metadata: Metadata;
  idempotency_key: string;
  created_at: string;
  chunks: ChunkRef[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** Encodes a manifest for the store. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return encoder.encode(JSON.stringify(manifest));
}

/**
 * Decodes a stored manifest, checking its shape and that its chunk sizes add
 * up to its size.
 * @throws {PulseError} data_loss if the bytes are not a well-formed manifest
 */
export function decodeManifest(key: string, bytes: Uint8Array): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    value = undefined;
  }
  const problem = manifestProblem(value);
  if (problem !== undefined) {
    throw new PulseError(
      "DATA_LOSS",
      `Cannot read manifest ${key}: ${problem}`,
    );
  }
  return value as Manifest;
}

function manifestProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const m = value as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) {
    return `format is ${m.format}, expected ${MANIFEST_FORMAT}`;
  }
  for (
    const field of [
      "checkpoint_id",
      "worker_id",
      "sha256",
      "idempotency_key",
      "created_at",
    ]
  ) {
    if (typeof m[field] !== "string") return `${field} is not a string`;
  }
  if (typeof m.metadata !== "object" || m.metadata === null) {
    return "metadata is not an object";
  }
  if (!Number.isSafeInteger(m.size_bytes)) {
    return "size_bytes is not an integer";
  }
  if (!Array.isArray(m.chunks)) return "chunks is not an array";
  let total = 0;
  for (const chunk of m.chunks as unknown[]) {
    const c = chunk as Partial<ChunkRef> | null;
    if (typeof c?.sha256 !== "string" || !SHA256_PATTERN.test(c.sha256)) {
      return "a chunk has no valid sha256";
    }
    if (!Number.isSafeInteger(c.size) || c.size! <= 0) {
      return "a chunk has no valid size";
    }
    total += c.size!;
  }
  if (total !== m.size_bytes) {
    return `chunks add up to ${total} bytes, size_bytes is ${m.size_bytes}`;
  }
  return undefined;
}
