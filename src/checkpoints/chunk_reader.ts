/**
 * The read pipeline of a load: the chunks that hold a range of a checkpoint,
 * fetched with up to `readsAhead` fetches ahead of the one being yielded, and
 * each verified against its size and SHA-256 before any byte of it is.
 */
import { PulseError } from "../errors.ts";
import { chunkKeyOf } from "../keys.ts";
import { log } from "../log.ts";
import type { ObjectStore } from "../storage/store.ts";
import type { Hasher } from "./hasher.ts";
import type { ChunkRef, Manifest } from "./manifest.ts";

/** A byte range of a checkpoint: `length` bytes from `offset`, 0 meaning up to the end. */
export interface CheckpointRange {
  offset: number;
  length: number;
}

/** The bytes [`from`, `to`) of chunk `index` that a range takes. */
export interface ChunkSlice {
  index: number;
  from: number;
  to: number;
}

const TARGET = "pulse::checkpoint";

/**
 * The slices of `chunks` (in order, as a manifest lists them) that hold the
 * bytes [`start`, `end`) of their concatenation.
 */
export function slicesInRange(
  chunks: readonly ChunkRef[],
  start: number,
  end: number,
): ChunkSlice[] {
  const slices: ChunkSlice[] = [];
  let chunkStart = 0;
  chunks.forEach((ref, index) => {
    const chunkEnd = chunkStart + ref.size;
    if (chunkEnd > start && chunkStart < end) {
      slices.push({
        index,
        from: Math.max(start - chunkStart, 0),
        to: Math.min(end, chunkEnd) - chunkStart,
      });
    }
    chunkStart = chunkEnd;
  });
  return slices;
}

/** Reads checkpoints' bytes back, verified. */
export class ChunkReader {
  readonly #store: ObjectStore;
  readonly #readsAhead: number;
  readonly #hasher: Hasher;

  /**
   * @param readsAhead chunks fetched ahead per load (`storage.reads_ahead`)
   * @param hasher verifies each chunk
   */
  constructor(store: ObjectStore, readsAhead: number, hasher: Hasher) {
    this.#hasher = hasher;
    this.#store = store;
    this.#readsAhead = readsAhead;
  }

  /**
   * The bytes of `range` of a checkpoint, piece by piece, each chunk verified
   * before any byte of it is yielded.
   * @throws {PulseError} INVALID_ARGUMENT at once when the range starts beyond
   *   the checkpoint; DATA_LOSS from the generator for a chunk that is
   *   missing or fails verification
   */
  read(manifest: Manifest, range: CheckpointRange): AsyncGenerator<Uint8Array> {
    if (range.offset > manifest.size_bytes) {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot load checkpoint ${manifest.checkpoint_id}: offset ${range.offset} is beyond its size ${manifest.size_bytes}`,
      );
    }
    const end = range.length === 0
      ? manifest.size_bytes
      : Math.min(manifest.size_bytes, range.offset + range.length);
    return this.#readSlices(manifest, slicesInRange(manifest.chunks, range.offset, end));
  }

  async *#readSlices(manifest: Manifest, slices: ChunkSlice[]): AsyncGenerator<Uint8Array> {
    const pending: Promise<Uint8Array>[] = [];
    let next = 0;
    const fetchNext = () => {
      const read = this.#readChunk(manifest, slices[next++]!.index);
      read.catch(() => {}); // awaited in order below; never an unhandled rejection
      pending.push(read);
    };
    while (next < slices.length && pending.length <= this.#readsAhead) fetchNext();
    for (const { from, to } of slices) {
      const bytes = await pending.shift()!;
      if (next < slices.length) fetchNext();
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
      : await this.#hasher.sha256(bytes) !== ref.sha256
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
}
