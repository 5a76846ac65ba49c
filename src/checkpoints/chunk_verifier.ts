/**
 * The commit side of a direct-path save: its client uploaded the chunks
 * straight to the bucket and names them, in order; before the manifest is
 * written, every one is checked to be in the store with its size and its
 * SHA-256 (the checksum the store verified on upload, where it keeps one;
 * otherwise the bytes are read back and hashed, since a store that checks
 * no checksum takes any bytes under any name). A chunk missing or wrong
 * fails the save with DATA_LOSS naming it, and nothing is committed.
 */
import { PulseError } from "../errors.ts";
import { chunkKeyOf } from "../keys.ts";
import { chunksWrittenTotal } from "../metrics.ts";
import type { DirectTransfer, ObjectStore } from "../storage/store.ts";
import type { ChunkLeases } from "./chunk_leases.ts";
import { checkNextChunk } from "./chunk_sizes.ts";
import type { WrittenChunks } from "./chunk_writer.ts";
import type { NamedChunk } from "./chunker.ts";
import type { ExpectedContent } from "./content_problem.ts";
import type { Hasher } from "./hasher.ts";
import type { ChunkRef } from "./manifest.ts";

/** What a `ChunkVerifier` checks with. */
export interface ChunkVerifierParts {
  store: ObjectStore;
  direct: DirectTransfer;
  /** The in-process leases, shared with the chunk writer and the collector. */
  leases: ChunkLeases;
  /** Checks in flight per save. */
  checksInFlight: number;
  /** Hashes the chunks it reads back. */
  hasher: Hasher;
  checkpointBytesMax: number;
}

/** Whether an item of a save's data names a stored chunk with its size. */
export function isChunkRef(item: Uint8Array | NamedChunk | ChunkRef): item is ChunkRef {
  return !(item instanceof Uint8Array) && "size" in item;
}

/** Checks the chunks of direct-path saves. */
export class ChunkVerifier {
  readonly #parts: ChunkVerifierParts;

  constructor(parts: ChunkVerifierParts) {
    this.#parts = parts;
  }

  /**
   * Checks every chunk `items` names, then calls `commit` with them while
   * each is leased in this process. The trailer must carry the SHA-256 of
   * the bytes (the client hashed them; the runtime never sees them) and of
   * the chunk list.
   * @throws {PulseError} INVALID_ARGUMENT for an item that is not a chunk
   *   reference or a trailer without hashes, DATA_LOSS for a chunk missing or wrong
   */
  async verify<T>(
    items: AsyncIterable<Uint8Array | NamedChunk | ChunkRef>,
    expected: Promise<ExpectedContent | undefined>,
    commit: (written: WrittenChunks) => Promise<T>,
  ): Promise<T> {
    const { leases } = this.#parts;
    const leased: string[] = [];
    try {
      const chunks = await this.#checkAll(items, leased);
      const content = await expected;
      if (content === undefined || content.sha256 === "" || content.chunksSha256 === "") {
        throw new PulseError(
          "INVALID_ARGUMENT",
          "Cannot save checkpoint: the trailer of a save with a plan_id must carry sha256 and chunks_sha256; nothing was committed",
        );
      }
      const sizeBytes = chunks.reduce((sum, chunk) => sum + chunk.size, 0);
      return await commit({ chunks, sha256: content.sha256, sizeBytes });
    } finally {
      for (const sha256 of leased) leases.release(sha256);
    }
  }

  // Leases and checks each chunk, with up to `checksInFlight` checks at once.
  async #checkAll(
    items: AsyncIterable<Uint8Array | NamedChunk | ChunkRef>,
    leased: string[],
  ): Promise<ChunkRef[]> {
    const chunks: ChunkRef[] = [];
    let sizeBytes = 0;
    const checks: Promise<void>[] = [];
    try {
      for await (const item of items) {
        if (!isChunkRef(item)) {
          throw new PulseError(
            "INVALID_ARGUMENT",
            `Cannot save checkpoint: message ${
              chunks.length + 1
            } carries bytes or a chunk_sha256, but a save with a plan_id names its chunks in chunk messages`,
          );
        }
        checkNextChunk(chunks, sizeBytes, item.size, this.#parts.checkpointBytesMax);
        const index = chunks.length;
        chunks.push({ sha256: item.sha256, size: item.size });
        sizeBytes += item.size;
        leased.push(item.sha256);
        await this.#parts.leases.acquire(item.sha256);
        const check = this.#check(item, index);
        check.catch(() => {}); // awaited below
        checks.push(check);
        if (checks.length >= this.#parts.checksInFlight) await checks.shift();
      }
      await Promise.all(checks);
    } catch (error) {
      await Promise.allSettled(checks);
      throw error;
    }
    return chunks;
  }

  async #check(chunk: ChunkRef, index: number): Promise<void> {
    const key = chunkKeyOf(chunk.sha256);
    const stored = await this.#parts.direct.describe(key);
    const fail = (problem: string) =>
      new PulseError(
        "DATA_LOSS",
        `Cannot save checkpoint: chunk ${index} (${chunk.sha256}) ${problem}; nothing was committed`,
      );
    if (stored === undefined) throw fail("is not in the store: upload it, then commit again");
    if (stored.size !== chunk.size) throw fail(`is ${stored.size} bytes, expected ${chunk.size}`);
    if (stored.sha256 !== undefined) {
      if (stored.sha256 !== chunk.sha256) throw fail(`was stored with SHA-256 ${stored.sha256}`);
      chunksWrittenTotal.inc({ result: "direct" });
      return;
    }
    const bytes = await this.#parts.store.get(key);
    if (bytes === undefined) throw fail("is not in the store: upload it, then commit again");
    if (await this.#parts.hasher.sha256(bytes) !== chunk.sha256) {
      // Bytes under a name they do not hash to would be taken as that chunk
      // by every later save: they go, and the client uploads them again.
      await this.#parts.store.delete(key);
      throw fail("holds bytes of another SHA-256 (the store checks no checksums); upload it again");
    }
    chunksWrittenTotal.inc({ result: "direct" });
  }
}
