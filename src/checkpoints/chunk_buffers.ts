/** The pool of chunk buffers that all saves share, which bounds their memory together. */
import { PulseError } from "../errors.ts";

/**
 * A fixed number of chunk-sized buffers shared by every save: the runtime's
 * memory for checkpoint bytes on their way to the store. A save waits for a
 * buffer when all are taken, and its gRPC stream waits with it, but not for
 * ever: after `waitMs` it fails with UNAVAILABLE (the runtime is busy; the
 * SDKs retry), and at once when its client has gone. Buffers are reused
 * rather than left to the garbage collector, so the memory they take is what
 * they are, not what the collector has not yet freed.
 */
export class ChunkBuffers {
  readonly #free: ArrayBuffer[] = [];
  readonly #waiting: ((buffer: ArrayBuffer) => void)[] = [];
  #allocated = 0;

  /**
   * @param count most buffers at once (`storage.chunk_buffers`)
   * @param chunkBytes the size of each, the size of every chunk but the last
   * @param waitMs longest wait for a free buffer (`storage.chunk_buffer_wait_ms`)
   */
  constructor(readonly count: number, readonly chunkBytes: number, readonly waitMs: number) {}

  /**
   * A buffer of `chunkBytes`, when one is free.
   * @param signal stops the wait when it fires (the client has gone)
   * @throws {PulseError} UNAVAILABLE when none comes free within `waitMs`;
   *   ABORTED when `signal` fires first
   */
  acquire(signal?: AbortSignal): Promise<Uint8Array> {
    const free = this.#free.pop();
    if (free !== undefined) return Promise.resolve(new Uint8Array(free));
    if (this.#allocated < this.count) {
      this.#allocated++;
      return Promise.resolve(new Uint8Array(this.chunkBytes));
    }
    if (signal?.aborted) return Promise.reject(cancelled());
    return new Promise((resolve, reject) => {
      const stop = (error: PulseError) => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      };
      const waiter = (buffer: ArrayBuffer) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(new Uint8Array(buffer));
      };
      const onAbort = () => stop(cancelled());
      const timer = setTimeout(() => stop(this.#busy()), this.waitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
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

  // The runtime is busy, not the caller wrong: a retry with backoff (the
  // SDKs retry UNAVAILABLE) finds a buffer once other saves move on.
  #busy(): PulseError {
    return new PulseError(
      "UNAVAILABLE",
      `Cannot save checkpoint: no chunk buffer came free within ${this.waitMs} ms (storage.chunk_buffer_wait_ms); all ${this.count} (storage.chunk_buffers) are held by other saves; the runtime is busy, retry later`,
    );
  }
}

function cancelled(): PulseError {
  return new PulseError(
    "ABORTED",
    "Cannot save checkpoint: the client cancelled the call while the save waited for a chunk buffer",
  );
}
