/** A bounded pool of async tasks, for the passes of garbage collection and scrubbing. */

/**
 * Runs async tasks with at most `limit` at once; the first failure is thrown
 * by the next `add` or by `drain`.
 */
export class TaskPool {
  #limit: number;
  #running = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Starts `task`, waiting first while `limit` tasks run; throws an earlier task's failure. */
  async add(task: () => Promise<void>): Promise<void> {
    this.#throwFailure();
    const running: Promise<void> = task().then(
      () => {},
      (error) => {
        this.#failure ??= { error };
      },
    ).finally(() => this.#running.delete(running));
    this.#running.add(running);
    if (this.#running.size >= this.#limit) await Promise.race(this.#running);
    this.#throwFailure();
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.#throwFailure();
  }

  /** Waits for every task, whatever their outcome. */
  async settle(): Promise<void> {
    await Promise.all(this.#running);
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}
