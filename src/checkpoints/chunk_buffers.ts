/** The pool of chunk buffers that all saves share, which bounds their memory together. */

/**
 * A fixed number of chunk-sized buffers shared by every save: the runtime's
 * memory for checkpoint bytes on their way to the store. A save waits for a
 * buffer when all are taken, and its gRPC stream waits with it. Buffers are
 * reused rather than left to the garbage collector, so the memory they take
 * is what they are, not what the collector has not yet freed.
 */
export class ChunkBuffers {
  readonly #free: ArrayBuffer[] = [];
  readonly #waiting: ((buffer: ArrayBuffer) => void)[] = [];
  #allocated = 0;

  /**
   * @param count most buffers at once
   * @param chunkBytes the size of each, the size of every chunk but the last
   */
  constructor(readonly count: number, readonly chunkBytes: number) {}

  /** A buffer of `chunkBytes`, when one is free. */
  async acquire(): Promise<Uint8Array> {
    const free = this.#free.pop();
    if (free !== undefined) return new Uint8Array(free);
    if (this.#allocated < this.count) {
      this.#allocated++;
      return new Uint8Array(this.chunkBytes);
    }
    return new Uint8Array(await new Promise<ArrayBuffer>((resolve) => this.#waiting.push(resolve)));
  }

  /** Gives back a buffer from `acquire()` (or a view of one); it must no longer be used. */
  release(chunk: Uint8Array): void {
    const buffer = chunk.buffer as ArrayBuffer;
    const next = this.#waiting.shift();
    if (next !== undefined) next(buffer);
    else this.#free.push(buffer);
  }

  /** Saves waiting for a buffer. */
  get waiting(): number {
    return this.#waiting.length;
  }
}
