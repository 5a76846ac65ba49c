/**
 * Checkpoints: save a byte stream as content-addressed chunks plus a manifest
 * written last (the commit), load it back verified, list, get and delete.
 *
 * Save reads its source only as fast as chunk writes finish: at most
 * `writesInFlight` chunk writes run at once, so a save holds at most
 * `writesInFlight + 1` chunks in memory, whatever the checkpoint size, and all
 * saves together at most `chunkBuffers` chunks, however many run. A crash
 * before the manifest write leaves only unreferenced chunks, which no listing
 * shows and the garbage collector removes. A save holds a lease on each of its
 * chunks until its manifest is written, so that the collector of this process
 * never removes them under it (see `chunk_leases.ts`).
 *
 * An incremental save names chunks of a base checkpoint of its worker instead
 * of sending them; each is read back, up to `readsAhead` ahead, for the new
 * checkpoint's SHA-256, which therefore always covers bytes the runtime holds.
 */
import { createHash } from "node:crypto";
import { PulseError } from "../errors.ts";
import { CHUNK_BYTES, IDEMPOTENCY_KEY_LENGTH_MAX } from "../limits.ts";
import { log } from "../log.ts";
import { chunksWrittenTotal } from "../metrics.ts";
import { chunkKeyOf, idempotencyRecordKeyOf, manifestKeyOf, manifestPrefixOf } from "../keys.ts";
import type { ObjectStore } from "../storage/store.ts";
import {
  decodePageToken,
  encodePageToken,
  type Metadata,
  pageSize,
  validateId,
  validateMetadata,
  validateText,
} from "../validation.ts";
import { isCheckpointId, newCheckpointId } from "./checkpoint_id.ts";
import { ChunkBuffers } from "./chunk_buffers.ts";
import { chunks, type NamedChunk } from "./chunker.ts";
import { hashInSlices, sha256InSlices } from "./hash_in_slices.ts";
import { ChunkLeases } from "./chunk_leases.ts";
import {
  type ChunkRef,
  decodeManifest,
  encodeManifest,
  type Manifest,
  MANIFEST_FORMAT,
} from "./manifest.ts";

/** A checkpoint as clients see it. */
export interface Checkpoint {
  checkpointId: string;
  workerId: string;
  sizeBytes: number;
  sha256: string;
  metadata: Metadata;
  idempotencyKey: string;
  createdAt: Date;
}

/** What a save is asked to do, before its bytes. */
export interface SaveRequest {
  workerId: string;
  metadata: Metadata;
  /** Empty for none. */
  idempotencyKey: string;
  /** A checkpoint of the worker whose chunks the data may name; empty for none. */
  baseCheckpointId?: string;
  /**
   * Called once every chunk is durable, right before the manifest is written,
   * with what arrived; throws if the bytes must not become a checkpoint (the
   * client went away, or they are not what the client says it sent).
   */
  beforeCommit?: (saved: { sizeBytes: number; sha256: string; chunks: ChunkRef[] }) => void;
}

/** Options of a `CheckpointStore`. */
export interface CheckpointStoreOptions {
  writesInFlight: number;
  /** Chunk buffers shared by all saves (`storage.chunk_buffers`). */
  chunkBuffers: number;
  readsAhead: number;
  /** Largest checkpoint a save may write. */
  checkpointBytesMax: number;
  /** Saves in progress at once for one worker. */
  savesPerWorkerMax: number;
  /** Saves in progress at once in all. */
  savesMax: number;
  /** Throws unless the worker is registered; saves require registration. */
  requireWorker: (action: string, workerId: string) => void;
  /**
   * Called after each save that made a new checkpoint (retention hooks in
   * here); what it throws is logged, never returned to the saver.
   */
  onSaved?: (checkpoint: Checkpoint) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TARGET = "pulse::checkpoint";

/** Saves, loads and lists checkpoints in an `ObjectStore`. */
export class CheckpointStore {
  #store: ObjectStore;
  #options: CheckpointStoreOptions;
  // Saves in progress by idempotency key, so that a retry waits for the first.
  #savesByKey = new Map<string, Promise<Checkpoint>>();
  // Saves in progress by worker, and in all.
  #savesByWorker = new Map<string, number>();
  #saves = 0;
  #leases = new ChunkLeases();
  readonly #buffers: ChunkBuffers;

