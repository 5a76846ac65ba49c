/**
 * The write pipeline of a save: cuts its data into chunks, writes each chunk
 * the store lacks (`putIfAbsent`, so identical data is stored once), and
 * hashes the whole stream in order.
 *
 * It reads its source only as fast as chunk writes finish: at most
 * `writesInFlight` chunk writes run at once, so a save holds at most
 * `writesInFlight + 1` chunks in memory, whatever the checkpoint size, and all
 * saves together at most `chunkBuffers` chunks, however many run. Each chunk
 * is leased before its write and until the save's commit settles, so that the
 * garbage collector of this process never removes it under the save (see
 * `chunk_leases.ts`).
 *
 * A save may name chunks of a base checkpoint instead of sending them; each is
 * leased and read back, up to `readsAhead` ahead, verified against its
 * SHA-256 and fed to the whole-stream SHA-256, which therefore always covers
 * bytes the runtime holds.
 *
 * No stored chunk is reused unread: a chunk the store already has (a
 * deduplicated one) is compared with the bytes the save sent for it before
 * the save may commit, and rewritten from them if it differs (a rotten chunk
 * repaired); a named chunk that fails its SHA-256 fails the save with
 * DATA_LOSS. The comparison reads `CHUNK_VERIFY_SLICE_BYTES` at a time within
 * the chunk's write slot, so a save's memory stays within its in-flight
 * limits.
 */
import { Buffer } from "node:buffer";
import { PulseError } from "../errors.ts";
import { chunkKeyOf } from "../keys.ts";
import { CHUNK_BYTES, CHUNK_VERIFY_SLICE_BYTES } from "../limits.ts";
import { log } from "../log.ts";
import { chunksWrittenTotal } from "../metrics.ts";
import type { ObjectStore } from "../storage/store.ts";
import { ChunkBuffers } from "./chunk_buffers.ts";
import { ChunkLeases } from "./chunk_leases.ts";
import { chunks, type NamedChunk } from "./chunker.ts";
import type { Hasher, StreamHash } from "./hasher.ts";
import type { ChunkRef, Manifest } from "./manifest.ts";

const TARGET = "pulse::checkpoint";

/** Options of a `ChunkWriter`. */
export interface ChunkWriterOptions {
  /** Chunk writes in flight per save (`storage.writes_in_flight`). */
  writesInFlight: number;
  /** Chunk buffers shared by all saves (`storage.chunk_buffers`). */
  chunkBuffers: number;
  /** Longest wait of a save for a free chunk buffer (`storage.chunk_buffer_wait_ms`). */
  chunkBufferWaitMs: number;
  /** Chunks read ahead per save or load (`storage.reads_ahead`). */
  readsAhead: number;
  /** Largest checkpoint a save may write. */
  checkpointBytesMax: number;
  /** Hashes chunks and whole streams (a pool of Web Workers in the runtime). */
  hasher: Hasher;
}

/** What a save wrote: its chunks in order, the SHA-256 of all its bytes, and their count. */
export interface WrittenChunks {
  chunks: ChunkRef[];
  sha256: string;
  sizeBytes: number;
}

/** A base checkpoint of a save: the chunks the save may name, and their sizes. */
export interface Base {
  checkpointId: string;
  chunkSizes: Map<string, number>;
}

/** The base a checkpoint's manifest makes. */
export function baseOf(manifest: Manifest): Base {
  return {
    checkpointId: manifest.checkpoint_id,
    chunkSizes: new Map(manifest.chunks.map((chunk) => [chunk.sha256, chunk.size])),
  };
}

/** Writes the chunks of saves, sharing one buffer pool and one set of leases. */
export class ChunkWriter {
  readonly #parts: WriterParts;

