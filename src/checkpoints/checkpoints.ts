/**
 * Checkpoints: save a byte stream as content-addressed chunks plus a manifest
 * written last (the commit), load it back verified, list, get and delete.
 *
 * This module admits saves and orchestrates them; the chunks go through
 * `chunk_writer.ts` and come back through `chunk_reader.ts`, and repeated
 * saves are recognised by `idempotency.ts`. A crash before the manifest write
 * leaves only unreferenced chunks, which no listing shows and the garbage
 * collector removes.
 */
import { PulseError } from "../errors.ts";
import { checkpointOwnerOf, jobOfOwner, manifestKeyOf, manifestPrefixOf } from "../keys.ts";
import { IDEMPOTENCY_KEY_LENGTH_MAX } from "../limits.ts";
import { log } from "../log.ts";
import { listRecords, readRecord, writeRecord } from "../storage/records.ts";
import type { DirectTransfer, ObjectStore } from "../storage/store.ts";
import { type Metadata, validateId, validateMetadata, validateText } from "../validation.ts";
import { canonicalCheckpointId, newCheckpointId } from "./checkpoint_id.ts";
import type { ChunkLeases } from "./chunk_leases.ts";
import { type CheckpointRange, ChunkReader } from "./chunk_reader.ts";
import {
  baseOf,
  ChunkWriter,
  type ChunkWriterOptions,
  type WrittenChunks,
} from "./chunk_writer.ts";
import type { NamedChunk } from "./chunker.ts";
import { ChunkVerifier } from "./chunk_verifier.ts";
import { contentProblem, type ExpectedContent } from "./content_problem.ts";
import { checkPlanId } from "./direct_plans.ts";
import { StoreLeases } from "./store_leases.ts";
import { Idempotency } from "./idempotency.ts";
import { checkShardRef, type ShardRef } from "../jobs/shard_ref.ts";
import { type SaveHold, SaveHolds } from "./save_lease.ts";
import { type ChunkRef, MANIFEST, type Manifest, MANIFEST_FORMAT } from "./manifest.ts";

/** A checkpoint as clients see it. */
export interface Checkpoint {
  checkpointId: string;
  workerId: string;
  sizeBytes: number;
  sha256: string;
  metadata: Metadata;
  idempotencyKey: string;
  createdAt: Date;
  /** Where in a job it belongs, for a job's checkpoint (a shard, a step's metadata). */
  shard?: ShardRef;
}

/** What a save is asked to do, before its bytes. */
export interface SaveRequest {
  /** The saving worker; for a job's checkpoint, the rank's worker or empty. */
  workerId: string;
  /** Where in a job the checkpoint belongs; it is then filed under the job. */
  shard?: ShardRef;
  metadata: Metadata;
  /** Empty for none. */
  idempotencyKey: string;
  /** A checkpoint of the same owner whose chunks the data may name; empty for none. */
  baseCheckpointId?: string;
  /**
   * The direct-path plan whose uploaded chunks the data names (as `ChunkRef`s);
   * empty for a save whose bytes come in the data.
   */
  planId?: string;
}

/** What a save learns from its client besides the request and the bytes. */
export interface SaveOptions {
  /** Aborted when the client has gone: nothing is committed after it fires. */
  signal: AbortSignal;
  /** What the client says it sent (its trailer), known once `data` has ended; undefined when it sends none. */
  expected: Promise<ExpectedContent | undefined>;
}

/** Options of `Checkpoints`: those of its chunk writer, and its own. */
export interface CheckpointsOptions extends ChunkWriterOptions {
  /** Saves in progress at once for one worker. */
  savesPerWorkerMax: number;
  /** Saves in progress at once in all. */
  savesMax: number;
  /** Throws unless the worker is registered; saves require registration. */
  requireWorker: (action: string, workerId: string) => Promise<void>;
  /**
   * The direct path of the store, when the runtime offers it: saves with a
   * plan id commit chunks their clients uploaded (`storage.direct_transfer`).
   */
  direct?: DirectTransfer;
  /**
   * Called after each save that made a new checkpoint (retention hooks in
   * here); what it throws is logged, never returned to the saver.
   */
  onSaved?: (checkpoint: Checkpoint) => void;
  /**
   * How saves hold their chunks and idempotency keys in a store that other
   * replicas share (`save_lease.ts`, `idempotency.ts`); absent: a store of
   * this runtime alone.
   */
  replicas?: ReplicaOptions;
}