  constructor(store: ObjectStore, options: CheckpointStoreOptions) {
    this.#store = store;
    this.#options = options;
    this.#buffers = new ChunkBuffers(options.chunkBuffers, CHUNK_BYTES);
  }

  /** The leases saves in progress hold on their chunks, for the garbage collector. */
  get chunkLeases(): ChunkLeases {
    return this.#leases;
  }

  /**
   * Saves the bytes of `data` as a new checkpoint, or returns the checkpoint
   * an earlier save with the same idempotency key made (without reading `data`).
   * `data` may name chunks of `request.baseCheckpointId` instead of sending
   * their bytes.
   */
  async save(
    request: SaveRequest,
    data: AsyncIterable<Uint8Array | NamedChunk>,
  ): Promise<Checkpoint> {
    const { workerId, idempotencyKey } = request;
    validateId("save checkpoint", "worker_id", workerId);
    validateMetadata("save checkpoint", "metadata", request.metadata);
    validateText(
      "save checkpoint",
      "idempotency_key",
      idempotencyKey,
      IDEMPOTENCY_KEY_LENGTH_MAX,
    );
    this.#options.requireWorker("save checkpoint", workerId);
    const release = this.#admit(workerId);
    try {
      if (idempotencyKey === "") return await this.#save(request, data);
      return await this.#saveOnce(request, data);
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
        `Cannot save checkpoint: worker ${workerId} has ${ofWorker} saves in progress, limit is ${this.#options.savesPerWorkerMax}`,
      );
    }
    if (this.#saves >= this.#options.savesMax) {
      throw new PulseError(
        "RESOURCE_EXHAUSTED",
        `Cannot save checkpoint: ${this.#saves} saves are in progress, limit is ${this.#options.savesMax}`,
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

  async #saveOnce(
    request: SaveRequest,
    data: AsyncIterable<Uint8Array | NamedChunk>,
  ): Promise<Checkpoint> {
    const { workerId, idempotencyKey } = request;

    // Saves with one key run one after the other: each later one finds the
    // checkpoint of the first that committed, unless that one failed.
    const lockKey = `${workerId}\n${idempotencyKey}`;
    const previous = this.#savesByKey.get(lockKey);
    const save = (async () => {
      await previous?.catch(() => {});
      const earlier = await this.#findByIdempotencyKey(
        workerId,
        idempotencyKey,
      );
      return earlier ?? await this.#save(request, data);
    })();
    this.#savesByKey.set(lockKey, save);
    try {
      return await save;
    } finally {
      if (this.#savesByKey.get(lockKey) === save) {
        this.#savesByKey.delete(lockKey);
      }
    }
  }

