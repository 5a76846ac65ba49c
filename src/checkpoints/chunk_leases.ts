/**
 * Chunk leases: how saves in progress and the garbage collector of this
 * process agree on which chunks may be deleted.
 *
 * A save takes a lease on each chunk hash before it writes (or deduplicates)
 * the chunk, and gives its leases back once its manifest is written or the
 * save failed. The collector opens a `ChunkCollection` before it lists any
 * manifest; every hash leased while that collection is open is remembered by
 * it, so that a save that commits after the collector's listing still keeps
 * its chunks. A chunk is deleted only through `deleteIfFree`, whose check and
 * start of the deletion happen in one synchronous step; a save that leases the
 * hash during the deletion waits for it to end and then writes the chunk anew.
 */

/** What a garbage collection run remembers: every hash leased while it was open. */
export interface ChunkCollection {
  /** Whether a lease protects `sha256` from this collection. */
  isProtected(sha256: string): boolean;
  /** Closes the collection; hashes leased later are no longer recorded. */
  close(): void;
}

/** The chunk leases of one process. */
export class ChunkLeases {
  #held = new Map<string, number>();
  #collections = new Set<Set<string>>();
  #deleting = new Map<string, Promise<void>>();

  /**
   * Leases a chunk hash. Resolves once no deletion of that chunk is under
   * way, so that the caller's write that follows finds the chunk either whole
   * or absent, never about to vanish.
   */
  async acquire(sha256: string): Promise<void> {
    this.#held.set(sha256, (this.#held.get(sha256) ?? 0) + 1);
    for (const leased of this.#collections) leased.add(sha256);
    await this.#deleting.get(sha256);
  }

  /** Gives back one lease of `sha256`. */
  release(sha256: string): void {
    const count = this.#held.get(sha256) ?? 0;
    if (count <= 1) this.#held.delete(sha256);
    else this.#held.set(sha256, count - 1);
  }

  /** Number of distinct hashes leased now. */
  get size(): number {
    return this.#held.size;
  }

  /** Opens a collection; close it when the run ends. */
  openCollection(): ChunkCollection {
    const leased = new Set<string>(this.#held.keys());
    this.#collections.add(leased);
    return {
      isProtected: (sha256) => leased.has(sha256) || this.#held.has(sha256),
      close: () => {
        this.#collections.delete(leased);
      },
    };
  }

  /**
   * Deletes a chunk with `remove` unless a lease protects it from
   * `collection`. Deletions of a hash never overlap with a lease taken of it.
   * @returns true if this call deleted it, false if a lease protected it
   */
  async deleteIfFree(
    sha256: string,
    collection: ChunkCollection,
    remove: () => Promise<void>,
  ): Promise<boolean> {
    // From here to the set() below nothing awaits: no lease can slip in.
    if (collection.isProtected(sha256) || this.#deleting.has(sha256)) return false;
    const deletion = remove();
    const settled = deletion.then(() => {}, () => {});
    this.#deleting.set(sha256, settled);
    try {
      await deletion;
      return true;
    } finally {
      this.#deleting.delete(sha256);
    }
  }
}
