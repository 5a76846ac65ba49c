/**
 * Retention: after each save, a worker keeps its `keepLast` newest checkpoints
 * (newest by checkpoint id, the order of `ListCheckpoints`) plus every
 * `keepEvery`-th checkpoint of its history for the long term, and loses the
 * rest. Deleting a checkpoint deletes its manifest and idempotency claim; its
 * chunks stay until garbage collection.
 *
 * A checkpoint's position in the history (oldest = 1) must not change when
 * older checkpoints are deleted, so it is numbered once, the first time a
 * retention pass sees it, and remembered in a ledger object per worker
 * (`retention/<worker_id>.json`) that holds the count so far and the position
 * of every live checkpoint. A save that commits after a newer one was already
 * numbered gets the next number: positions follow the order in which saves
 * committed, which is the id order unless saves of one worker overlap.
 *
 * Passes of one worker run one after the other, in the background of the
 * saves that trigger them; saves that commit while a pass runs trigger one
 * more pass, not one each. A failed pass is logged and deletes nothing it did
 * not decide on from a consistent listing; it never fails a save.
 *
 * Among replicas on one bucket, a pass over a worker first takes that
 * worker's retention lease (`store_lock.ts`, `locks/retention/<worker_id>/`),
 * so that two replicas never number one ledger at once; a replica that finds
 * it held skips its pass (logged): the holder's pass, or the worker's next
 * save, applies the policy to what it left.
 */
import { PulseError } from "../errors.ts";
import { log } from "../log.ts";
import { retentionDeletedTotal } from "../metrics.ts";
import { checkpointIdOfKey, isManifestKey, ledgerKeyOf, manifestPrefixOf } from "../keys.ts";
import { fieldsProblem, readRecord, type RecordShape, writeRecord } from "../storage/records.ts";
import { listAll, type ObjectStore } from "../storage/store.ts";
import type { StoreLock } from "../storage/store_lock.ts";
import type { Checkpoints } from "./checkpoints.ts";

/** The retention policy: `keepLast` 0 keeps everything. */
export interface RetentionOptions {
  /** Newest checkpoints kept per worker; 0 keeps all (retention off). */
  keepLast: number;
  /** Also keep every K-th checkpoint of the history (oldest = 1); 0 for none. */
  keepEvery: number;
  /** The retention lease of a worker, shared by the replicas on one bucket; absent for one runtime (fs). */
  lockOf?: (workerId: string) => StoreLock;
}

/** The numbering of a worker's checkpoints, as its ledger stores it. */
export interface RetentionLedger {
  /** Checkpoints numbered so far: the position of the last one. */
  count: number;
  /** Position of each live checkpoint, by checkpoint id. */
  positions: Record<string, number>;
}

/** What one retention pass did. */
export interface RetentionResult {
  /** Checkpoints of the worker left. */
  kept: number;
  /** Checkpoint ids deleted, newest first. */
  deleted: string[];
  /** The replica that held the worker's retention lease, when the pass was skipped. */
  skippedFor?: string;
}

// A ledger as stored, with the version of its format.
interface StoredLedger extends RetentionLedger {
  format: typeof LEDGER_FORMAT;
}

const TARGET = "pulse::retention";
const LEDGER_FORMAT = 1;
const LEDGER: RecordShape<StoredLedger> = { name: "retention ledger", problem: ledgerProblem };

/**
 * Numbers the checkpoints a ledger has not seen yet, oldest id first, and
 * forgets the positions of checkpoints that are gone.
 * @param liveNewestFirst the worker's checkpoint ids now, newest first
 */
export function numberCheckpoints(
  ledger: RetentionLedger,
  liveNewestFirst: readonly string[],
): RetentionLedger {
  let count = ledger.count;
  const positions: Record<string, number> = {};
  for (const id of [...liveNewestFirst].reverse()) {
    positions[id] = ledger.positions[id] ?? ++count;
  }
  return { count, positions };
}

/**
 * The checkpoints a policy deletes: all but the `keepLast` newest, those at a
 * position that is a multiple of `keepEvery`, and the newest whatever the policy.
 * @param liveNewestFirst the worker's checkpoint ids, newest first
 * @returns the ids to delete, newest first
 */
export function retentionVictims(
  liveNewestFirst: readonly string[],
  positions: Readonly<Record<string, number>>,
  options: RetentionOptions,
): string[] {
  if (options.keepLast <= 0) return [];
  return liveNewestFirst.filter((id, index) => {
    if (index < Math.max(options.keepLast, 1)) return false;
    const position = positions[id];
    const longTerm = options.keepEvery > 0 && position !== undefined &&
      position % options.keepEvery === 0;
    return !longTerm;
  });
}

/** Applies a retention policy to workers' checkpoints after their saves. */
export class Retention {
  #store: ObjectStore;
  #checkpoints: Checkpoints;
  #options: RetentionOptions;
  #tails = new Map<string, Promise<void>>();
  #pending = new Set<string>();

  constructor(
    store: ObjectStore,
    checkpoints: Checkpoints,
    options: RetentionOptions,
  ) {
    this.#store = store;
    this.#checkpoints = checkpoints;
    this.#options = options;
  }

