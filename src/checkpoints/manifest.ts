/**
 * The checkpoint manifest: the JSON object whose write commits a checkpoint.
 * It lists the checkpoint's chunks in order with their sizes and SHA-256, the
 * SHA-256 of the whole stream, the metadata and the idempotency key.
 */
import { fieldsProblem, type RecordShape } from "../storage/records.ts";
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
  /** Where in a job the checkpoint belongs; absent for a worker's own. */
  shard?: {
    job_id: string;
    step: number;
    rank: number;
    world_size: number;
    step_metadata: boolean;
  };
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The shape of a stored manifest: its fields, and chunk sizes that add up to
 * its size.
 */
export const MANIFEST: RecordShape<Manifest> = { name: "manifest", problem: manifestProblem };

function manifestProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const m = value as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) {
    return `format is ${m.format}, expected ${MANIFEST_FORMAT}`;
  }
  const problem = fieldsProblem(m, {
    checkpoint_id: "string",
    worker_id: "string",
    sha256: "string",
    idempotency_key: "string",
    created_at: "string",
    metadata: "object",
    size_bytes: "integer",
  });
  if (problem !== undefined) return problem;
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
