/**
 * The direct path's plans: the runtime decides what a client uploads to the
 * bucket and hands it presigned requests, and for loads the presigned GETs
 * of a checkpoint's chunks. Bytes never pass through the runtime; it signs,
 * holds the plan's chunks against garbage collection (a lease in the store),
 * and later verifies and commits (`Checkpoints.save` with a plan id).
 */
import { CHUNK_BYTES, PLAN_CHUNKS_MAX } from "@pulsecheckpoint/proto/protocol";
import { PulseError } from "../errors.ts";
import { checkpointOwnerOf, chunkKeyOf } from "../keys.ts";
import { checkpointBytesTotal, presignedUrlsTotal } from "../metrics.ts";
import type { DirectTransfer, PresignedRequest } from "../storage/store.ts";
import { validateId } from "../validation.ts";
import { isPrefixedUlid, newUlid } from "./checkpoint_id.ts";
import type { Checkpoint, Checkpoints } from "./checkpoints.ts";
import type { ChunkRef } from "./manifest.ts";
import type { StoreLeases } from "./store_leases.ts";

/** Prefix of plan ids, which a ULID follows. */
const PLAN_ID_PREFIX = "pln_";
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** What a client asks of a save plan. */
export interface SavePlanRequest {
  /** The saving worker; may be empty for a job's checkpoint. */
  workerId: string;
  /** The job whose checkpoint the save makes; empty for a worker's own. */
  jobId: string;
  /** Empty for a new plan. */
  planId: string;
  idempotencyKey: string;
  /** Empty for none. */
  baseCheckpointId: string;
  chunks: ChunkRef[];
}

/** A plan: what to upload where, until when. */
export interface SavePlan {
  planId: string;
  /** Uploads by index of the request's chunks. */
  uploads: { index: number; request: PresignedRequest }[];
  expiresAt: Date;
  /** The checkpoint the idempotency key already made, if any: then nothing else. */
  existing?: Checkpoint;
}

/** A page of a load plan. */
export interface LoadPlan {
  checkpoint: Checkpoint;
  chunks: { sha256: string; size: number; url: string }[];
  /** The first chunk of the next page; 0 after the last page. */
  nextChunk: number;
  expiresAt: Date;
}

/** Options of `DirectPlans`. */
export interface DirectPlansOptions {
  /** How long presigned URLs and plan leases last (`storage.presign_expiry_ms`). */
  expiryMs: number;
  /** Throws unless the worker is registered. */
  requireWorker: (action: string, workerId: string) => Promise<void>;
  /** The clock; tests pass their own. */
  now?: () => number;
}

/** Plans direct-path saves and loads over a store's presigned requests. */
export class DirectPlans {
  readonly #direct: DirectTransfer;
  readonly #checkpoints: Checkpoints;
  readonly #leases: StoreLeases;
  readonly #options: DirectPlansOptions;

  constructor(
    direct: DirectTransfer,
    parts: { checkpoints: Checkpoints; leases: StoreLeases },
    options: DirectPlansOptions,
  ) {
    this.#direct = direct;
    this.#checkpoints = parts.checkpoints;
    this.#leases = parts.leases;
    this.#options = options;
  }

  /**
   * Plans (part of) a save: presigned PUTs for the chunks that are neither
   * the base's nor in the store already, and a lease in the store on all of
   * them until the plan expires.
   * @throws {PulseError} INVALID_ARGUMENT for a bad id or chunk list,
   *   NOT_FOUND for an unknown worker or base
   */
  async planSave(request: SavePlanRequest): Promise<SavePlan> {
    const action = "plan save";
    if (request.jobId !== "") validateId(action, "job_id", request.jobId);
    if (request.jobId === "" || request.workerId !== "") {
      validateId(action, "worker_id", request.workerId);
      await this.#options.requireWorker(action, request.workerId);
    }
    checkChunkList(action, request.chunks);
    const owner = checkpointOwnerOf(request.workerId, request.jobId);
    if (request.planId !== "") checkPlanId(action, request.planId);
    const planId = request.planId || PLAN_ID_PREFIX + newUlid();
    const now = new Date(this.#now());
    const expiresAt = new Date(now.getTime() + this.#options.expiryMs);
    if (request.idempotencyKey !== "") {
      const existing = await this.#checkpoints.findSaved(owner, request.idempotencyKey);
      if (existing !== undefined) return { planId, uploads: [], expiresAt, existing };
    }
    const baseChunks = request.baseCheckpointId === "" ? new Set<string>() : new Set(
      (await this.#checkpoints.get(owner, request.baseCheckpointId, {
        latestAllowed: false,
      }))
        .chunks.map((chunk) => chunk.sha256),
    );
    // Held before any URL is handed out: a chunk the plan relies on cannot
    // be collected from here to the commit, or to the lease's expiry.
    await this.#leases.hold(
      { planId, workerId: owner, createdAt: now, expiresAt },
      request.chunks.map((chunk) => chunk.sha256),
    );
    const expiresInSeconds = Math.ceil(this.#options.expiryMs / 1000);
    const needed = await Promise.all(
      request.chunks.map((chunk) => !baseChunks.has(chunk.sha256) && this.#lacks(chunk)),
    );
    const uploads = await Promise.all(
      request.chunks.flatMap((chunk, index) =>
        needed[index]
          ? [(async () => ({
            index,
            request: await this.#direct.presignPut(
              chunkKeyOf(chunk.sha256),
              chunk.sha256,
              expiresInSeconds,
            ),
          }))()]
          : []
      ),
    );
    presignedUrlsTotal.inc({ method: "PUT" }, uploads.length);
    return { planId, uploads, expiresAt };
  }