  /** Whether the policy deletes anything at all. */
  get enabled(): boolean {
    return this.#options.keepLast > 0;
  }

  /**
   * Queues a pass over a worker's checkpoints, unless one is queued and not
   * started yet. Never throws; a failed pass is logged.
   */
  schedule(workerId: string): void {
    if (!this.enabled || this.#pending.has(workerId)) return;
    this.#pending.add(workerId);
    this.#serialized(workerId, async () => {
      this.#pending.delete(workerId);
      try {
        await this.#pass(workerId);
      } catch (error) {
        log.error(TARGET, "Retention pass failed; nothing more is deleted until the next save", {
          worker_id: workerId,
          error,
        });
      }
    }).catch(() => {});
  }

  /** Runs a pass over a worker's checkpoints now, after the passes queued before it. */
  apply(workerId: string): Promise<RetentionResult> {
    return this.#serialized(workerId, () => this.#pass(workerId));
  }

  /** Resolves once no pass is queued or running. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }

  #serialized<T>(workerId: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#tails.get(workerId) ?? Promise.resolve()).then(task);
    const tail = run.then(() => {}, () => {});
    this.#tails.set(workerId, tail);
    tail.then(() => {
      if (this.#tails.get(workerId) === tail) this.#tails.delete(workerId);
    });
    return run;
  }

  async #pass(workerId: string): Promise<RetentionResult> {
    const lock = this.#options.lockOf?.(workerId);
    if (lock === undefined) return await this.#passHeld(workerId);
    const attempt = await lock.tryAcquire();
    if (!attempt.acquired) {
      log.info(TARGET, "Retention pass skipped: another replica runs one for this worker", {
        worker_id: workerId,
        holder: attempt.holder,
      });
      return { kept: 0, deleted: [], skippedFor: attempt.holder };
    }
    try {
      return await this.#passHeld(workerId, () => attempt.lock.check("apply retention"));
    } finally {
      await attempt.lock.release();
    }
  }

  async #passHeld(workerId: string, check = () => {}): Promise<RetentionResult> {
    const live: string[] = [];
    for await (const info of listAll(this.#store, manifestPrefixOf(workerId))) {
      if (isManifestKey(info.key)) live.push(checkpointIdOfKey(info.key));
    }
    const before = await this.#readLedger(workerId);
    const ledger = numberCheckpoints(before, live);
    if (!sameLedger(before, ledger)) {
      // Written before any deletion: a pass cut short leaves the positions of
      // the checkpoints it meant to delete, and the next pass deletes them.
      const stored: StoredLedger = { format: LEDGER_FORMAT, ...ledger };
      await writeRecord(this.#store, ledgerKeyOf(workerId), stored);
    }
    const victims = retentionVictims(live, ledger.positions, this.#options);
    const deleted: string[] = [];
    for (const checkpointId of victims) {
      check();
      if (await this.#delete(workerId, checkpointId)) deleted.push(checkpointId);
    }
    return { kept: live.length - deleted.length, deleted };
  }

  async #delete(workerId: string, checkpointId: string): Promise<boolean> {
    try {
      await this.#checkpoints.delete(workerId, checkpointId);
    } catch (error) {
      // Deleted meanwhile by a client: what retention wanted anyway.
      if (error instanceof PulseError && error.code === "NOT_FOUND") return false;
      throw error;
    }
    retentionDeletedTotal.inc();
    log.info(TARGET, "Checkpoint deleted by retention", {
      worker_id: workerId,
      checkpoint_id: checkpointId,
      keep_last: this.#options.keepLast,
      keep_every: this.#options.keepEvery,
    });
    return true;
  }

  async #readLedger(workerId: string): Promise<RetentionLedger> {
    const key = ledgerKeyOf(workerId);
    let stored: StoredLedger | undefined;
    try {
      stored = await readRecord(this.#store, key, LEDGER);
    } catch (error) {
      if (!(error instanceof PulseError) || error.code !== "DATA_LOSS") throw error;
      // Renumbering would change which checkpoints are kept for the long
      // term: stop, and let an operator look (deleting the ledger resets it).
      throw new PulseError(
        "DATA_LOSS",
        `Cannot apply retention to worker ${workerId}: ${key} is not a valid ledger`,
        { cause: error },
      );
    }
    if (stored === undefined) return { count: 0, positions: {} };
    return { count: stored.count, positions: stored.positions };
  }
}

function sameLedger(a: RetentionLedger, b: RetentionLedger): boolean {
  const aIds = Object.keys(a.positions);
  return a.count === b.count && aIds.length === Object.keys(b.positions).length &&
    aIds.every((id) => a.positions[id] === b.positions[id]);
}

function ledgerProblem(value: unknown): string | undefined {
  const problem = fieldsProblem(value, {
    format: "integer",
    count: "integer",
    positions: "object",
  });
  if (problem !== undefined) return problem;
  const ledger = value as StoredLedger;
  if (ledger.format !== LEDGER_FORMAT) {
    return `format is ${ledger.format}, expected ${LEDGER_FORMAT}`;
  }
  if (!Object.values(ledger.positions).every((position) => Number.isSafeInteger(position))) {
    return "a position is not an integer";
  }
  return undefined;
}