  async #save(
    request: SaveRequest,
    data: AsyncIterable<Uint8Array | NamedChunk>,
  ): Promise<Checkpoint> {
    const checkpointId = newCheckpointId();
    const { workerId, idempotencyKey } = request;
    if (idempotencyKey !== "") {
      // Claimed before any byte is written: a retry after a crash finds the
      // claim, sees no manifest for it, and saves anew.
      await this.#store.put(
        idempotencyRecordKeyOf(workerId, idempotencyKey),
        encoder.encode(JSON.stringify({ checkpoint_id: checkpointId })),
      );
    }
    const leased: string[] = [];
    let checkpoint: Checkpoint;
    try {
      checkpoint = await this.#commit(request, checkpointId, data, leased);
    } finally {
      for (const sha256 of leased) this.#leases.release(sha256);
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

  // Writes the chunks, leasing each one into `leased`, then the manifest.
  async #commit(
    request: SaveRequest,
    checkpointId: string,
    data: AsyncIterable<Uint8Array | NamedChunk>,
    leased: string[],
  ): Promise<Checkpoint> {
    const { workerId, idempotencyKey, baseCheckpointId = "" } = request;
    const base = baseCheckpointId === ""
      ? undefined
      : baseOf(await this.#manifest("save checkpoint", workerId, baseCheckpointId, false));
    const { refs, sha256, sizeBytes } = await this.#writeChunks(data, leased, base);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      checkpoint_id: checkpointId,
      worker_id: workerId,
      size_bytes: sizeBytes,
      sha256,
      metadata: request.metadata,
      idempotency_key: idempotencyKey,
      created_at: new Date().toISOString(),
      chunks: refs,
    };
    request.beforeCommit?.({ sizeBytes, sha256, chunks: refs });
    await this.#store.put(
      manifestKeyOf(workerId, checkpointId),
      encodeManifest(manifest),
    );
    return toCheckpoint(manifest);
  }

  // Cuts `data` into chunks and writes each one absent from the store, with
  // at most `writesInFlight` writes at once. Each chunk is leased (and pushed
  // onto `leased`) before its write, so that a deduplicated chunk cannot be
  // collected between the write finding it and the manifest naming it. A
  // chunk named from `base` is leased and read back, for the whole SHA-256.
  async #writeChunks(
    data: AsyncIterable<Uint8Array | NamedChunk>,
    leased: string[],
    base: Base | undefined,
  ) {
    const whole = createHash("sha256");
    const refs: ChunkRef[] = [];
    const inFlight: Promise<void>[] = [];
    let sizeBytes = 0;
    const checkSize = (more: number) => {
      const last = refs.at(-1);
      if (last !== undefined && last.size < CHUNK_BYTES) {
        throw new PulseError(
          "INVALID_ARGUMENT",
          `Cannot save checkpoint: bytes follow chunk ${
            refs.length - 1
          }, which is shorter than ${CHUNK_BYTES} bytes; only the last chunk may be`,
        );
      }
      if (sizeBytes + more > this.#options.checkpointBytesMax) {
        throw new PulseError(
          "RESOURCE_EXHAUSTED",
          `Cannot save checkpoint: it is larger than ${this.#options.checkpointBytesMax} bytes, the limit (limits.checkpoint_bytes_max)`,
        );
      }
    };
    // The whole-stream hash is fed in stream order behind the loop, so that a
    // named chunk is fetched as soon as its name arrives, with up to
    // `readsAhead` fetched or waiting to be hashed at once.
    let hashed: Promise<unknown> = Promise.resolve();
    const feedWhole = (bytes: Promise<Uint8Array>): Promise<unknown> => {
      bytes.catch(() => {}); // awaited in the chain; never an unhandled rejection
      hashed = hashed.then(async () => hashInSlices(whole, await bytes));
      hashed.catch(() => {}); // awaited below
      return hashed;
    };
    const named: Promise<unknown>[] = [];
    try {
      for await (const chunk of chunks(data, this.#buffers)) {
        if (!(chunk instanceof Uint8Array)) {
          const size = namedChunkSize(chunk, base, sizeBytes);
          checkSize(size);
          refs.push({ sha256: chunk.sha256, size });
          sizeBytes += size;
          named.push(feedWhole(this.#readNamedChunk(chunk.sha256, size, base!, leased)));
          chunksWrittenTotal.inc({ result: "named" });
          if (named.length > this.#options.readsAhead) await named.shift();
          continue;
        }
        let written: Promise<[boolean, unknown]>;
        try {
          checkSize(chunk.length);
          const sha256 = await sha256InSlices(chunk);
          refs.push({ sha256, size: chunk.length });
          sizeBytes += chunk.length;
          leased.push(sha256);
          await this.#leases.acquire(sha256);
          written = Promise.all([
            this.#store.putIfAbsent(chunkKeyOf(sha256), chunk),
            feedWhole(Promise.resolve(chunk)),
          ]);
        } catch (error) {
          this.#buffers.release(chunk);
          throw error;
        }
        // The buffer goes back once the chunk is written and in the whole hash.
        const write = written.then(([fresh]) => {
          chunksWrittenTotal.inc({ result: fresh ? "written" : "deduplicated" });
        }).finally(() => this.#buffers.release(chunk));
        write.catch(() => {}); // awaited below; never an unhandled rejection
        inFlight.push(write);
        if (inFlight.length >= this.#options.writesInFlight) {
          await inFlight.shift();
        }
      }
      await Promise.all(inFlight);
      await hashed;
    } catch (error) {
      await Promise.allSettled([...inFlight, hashed]);
      throw error;
    }
    return { refs, sha256: whole.digest("hex"), sizeBytes };
  }

  // The bytes of a chunk of `base` the client named instead of sending;
  // leased (into `leased`) before it is read.
  async #readNamedChunk(
    sha256: string,
    size: number,
    base: Base,
    leased: string[],
  ): Promise<Uint8Array> {
    leased.push(sha256);
    await this.#leases.acquire(sha256);
    const bytes = await this.#store.get(chunkKeyOf(sha256));
    if (bytes === undefined || bytes.length !== size) {
      throw new PulseError(
        "DATA_LOSS",
        `Cannot save checkpoint: chunk ${sha256} of base checkpoint ${base.checkpointId} ${
          bytes === undefined ? "is missing" : `is ${bytes.length} bytes, expected ${size}`
        }; save without a base`,
      );
    }
    return bytes;
  }

  /**
   * Opens a checkpoint for reading: its description, and its bytes (all, or
   * `length` bytes from `offset`), piece by piece, each chunk verified against
   * its SHA-256 before any byte of it is yielded.
   * @param checkpointId empty for the worker's latest checkpoint
   * @param range `length` 0 means up to the end
   */
  async load(
    workerId: string,
    checkpointId: string,
    range: { offset: number; length: number } = { offset: 0, length: 0 },
  ): Promise<{ checkpoint: Checkpoint; data: AsyncGenerator<Uint8Array> }> {
    const manifest = await this.#manifest("load checkpoint", workerId, checkpointId);
    if (range.offset > manifest.size_bytes) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot load checkpoint ${manifest.checkpoint_id}: offset ${range.offset} is beyond its size ${manifest.size_bytes}`,
      );
    }
    const end = range.length === 0
      ? manifest.size_bytes
      : Math.min(manifest.size_bytes, range.offset + range.length);
    return {
      checkpoint: toCheckpoint(manifest),
      data: this.#readChunks(manifest, range.offset, end),
    };
  }

  // Yields bytes [start, end) of a checkpoint, fetching the chunks that hold
  // them with up to `readsAhead` fetches ahead of the one being yielded.
  async *#readChunks(manifest: Manifest, start: number, end: number): AsyncGenerator<Uint8Array> {
    const wanted: { index: number; from: number; to: number }[] = [];
    let chunkStart = 0;
    manifest.chunks.forEach((ref, index) => {
      const chunkEnd = chunkStart + ref.size;
      if (chunkEnd > start && chunkStart < end) {
        wanted.push({
          index,
          from: Math.max(start - chunkStart, 0),
          to: Math.min(end, chunkEnd) - chunkStart,
        });
      }
      chunkStart = chunkEnd;
    });
    const pending: Promise<Uint8Array>[] = [];
    let next = 0;
    const fetchNext = () => {
      const read = this.#readChunk(manifest, wanted[next++]!.index);
      read.catch(() => {}); // awaited in order below; never an unhandled rejection
      pending.push(read);
    };
    while (next < wanted.length && pending.length <= this.#options.readsAhead) fetchNext();
    for (const { from, to } of wanted) {
      const bytes = await pending.shift()!;
      if (next < wanted.length) fetchNext();
      yield bytes.subarray(from, to);
    }
  }

  async #readChunk(manifest: Manifest, index: number): Promise<Uint8Array> {
    const ref = manifest.chunks[index]!;
    const bytes = await this.#store.get(chunkKeyOf(ref.sha256));
    const problem = bytes === undefined
      ? "is missing"
      : bytes.length !== ref.size
      ? `is ${bytes.length} bytes, expected ${ref.size}`
      : await sha256InSlices(bytes) !== ref.sha256
      ? "fails its SHA-256 check"
      : undefined;
    if (problem !== undefined) {
      log.error(TARGET, "Checkpoint chunk failed verification", {
        worker_id: manifest.worker_id,
        checkpoint_id: manifest.checkpoint_id,
        chunk_index: index,
        chunk_sha256: ref.sha256,
        problem,
      });
      throw new PulseError(
        "DATA_LOSS",
        `Cannot load checkpoint ${manifest.checkpoint_id}: chunk ${index} (${ref.sha256}) ${problem}`,
      );
    }
    return bytes!;
  }

  /**
   * Describes a checkpoint, with the SHA-256 of each of its chunks in order.
   * @param checkpointId empty for the worker's latest checkpoint
   */
  async get(
    workerId: string,
    checkpointId: string,
  ): Promise<{ checkpoint: Checkpoint; chunkSha256s: string[] }> {
    const manifest = await this.#manifest("get checkpoint", workerId, checkpointId);
    return {
      checkpoint: toCheckpoint(manifest),
      chunkSha256s: manifest.chunks.map((chunk) => chunk.sha256),
    };
  }

  /** Lists a worker's checkpoints, newest first, a page at a time. */
  async list(
    workerId: string,
    requestedPageSize: number,
    pageToken: string,
  ): Promise<{ checkpoints: Checkpoint[]; nextPageToken: string }> {
    const action = "list checkpoints";
    validateId(action, "worker_id", workerId);
    const size = pageSize(action, requestedPageSize);
    const prefix = manifestPrefixOf(workerId);
    const startAfter = decodePageToken(action, pageToken, prefix);
    // One key more than the page tells whether there is a next page.
    const infos = await this.#store.list(prefix, {
      startAfter,
      limit: size + 1,
    });
    const page = infos.slice(0, size);
    const manifests = await Promise.all(
      page.map((info) => this.#readManifest(info.key)),
    );
    return {
      checkpoints: manifests.filter((m) => m !== undefined).map(toCheckpoint),
      nextPageToken: infos.length > size ? encodePageToken(page[page.length - 1]!.key) : "",
    };
  }

  /** Deletes a checkpoint; its chunks stay until garbage collection. */
  async delete(workerId: string, checkpointId: string): Promise<void> {
    const manifest = await this.#manifest(
      "delete checkpoint",
      workerId,
      checkpointId,
      false,
    );
    await this.#store.delete(manifestKeyOf(workerId, manifest.checkpoint_id));
    if (manifest.idempotency_key !== "") {
      await this.#store.delete(
        idempotencyRecordKeyOf(workerId, manifest.idempotency_key),
      );
    }
  }

  async #manifest(
    action: string,
    workerId: string,
    checkpointId: string,
    latestAllowed = true,
  ): Promise<Manifest> {
    validateId(action, "worker_id", workerId);
    if (checkpointId === "" && latestAllowed) {
      const [latest] = await this.#store.list(manifestPrefixOf(workerId), {
        limit: 1,
      });
      const manifest = latest && await this.#readManifest(latest.key);
      if (!manifest) {
        throw new PulseError(
          "NOT_FOUND",
          `Cannot ${action}: worker ${workerId} has no checkpoint`,
        );
      }
      return manifest;
    }
    if (!isCheckpointId(checkpointId)) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot ${action}: checkpoint_id ${
          JSON.stringify(checkpointId)
        } is not "chk_" followed by a 26-character ULID`,
      );
    }
    const manifest = await this.#readManifest(
      manifestKeyOf(workerId, checkpointId),
    );
    if (manifest === undefined) {
      throw new PulseError(
        "NOT_FOUND",
        `Cannot ${action}: checkpoint ${checkpointId} of worker ${workerId} does not exist`,
      );
    }
    return manifest;
  }

  async #readManifest(key: string): Promise<Manifest | undefined> {
    const bytes = await this.#store.get(key);
    return bytes === undefined ? undefined : decodeManifest(key, bytes);
  }

  async #findByIdempotencyKey(
    workerId: string,
    idempotencyKey: string,
  ): Promise<Checkpoint | undefined> {
    const claim = await this.#store.get(
      idempotencyRecordKeyOf(workerId, idempotencyKey),
    );
    if (claim === undefined) return undefined;
    const { checkpoint_id: checkpointId } = JSON.parse(decoder.decode(claim));
    const manifest = await this.#readManifest(
      manifestKeyOf(workerId, checkpointId),
    );
    return manifest && toCheckpoint(manifest);
  }
}