  constructor(store: ObjectStore, options: ChunkWriterOptions) {
    this.#parts = {
      store,
      options,
      buffers: new ChunkBuffers(options.chunkBuffers, CHUNK_BYTES, options.chunkBufferWaitMs),
      leases: new ChunkLeases(),
    };
  }

  /** The leases saves in progress hold on their chunks, for the garbage collector. */
  get leases(): ChunkLeases {
    return this.#parts.leases;
  }

  /**
   * Writes the chunks of `data`, then calls `commit` with what was written
   * while every chunk is still leased; gives the leases back once `commit`
   * settles, or once the writing failed. `data` may name chunks of `base`
   * instead of sending their bytes; `signal` (the client has gone) stops a
   * wait for a chunk buffer.
   */
  async write<T>(
    data: AsyncIterable<Uint8Array | NamedChunk>,
    commit: (written: WrittenChunks) => Promise<T>,
    options: { base?: Base; signal?: AbortSignal; hold?: (sha256: string) => Promise<void> } = {},
  ): Promise<T> {
    const save = new SaveChunks(this.#parts, options.base, options.hold);
    try {
      const source = chunks(data, this.#parts.buffers, options.signal);
      return await commit(await save.write(source));
    } finally {
      save.releaseLeases();
    }
  }
}

// What the saves of one writer share.
interface WriterParts {
  store: ObjectStore;
  options: ChunkWriterOptions;
  buffers: ChunkBuffers;
  leases: ChunkLeases;
}

// The chunks of one save on their way to the store.
class SaveChunks {
  readonly #parts: WriterParts;
  readonly #base: Base | undefined;
  readonly #whole: StreamHash;
  readonly #refs: ChunkRef[] = [];
  readonly #leased: string[] = [];
  readonly #inFlight: Promise<void>[] = [];
  readonly #named: Promise<unknown>[] = [];
  #sizeBytes = 0;
  // The whole-stream hash is fed in stream order behind the writes, so that a
  // named chunk is fetched as soon as its name arrives.
  #hashed: Promise<unknown> = Promise.resolve();

  // Holds a chunk in the store for other replicas' collectors (`save_lease.ts`).
  readonly #hold: (sha256: string) => Promise<void>;

  constructor(
    parts: WriterParts,
    base: Base | undefined,
    hold: ((sha256: string) => Promise<void>) | undefined,
  ) {
    this.#parts = parts;
    this.#base = base;
    this.#whole = parts.options.hasher.stream();
    this.#hold = hold ?? (() => Promise.resolve());
  }

  // Writes every chunk, and waits for the writes and the whole-stream hash.
  async write(source: AsyncIterable<Uint8Array | NamedChunk>): Promise<WrittenChunks> {
    try {
      for await (const chunk of source) {
        if (chunk instanceof Uint8Array) await this.#writeBytes(chunk);
        else await this.#writeNamed(chunk);
      }
      await Promise.all(this.#inFlight);
      await this.#hashed;
    } catch (error) {
      await Promise.allSettled([...this.#inFlight, this.#hashed]);
      this.#whole.digest().catch(() => {}); // ends the running hash
      throw error;
    }
    const sha256 = await this.#whole.digest();
    return { chunks: this.#refs, sha256, sizeBytes: this.#sizeBytes };
  }

  releaseLeases(): void {
    for (const sha256 of this.#leased) this.#parts.leases.release(sha256);
  }

  // Writes a chunk of bytes unless the store has it, with at most
  // `writesInFlight` writes at once. The chunk is leased before its write, so
  // that a deduplicated chunk cannot be collected between the write finding
  // it and the manifest naming it.
  async #writeBytes(chunk: Uint8Array): Promise<void> {
    const { store, buffers, options } = this.#parts;
    let written: Promise<[ChunkStored, unknown]>;
    try {
      this.#checkSize(chunk.length);
      const sha256 = await options.hasher.sha256(chunk);
      this.#add({ sha256, size: chunk.length });
      await this.#lease(sha256);
      // Held in the store before it is written or reused, not in this loop:
      // chunk writes in flight share the lease writes.
      written = Promise.all([
        this.#hold(sha256).then(() => storeChunk(store, sha256, chunk)),
        this.#feedWhole(Promise.resolve(chunk)),
      ]);
    } catch (error) {
      buffers.release(chunk);
      throw error;
    }
    // The buffer goes back once the chunk is written and in the whole hash.
    const write = written.then(([result]) => {
      chunksWrittenTotal.inc({ result });
    }).finally(() => buffers.release(chunk));
    write.catch(() => {}); // awaited below or in write(); never an unhandled rejection
    this.#inFlight.push(write);
    if (this.#inFlight.length >= options.writesInFlight) await this.#inFlight.shift();
  }

  // Takes a chunk of the base that the client named, reading it back for the
  // whole hash with up to `readsAhead` read or waiting to be hashed at once.
  async #writeNamed({ sha256 }: NamedChunk): Promise<void> {
    const size = namedChunkSize(sha256, this.#base, this.#sizeBytes);
    this.#checkSize(size);
    this.#add({ sha256, size });
    this.#named.push(this.#feedWhole(this.#readNamed(sha256, size, this.#base!)));
    chunksWrittenTotal.inc({ result: "named" });
    if (this.#named.length > this.#parts.options.readsAhead) await this.#named.shift();
  }

  // The bytes of a named chunk, leased before they are read, and verified.
  async #readNamed(sha256: string, size: number, base: Base): Promise<Uint8Array> {
    await this.#lease(sha256);
    await this.#hold(sha256);
    const bytes = await this.#parts.store.get(chunkKeyOf(sha256));
    if (bytes === undefined || bytes.length !== size) {
      throw new PulseError(
        "DATA_LOSS",
        `Cannot save checkpoint: chunk ${sha256} of base checkpoint ${base.checkpointId} ${
          bytes === undefined ? "is missing" : `is ${bytes.length} bytes, expected ${size}`
        }; save without a base`,
      );
    }
    if (await this.#parts.options.hasher.sha256(bytes) !== sha256) {
      log.error(TARGET, "Named chunk failed verification", {
        base_checkpoint_id: base.checkpointId,
        chunk_sha256: sha256,
      });
      throw new PulseError(
        "DATA_LOSS",
        `Cannot save checkpoint: chunk ${sha256} of base checkpoint ${base.checkpointId} fails its SHA-256 check; send it in full`,
      );
    }
    return bytes;
  }

  #checkSize(more: number): void {
    const last = this.#refs.at(-1);
    if (last !== undefined && last.size < CHUNK_BYTES) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot save checkpoint: bytes follow chunk ${
          this.#refs.length - 1
        }, which is shorter than ${CHUNK_BYTES} bytes; only the last chunk may be`,
      );
    }
    const { checkpointBytesMax } = this.#parts.options;
    if (this.#sizeBytes + more > checkpointBytesMax) {
      throw new PulseError(
        "RESOURCE_EXHAUSTED",
        `Cannot save checkpoint: it is larger than ${checkpointBytesMax} bytes, the limit (limits.checkpoint_bytes_max)`,
      );
    }
  }

  #add(ref: ChunkRef): void {
    this.#refs.push(ref);
    this.#sizeBytes += ref.size;
  }

  // Leases a chunk until releaseLeases().
  #lease(sha256: string): Promise<void> {
    this.#leased.push(sha256);
    return this.#parts.leases.acquire(sha256);
  }

  // Feeds bytes to the whole hash once all bytes before them are in it.
  #feedWhole(bytes: Promise<Uint8Array>): Promise<unknown> {
    bytes.catch(() => {}); // awaited in the chain; never an unhandled rejection
    this.#hashed = this.#hashed.then(async () => this.#whole.update(await bytes));
    this.#hashed.catch(() => {}); // awaited in write()
    return this.#hashed;
  }
}

/** What a save did with a chunk of bytes, as `pulse_chunks_total` counts it. */
type ChunkStored = "written" | "deduplicated" | "rewritten";

// Writes a chunk unless the store has it whole. A stored copy is reused only
// once it equals the bytes sent, whose SHA-256 names it (so it passes its
// SHA-256 check); one that differs has rotted, and is replaced by them.
async function storeChunk(
  store: ObjectStore,
  sha256: string,
  chunk: Uint8Array,
): Promise<ChunkStored> {
  const key = chunkKeyOf(sha256);
  if (await store.putIfAbsent(key, chunk)) return "written";
  if (await storedEquals(store, key, chunk)) return "deduplicated";
  log.warn(TARGET, "Stored chunk failed verification; rewritten from the bytes of a save", {
    chunk_sha256: sha256,
  });
  await store.put(key, chunk);
  return "rewritten";
}

// Whether the object at `key` holds exactly `bytes`, read a slice at a time.
async function storedEquals(store: ObjectStore, key: string, bytes: Uint8Array): Promise<boolean> {
  for (let offset = 0;; offset += CHUNK_VERIFY_SLICE_BYTES) {
    const expected = bytes.subarray(offset, offset + CHUNK_VERIFY_SLICE_BYTES);
    const last = offset + expected.length === bytes.length;
    // The last slice asks for a byte more: a longer object differs too.
    const length = expected.length + (last ? 1 : 0);
    const stored = await store.get(key, { offset, length });
    if (stored === undefined || !viewOf(stored).equals(viewOf(expected))) return false;
    if (last) return true;
  }
}

// A Buffer over the same memory (Buffer.from of a Uint8Array would copy it).
function viewOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

// The size of a chunk the client named, which must be one of `base`.
function namedChunkSize(sha256: string, base: Base | undefined, offset: number): number {
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
