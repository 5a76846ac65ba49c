/**
 * At most `maxPendingSaves` saves of one worker (or one rank of a job) at
 * once; a further save waits for one of them to end, so that a training loop
 * that saves without awaiting holds a bounded number of checkpoints in
 * memory. The twin of the Python SDK's `pulse/_pending_saves.py`.
 *
 * @module
 */

/** The default bound of saves in progress per worker, as in the Python SDK. */
export const PENDING_SAVES_PER_WORKER_DEFAULT = 2;

/** Saves in progress by worker, each key at most `max` at once. */
export class PendingSaves {
  readonly #max: number;
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  /** @param max saves in progress at once per key, 1 or more */
  constructor(max: number) {
    this.#max = max;
  }

  /**
   * Runs `save` once fewer than `max` saves of `key` are in progress.
   *
   * @param key the worker (or the rank of a job) saving
   * @param save the save
   * @returns what the save returns
   */
  async run<T>(key: string, save: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key) ?? 0;
    if (running < this.#max) this.#running.set(key, running + 1);
    else {
      // The slot is handed over by the save that ends, still counted.
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(key) ?? [];
        queue.push(resolve);
        this.#waiting.set(key, queue);
      });
    }
    try {
      return await save();
    } finally {
      this.#end(key);
    }
  }

  #end(key: string): void {
    const queue = this.#waiting.get(key);
    const next = queue?.shift();
    if (queue?.length === 0) this.#waiting.delete(key);
    if (next !== undefined) return next();
    const left = this.#running.get(key)! - 1;
    if (left === 0) this.#running.delete(key);
    else this.#running.set(key, left);
  }
}