// A base checkpoint of a save: the chunks the save may name, and their sizes.
interface Base {
  checkpointId: string;
  chunkSizes: Map<string, number>;
}

// The size of a chunk the client named, which must be one of `base`.
function namedChunkSize({ sha256 }: NamedChunk, base: Base | undefined, offset: number): number {
  const size = base?.chunkSizes.get(sha256);
  if (size === undefined) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      base === undefined
        ? `Cannot save checkpoint: chunk_sha256 ${sha256} at byte ${offset} names a chunk, but the header has no base_checkpoint_id`
        : `Cannot save checkpoint: chunk_sha256 ${sha256} at byte ${offset} is not a chunk of base checkpoint ${base.checkpointId}`,
    );
  }
  return size;
}

function baseOf(manifest: Manifest): Base {
  return {
    checkpointId: manifest.checkpoint_id,
    chunkSizes: new Map(manifest.chunks.map((chunk) => [chunk.sha256, chunk.size])),
  };
}

function toCheckpoint(manifest: Manifest): Checkpoint {
  return {
    checkpointId: manifest.checkpoint_id,
    workerId: manifest.worker_id,
    sizeBytes: manifest.size_bytes,
    sha256: manifest.sha256,
    metadata: manifest.metadata,
    idempotencyKey: manifest.idempotency_key,
    createdAt: new Date(manifest.created_at),
  };
}