/** Options of saves among replicas on one bucket. */
export interface ReplicaOptions {
  /** Whether other runtimes share the store (S3). */
  shared: boolean;
  /** This runtime's replica id (`server.replica_id`). */
  replicaId: string;
  /** How long a save's lease lasts unless renewed (`storage.lease_ms`). */
  leaseMs: number;
  /** Longest wait for an idempotency claim that another save holds. */
  claimWaitMs: number;
}

const ONE_RUNTIME: ReplicaOptions = {
  shared: false,
  replicaId: "local",
  leaseMs: 15_000,
  claimWaitMs: 30_000,
};

const TARGET = "pulse::checkpoint";

/** Saves, loads, lists and deletes the checkpoints of an `ObjectStore`. */
export class Checkpoints {
  readonly #store: ObjectStore;
  readonly #options: CheckpointsOptions;
  readonly #writer: ChunkWriter;
  readonly #verifier: ChunkVerifier | undefined;
  readonly #storeLeases: StoreLeases;
  readonly #reader: ChunkReader;
  readonly #idempotency: Idempotency;
  readonly #holds: SaveHolds;
  // Saves in progress by worker, and in all.
  readonly #savesByWorker = new Map<string, number>();
  #saves = 0;

  constructor(store: ObjectStore, options: CheckpointsOptions) {
    this.#store = store;
    this.#options = options;
    this.#writer = new ChunkWriter(store, options);
    this.#verifier = options.direct && new ChunkVerifier({
      store,
      direct: options.direct,
      leases: this.#writer.leases,
      checksInFlight: options.writesInFlight,
      hasher: options.hasher,
      checkpointBytesMax: options.checkpointBytesMax,
    });
    this.#storeLeases = new StoreLeases(store);
    this.#reader = new ChunkReader(store, options.readsAhead, options.hasher);
    const replicas = options.replicas ?? ONE_RUNTIME;
    this.#holds = new SaveHolds(this.#storeLeases, {
      shared: replicas.shared,
      ttlMs: replicas.leaseMs,
    });
    this.#idempotency = new Idempotency(store, {
      holds: this.#holds,
      replicaId: replicas.replicaId,
      claimWaitMs: replicas.claimWaitMs,
    });
  }

  /** The leases saves in progress hold on their chunks, for the garbage collector. */
  get chunkLeases(): ChunkLeases {
    return this.#writer.leases;
  }

  /**
   * Saves the bytes of `data` as a new checkpoint, or returns the checkpoint
   * an earlier save with the same idempotency key made (without reading `data`).
   * `data` may name chunks of `request.baseCheckpointId` instead of sending
   * their bytes. Once every chunk is durable, the save waits for
   * `options.expected` and commits only if the client is still there and the
   * bytes are what it says it sent.
   * @throws {PulseError} ABORTED when `options.signal` fired before the
   *   commit; INVALID_ARGUMENT or DATA_LOSS when the bytes are not what
   *   `options.expected` describes (see `contentProblem`)
   */
  async save(
    request: SaveRequest,
    data: AsyncIterable<Uint8Array | NamedChunk | ChunkRef>,
    options: SaveOptions,
  ): Promise<Checkpoint> {
    // Not awaited when the save fails first or an earlier save is returned:
    // its rejection must never go unhandled.
    options.expected.catch(() => {});
    const { workerId, idempotencyKey, shard } = request;
    if (shard !== undefined) checkShardRef("save checkpoint", shard);
    if (shard === undefined || workerId !== "") {
      validateId("save checkpoint", "worker_id", workerId);
    }
    validateMetadata("save checkpoint", "metadata", request.metadata);
    validateText(
      "save checkpoint",
      "idempotency_key",
      idempotencyKey,
      IDEMPOTENCY_KEY_LENGTH_MAX,
    );
    if (request.planId) {
      checkPlanId("save checkpoint", request.planId);
      if (this.#verifier === undefined) throw directUnavailable("save checkpoint");
    }
    if (workerId !== "") await this.#options.requireWorker("save checkpoint", workerId);
    const owner = ownerOfSave(request);
    // A rank without a worker is counted as one of its own.
    const release = this.#admit(workerId || `rank ${shard!.rank} of job ${shard!.jobId}`);
    try {
      if (idempotencyKey === "") return await this.#saveHeld(request, data, options);
      // Saves with one key run one after the other here, and claim it in the
      // store against other replicas: each later one finds the checkpoint of
      // the first that committed, unless that one failed.
      return await this.#idempotency.serialized(
        owner,
        idempotencyKey,
        () =>
          this.#idempotency.saveOnce(owner, idempotencyKey, {
            committed: (checkpointId) => this.#committed(owner, checkpointId),
            save: (checkpointId, hold) => this.#save(request, data, options, checkpointId, hold),
          }, options.signal),
      );
    } finally {
      release();
    }
  }

  // Counts a save against the concurrency limits, or refuses it.
  #admit(workerId: string): () => void {
    const ofWorker = this.#savesByWorker.get(workerId) ?? 0;
    if (ofWorker >= this.#options.savesPerWorkerMax) {
      throw new PulseError(
        "RESOURCE_EXHAUSTED",
        `Cannot save checkpoint: worker ${workerId} has ${ofWorker} saves in progress, limit is ${this.#options.savesPerWorkerMax} (limits.saves_per_worker_max)`,
      );
    }
    if (this.#saves >= this.#options.savesMax) {
      // The runtime is busy, not the caller over a quota of its own: a retry
      // with backoff (the SDKs retry UNAVAILABLE) finds room once saves end.
      throw new PulseError(
        "UNAVAILABLE",
        `Cannot save checkpoint: ${this.#saves} saves are in progress, limit is ${this.#options.savesMax} (limits.saves_max); retry later`,
      );
    }
    this.#savesByWorker.set(workerId, ofWorker + 1);
    this.#saves++;
    return () => {
      this.#saves--;
      const left = this.#savesByWorker.get(workerId)! - 1;
      if (left === 0) this.#savesByWorker.delete(workerId);
      else this.#savesByWorker.set(workerId, left);
    };
  }

  // A save without an idempotency key, under a hold of its own.
  async #saveHeld(
    request: SaveRequest,
    data: AsyncIterable<Uint8Array | NamedChunk | ChunkRef>,
    options: SaveOptions,
  ): Promise<Checkpoint> {
    const checkpointId = newCheckpointId();
    const hold = await this.#holds.open(checkpointId, ownerOfSave(request));
    try {
      return await this.#save(request, data, options, checkpointId, hold);
    } finally {
      await hold.release();
    }
  }

  async #save(
    request: SaveRequest,
    data: AsyncIterable<Uint8Array | NamedChunk | ChunkRef>,
    options: SaveOptions,
    checkpointId: string,
    hold: SaveHold,
  ): Promise<Checkpoint> {
    const { workerId, baseCheckpointId = "" } = request;
    const owner = ownerOfSave(request);
    const commit = async (written: WrittenChunks) => {
      await checkBeforeCommit(written, options);
      await hold.check("save checkpoint");
      return await this.#commit(request, checkpointId, written);
    };
    let checkpoint: Checkpoint;
    if (request.planId) {
      checkpoint = await this.#verifier!.verify(data, options.expected, commit);
      // The plan's hold is no longer needed; one left behind expires.
      await this.#storeLeases.release(request.planId).catch((error) =>
        log.warn(TARGET, "Cannot drop the leases of a committed plan", {
          plan_id: request.planId,
          error,
        })
      );
    } else {
      const base = baseCheckpointId === ""
        ? undefined
        : baseOf(await this.#manifest("save checkpoint", owner, baseCheckpointId, false));
      checkpoint = await this.#writer.write(
        data as AsyncIterable<Uint8Array | NamedChunk>,
        commit,
        { base, signal: options.signal, hold: (sha256) => hold.cover(sha256) },
      );
    }
    try {
      this.#options.onSaved?.(checkpoint);
    } catch (error) {
      log.error(TARGET, "After-save hook failed", {
        worker_id: workerId,
        checkpoint_id: checkpointId,
        error,
      });
    }
    return checkpoint;
  }

  // Writes the manifest of chunks that are all durable: the commit.
  async #commit(
    request: SaveRequest,
    checkpointId: string,
    written: WrittenChunks,
  ): Promise<Checkpoint> {
    const { workerId, shard } = request;
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      checkpoint_id: checkpointId,
      worker_id: workerId,
      ...(shard && {
        shard: {
          job_id: shard.jobId,
          step: shard.step,
          rank: shard.rank,
          world_size: shard.worldSize,
          step_metadata: shard.stepMetadata,
        },
      }),
      size_bytes: written.sizeBytes,
      sha256: written.sha256,
      metadata: request.metadata,
      idempotency_key: request.idempotencyKey,
      created_at: new Date().toISOString(),
      chunks: written.chunks,
    };
    await writeRecord(this.#store, manifestKeyOf(ownerOfSave(request), checkpointId), manifest);
    return toCheckpoint(manifest);
  }

  /**
   * Opens a checkpoint for reading: its description, and its bytes (all, or
   * `length` bytes from `offset`), piece by piece, each chunk verified against
   * its SHA-256 before any byte of it is yielded.
   * @param owner the worker, or `checkpointOwnerOf` a job
   * @param checkpointId empty for the owner's latest checkpoint
   * @param range `length` 0 means up to the end
   */
  async load(
    owner: string,
    checkpointId: string,
    range: CheckpointRange = { offset: 0, length: 0 },
  ): Promise<{ checkpoint: Checkpoint; data: AsyncGenerator<Uint8Array> }> {
    const manifest = await this.#manifest("load checkpoint", owner, checkpointId);
    const data = this.#reader.read(manifest, range);
    return { checkpoint: toCheckpoint(manifest), data };
  }

  /**
   * Describes a checkpoint, with its chunks in order.
   * @param checkpointId empty for the worker's latest checkpoint, unless
   *   `latestAllowed` is false
   */
  async get(
    owner: string,
    checkpointId: string,
    options: { latestAllowed?: boolean } = {},
  ): Promise<{ checkpoint: Checkpoint; chunks: ChunkRef[] }> {
    const manifest = await this.#manifest(
      "get checkpoint",
      owner,
      checkpointId,
      options.latestAllowed ?? true,
    );
    return { checkpoint: toCheckpoint(manifest), chunks: manifest.chunks };
  }

  /** Lists a worker's checkpoints, newest first, a page at a time. */
  async list(
    workerId: string,
    requestedPageSize: number,
    pageToken: string,
  ): Promise<{ checkpoints: Checkpoint[]; nextPageToken: string }> {
    const action = "list checkpoints";
    validateId(action, "worker_id", workerId);
    const page = await listRecords(this.#store, MANIFEST, {
      action,
      prefix: manifestPrefixOf(workerId),
      pageSize: requestedPageSize,
      pageToken,
    });
    return { checkpoints: page.records.map(toCheckpoint), nextPageToken: page.nextPageToken };
  }

  /**
   * Deletes a checkpoint, and its idempotency key's claim while that still
   * names it; its chunks stay until garbage collection. Runs after the saves
   * in progress with its idempotency key, and they after it: a retry that
   * found the checkpoint gone and claimed the key anew keeps its claim.
   */
  async delete(owner: string, checkpointId: string): Promise<void> {
    const manifest = await this.#manifest(
      "delete checkpoint",
      owner,
      checkpointId,
      false,
    );
    const { idempotency_key: idempotencyKey, checkpoint_id: id } = manifest;
    const remove = async () => {
      await this.#store.delete(manifestKeyOf(owner, id));
      if (idempotencyKey !== "") await this.#idempotency.delete(owner, idempotencyKey, id);
    };
    if (idempotencyKey === "") await remove();
    else await this.#idempotency.serialized(owner, idempotencyKey, remove);
  }

  async #manifest(
    action: string,
    owner: string,
    checkpointId: string,
    latestAllowed = true,
  ): Promise<Manifest> {
    validateOwner(action, owner);
    if (checkpointId === "" && latestAllowed) {
      const [latest] = await this.#store.list(manifestPrefixOf(owner), {
        limit: 1,
      });
      const manifest = latest && await this.#readManifest(latest.key);
      if (!manifest) {
        throw new PulseError(
          "NOT_FOUND",
          `Cannot ${action}: ${describeOwner(owner)} has no checkpoint`,
        );
      }
      return manifest;
    }
    const id = canonicalCheckpointId(checkpointId);
    if (id === undefined) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot ${action}: checkpoint_id ${
          JSON.stringify(checkpointId)
        } is not "chk_" followed by a 26-character ULID`,
      );
    }
    const manifest = await this.#readManifest(manifestKeyOf(owner, id));
    if (manifest === undefined) {
      throw new PulseError(
        "NOT_FOUND",
        `Cannot ${action}: checkpoint ${checkpointId} of ${describeOwner(owner)} does not exist`,
      );
    }
    return manifest;
  }

  #readManifest(key: string): Promise<Manifest | undefined> {
    return readRecord(this.#store, key, MANIFEST);
  }

  /** The checkpoint a save with this idempotency key made, if it committed. */
  async findSaved(owner: string, idempotencyKey: string): Promise<Checkpoint | undefined> {
    const checkpointId = await this.#idempotency.find(owner, idempotencyKey);
    return checkpointId === undefined ? undefined : await this.#committed(owner, checkpointId);
  }

  async #committed(owner: string, checkpointId: string): Promise<Checkpoint | undefined> {
    const manifest = await this.#readManifest(manifestKeyOf(owner, checkpointId));
    return manifest && toCheckpoint(manifest);
  }
}

// Waits for what the client says it sent, and throws unless `written` may be
// committed: the client is still there and the bytes are what it says.
/** The direct path is not offered: by the store (fs), or by configuration. */
export function directUnavailable(action: string): PulseError {
  return new PulseError(
    "FAILED_PRECONDITION",
    `Cannot ${action}: this runtime offers no direct path (its store is not S3, or storage.direct_transfer is false); send the bytes in SaveCheckpoint or LoadCheckpoint`,
  );
}

async function checkBeforeCommit(written: WrittenChunks, options: SaveOptions): Promise<void> {
  const expected = await unlessAborted(options.expected, options.signal);
  if (options.signal.aborted) throw clientCancelled();
  const problem = expected === undefined ? undefined : contentProblem(expected, written);
  if (problem !== undefined) throw problem;
}

// Settles as `promise` does, or rejects when `signal` fires first: a client
// that left never sends what it would have said it sent.
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(clientCancelled());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(clientCancelled());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function clientCancelled(): PulseError {
  return new PulseError(
    "ABORTED",
    "Cannot save checkpoint: the client cancelled the call before it completed",
  );
}

/** The owner a save files its checkpoint under: its job, or its worker. */
function ownerOfSave(request: SaveRequest): string {
  return checkpointOwnerOf(request.workerId, request.shard?.jobId ?? "");
}

function validateOwner(action: string, owner: string): void {
  const jobId = jobOfOwner(owner);
  if (jobId === undefined) validateId(action, "worker_id", owner);
  else validateId(action, "job_id", jobId);
}

function describeOwner(owner: string): string {
  const jobId = jobOfOwner(owner);
  return jobId === undefined ? `worker ${owner}` : `job ${jobId}`;
}

function toCheckpoint(manifest: Manifest): Checkpoint {
  const { shard } = manifest;
  return {
    ...(shard && {
      shard: {
        jobId: shard.job_id,
        step: shard.step,
        rank: shard.rank,
        worldSize: shard.world_size,
        stepMetadata: shard.step_metadata,
      },
    }),
    checkpointId: manifest.checkpoint_id,
    workerId: manifest.worker_id,
    sizeBytes: manifest.size_bytes,
    sha256: manifest.sha256,
    metadata: manifest.metadata,
    idempotencyKey: manifest.idempotency_key,
    createdAt: new Date(manifest.created_at),
  };
}