  // Whether the store lacks a chunk: no object under its key, or one of
  // another size or stored checksum. A chunk it has needs no upload (a second
  // save of the same bytes uploads nothing); the plan's lease, held before
  // this is asked, keeps it from garbage collection, and the commit checks it
  // again as it checks uploaded ones (reading it back where the store keeps
  // no checksum).
  async #lacks(chunk: ChunkRef): Promise<boolean> {
    const stored = await this.#direct.describe(chunkKeyOf(chunk.sha256));
    return stored === undefined || stored.size !== chunk.size ||
      (stored.sha256 !== undefined && stored.sha256 !== chunk.sha256);
  }

  /**
   * A page of presigned GETs of a checkpoint's chunks, from `firstChunk`.
   * @param owner a worker, or `checkpointOwnerOf` a job
   * @param checkpointId empty for the owner's latest checkpoint
   * @throws {PulseError} NOT_FOUND, INVALID_ARGUMENT for a page beyond the end
   */
  async planLoad(owner: string, checkpointId: string, firstChunk: number): Promise<LoadPlan> {
    const { checkpoint, chunks } = await this.#checkpoints.get(owner, checkpointId);
    if (firstChunk > 0 && firstChunk >= chunks.length) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot plan load: first_chunk ${firstChunk} is beyond the ${chunks.length} chunks of checkpoint ${checkpoint.checkpointId}`,
      );
    }
    const page = chunks.slice(firstChunk, firstChunk + PLAN_CHUNKS_MAX);
    const expiresInSeconds = Math.ceil(this.#options.expiryMs / 1000);
    const urls = await Promise.all(
      page.map((chunk) => this.#direct.presignGet(chunkKeyOf(chunk.sha256), expiresInSeconds)),
    );
    presignedUrlsTotal.inc({ method: "GET" }, urls.length);
    checkpointBytesTotal.inc(
      { operation: "load", path: "direct" },
      page.reduce((sum, chunk) => sum + chunk.size, 0),
    );
    const next = firstChunk + page.length;
    return {
      checkpoint,
      chunks: page.map((chunk, index) => ({ ...chunk, url: urls[index]! })),
      nextChunk: next < chunks.length ? next : 0,
      expiresAt: new Date(this.#now() + this.#options.expiryMs),
    };
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/** Whether a save names a plan id of the form this runtime makes. */
export function checkPlanId(action: string, planId: string): void {
  if (!isPrefixedUlid(PLAN_ID_PREFIX, planId)) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: plan_id ${
        JSON.stringify(planId)
      } is not "${PLAN_ID_PREFIX}" followed by a 26-character ULID`,
    );
  }
}

// A plan's part: 1 to PLAN_CHUNKS_MAX chunks of valid hashes and sizes.
function checkChunkList(action: string, chunks: ChunkRef[]): void {
  if (chunks.length === 0 || chunks.length > PLAN_CHUNKS_MAX) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: ${chunks.length} chunks, allowed are 1 to ${PLAN_CHUNKS_MAX} per plan`,
    );
  }
  chunks.forEach((chunk, index) => {
    if (!SHA256_PATTERN.test(chunk.sha256)) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot ${action}: chunks[${index}].sha256 ${
          JSON.stringify(chunk.sha256)
        } is not 64 lowercase hex digits`,
      );
    }
    if (!Number.isSafeInteger(chunk.size) || chunk.size < 1 || chunk.size > CHUNK_BYTES) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot ${action}: chunks[${index}].size is ${chunk.size}, allowed is 1 to ${CHUNK_BYTES}`,
      );
    }
  });
}
