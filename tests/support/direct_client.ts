/**
 * The direct path spoken by hand, with a raw gRPC client and fetch: for the
 * runtime's tests, which must see every step (plan, PUT, commit, GET) and
 * be able to get each wrong on purpose. The SDKs speak it for users.
 */
import { createHash } from "node:crypto";
import { toStruct } from "@pulsecheckpoint/proto";
import { CHUNK_BYTES, chunksSha256 } from "@pulsecheckpoint/proto/protocol";
import type { RawClient } from "./raw_client.ts";

/** A chunk of bytes to save: its hash, size and bytes. */
export interface Chunk {
  sha256: string;
  size: number;
  bytes: Uint8Array;
}

/** A PlanSave answer as grpc-js decodes it. */
export interface SavePlan {
  plan_id: string;
  uploads: { index: number; url: string; headers: Record<string, string> }[];
  existing: { checkpoint_id: string } | null;
}

/** Cuts bytes into chunks as the SDKs do. */
export function chunksOf(bytes: Uint8Array): Chunk[] {
  const chunks: Chunk[] = [];
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    const piece = bytes.subarray(offset, Math.min(bytes.length, offset + CHUNK_BYTES));
    chunks.push({ sha256: sha256(piece), size: piece.length, bytes: piece });
  }
  return chunks;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Calls a unary method of a raw client. */
export function unary<T>(client: RawClient, method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](
      request,
      (error: unknown, response: T) => error ? reject(error) : resolve(response),
    );
  });
}

/** PlanSave for `chunks`. */
export function planSave(
  client: RawClient,
  workerId: string,
  chunks: Chunk[],
  options: { planId?: string; idempotencyKey?: string; baseCheckpointId?: string } = {},
): Promise<SavePlan> {
  return unary<SavePlan>(client, "PlanSave", {
    worker_id: workerId,
    plan_id: options.planId ?? "",
    idempotency_key: options.idempotencyKey ?? "",
    base_checkpoint_id: options.baseCheckpointId ?? "",
    chunks: chunks.map(({ sha256, size }) => ({ sha256, size })),
  });
}

/** PUTs `bytes` to a presigned upload; returns the HTTP status. */
export async function put(
  upload: { url: string; headers: Record<string, string> },
  bytes: Uint8Array,
): Promise<number> {
  const response = await fetch(upload.url, {
    method: "PUT",
    body: bytes as Uint8Array<ArrayBuffer>,
    headers: upload.headers,
  });
  await response.body?.cancel();
  return response.status;
}

/** Commits a plan: SaveCheckpoint with the plan id, a chunk message per chunk, the trailer. */
export function commit(
  client: RawClient,
  workerId: string,
  planId: string,
  chunks: Chunk[],
  options: { idempotencyKey?: string; sha256?: string } = {},
): Promise<{ checkpoint: { checkpoint_id: string; size_bytes: number; sha256: string } }> {
  const whole = createHash("sha256");
  for (const chunk of chunks) whole.update(chunk.bytes);
  return new Promise((resolve, reject) => {
    const call = client.SaveCheckpoint((error: unknown, response: never) =>
      error ? reject(error) : resolve(response)
    );
    call.write({
      header: {
        worker_id: workerId,
        metadata: toStruct({}),
        idempotency_key: options.idempotencyKey ?? "",
        expect_trailer: true,
        plan_id: planId,
      },
    });
    for (const { sha256, size } of chunks) call.write({ chunk: { sha256, size } });
    call.write({
      trailer: {
        size_bytes: chunks.reduce((sum, chunk) => sum + chunk.size, 0),
        sha256: options.sha256 ?? whole.digest("hex"),
        chunks_sha256: chunksSha256(chunks.map((chunk) => chunk.sha256)),
      },
    });
    call.end();
  });
}

/** Plans, uploads every chunk asked for, and commits: a whole direct save. */
export async function directSave(
  client: RawClient,
  workerId: string,
  bytes: Uint8Array,
  options: { idempotencyKey?: string; baseCheckpointId?: string } = {},
): Promise<{ checkpointId: string; uploads: number }> {
  const chunks = chunksOf(bytes);
  const plan = await planSave(client, workerId, chunks, options);
  for (const upload of plan.uploads) {
    const status = await put(upload, chunks[upload.index]!.bytes);
    if (status !== 200 && status !== 412) throw new Error(`PUT answered ${status}`);
  }
  const { checkpoint } = await commit(client, workerId, plan.plan_id, chunks, options);
  return { checkpointId: checkpoint.checkpoint_id, uploads: plan.uploads.length };
}

/** Loads a checkpoint through PlanLoad and presigned GETs, verifying every chunk. */
export async function directLoad(
  client: RawClient,
  workerId: string,
  checkpointId: string,
): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let first = 0;;) {
    const plan = await unary<{
      chunks: { sha256: string; size: number; url: string }[];
      next_chunk: number;
    }>(client, "PlanLoad", {
      worker_id: workerId,
      checkpoint_id: checkpointId,
      first_chunk: first,
    });
    for (const chunk of plan.chunks) {
      const bytes = new Uint8Array(await (await fetch(chunk.url)).arrayBuffer());
      if (sha256(bytes) !== chunk.sha256) throw new Error(`chunk ${chunk.sha256} arrived altered`);
      pieces.push(bytes);
    }
    if (plan.next_chunk === 0) break;
    first = plan.next_chunk;
  }
  const all = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    all.set(piece, offset);
    offset += piece.length;
  }
  return all;
}
