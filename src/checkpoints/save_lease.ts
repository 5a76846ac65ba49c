/**
 * The hold of a save in progress in the store: lease objects under
 * `leases/<checkpoint_id>/` (the format of `store_leases.ts`) that name every
 * chunk the save relies on, written before the save writes or reuses the
 * chunk, and renewed while the save runs. The garbage collector of any
 * replica keeps what a live lease names; a save whose lease could not be
 * renewed in time fails before its commit (UNAVAILABLE, for the client to
 * retry) rather than commit chunks a collector may have taken.
 *
 * The same lease says that the save is alive: a replica given the same
 * idempotency key waits for a claim whose save holds a live lease, and takes
 * over one whose lease is gone or expired (`idempotency.ts`).
 *
 * Chunk names are written in batches: every chunk that asks while a lease
 * write is under way goes into the next one, so a save writes about one
 * lease object per round of chunk writes, and each renewal (every quarter of
 * `ttlMs`) rewrites all names in one object and drops the older ones.
 *
 * On a store of one runtime (fs, held by its directory lock) nothing is
 * written: the in-process chunk leases protect the chunks, and a save is
 * alive exactly while this process runs it.
 */
import { PulseError } from "../errors.ts";
import { log } from "../log.ts";
import type { StoreLeases } from "./store_leases.ts";

/** What a save holds while it runs. */
export interface SaveHold {
  /** Resolves once the store names `sha256` as held by this save. */
  cover(sha256: string): Promise<void>;
  /**
   * Throws unless the hold is still good, right before the commit.
   * @throws {PulseError} UNAVAILABLE when the lease could not be renewed in time
   */
  check(action: string): Promise<void>;
  /** Drops the hold (after the commit, or the failure). */
  release(): Promise<void>;
}

/** Options of `SaveHolds`. */
export interface SaveHoldsOptions {
  /** How long a lease lasts unless renewed (`storage.lease_ms`). */
  ttlMs: number;
  /** Whether other runtimes share the store: then holds are written to it. */
  shared: boolean;
}

const TARGET = "pulse::checkpoint";

/** Opens the holds of saves, and tells whether a save is alive. */
export class SaveHolds {
  readonly #leases: StoreLeases;
  readonly #options: SaveHoldsOptions;
  // The saves of this process that hold a lease now.
  readonly #open = new Set<string>();

  constructor(leases: StoreLeases, options: SaveHoldsOptions) {
    this.#leases = leases;
    this.#options = options;
  }

  /** Opens the hold of the save that commits `checkpointId`: written before this resolves. */
  async open(checkpointId: string, workerId: string): Promise<SaveHold> {
    this.#open.add(checkpointId);
    const forget = () => this.#open.delete(checkpointId);
    if (!this.#options.shared) {
      return {
        cover: () => Promise.resolve(),
        check: () => Promise.resolve(),
        release: () => {
          forget();
          return Promise.resolve();
        },
      };
    }
    try {
      const lease = new StoreSaveLease(
        this.#leases,
        { checkpointId, workerId },
        this.#options.ttlMs,
      );
      await lease.start();
      return {
        cover: (sha256) => lease.cover(sha256),
        check: (action) => Promise.resolve().then(() => lease.check(action)),
        release: () => lease.release().finally(forget),
      };
    } catch (error) {
      forget();
      throw error;
    }
  }

  /** Whether the save of `checkpointId` runs now: in this process, or (shared store) under a live lease. */
  async isAlive(checkpointId: string): Promise<boolean> {
    if (this.#open.has(checkpointId)) return true;
    if (!this.#options.shared) return false;
    return await this.#leases.isLive(checkpointId, Date.now());
  }
}

// A save's lease objects in a shared store, and their renewal.
class StoreSaveLease {
  readonly #leases: StoreLeases;
  readonly #save: { checkpointId: string; workerId: string };
  readonly #ttlMs: number;
  readonly #createdAt = new Date();
  // Every hash named so far, with the write that names it.
  readonly #covers = new Map<string, Promise<void>>();
  // The batch that the next write takes, while it has not started.
  #batch: { hashes: string[]; done: Promise<void> } | undefined;
  // Lease writes and renewals run one after the other.
  #tail: Promise<void> = Promise.resolve();
  // Keys of the lease objects written, and the expiry of the newest renewal.
  #keys: string[] = [];
  #expiresAt = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    leases: StoreLeases,
    save: { checkpointId: string; workerId: string },
    ttlMs: number,
  ) {
    this.#leases = leases;
    this.#save = save;
    this.#ttlMs = ttlMs;
  }

  async start(): Promise<void> {
    await this.#renew();
    this.#timer = setInterval(() => {
      this.#tail = this.#tail.then(() => this.#renew()).catch((error) =>
        // Retried at the next tick; check() fails the save if none succeeds in time.
        log.warn(TARGET, "Cannot renew the lease of a save", {
          checkpoint_id: this.#save.checkpointId,
          error,
        })
      );
    }, Math.max(1, Math.floor(this.#ttlMs / 4)));
    // The runtime's life does not depend on a save's renewal.
    Deno.unrefTimer(this.#timer);
  }

  cover(sha256: string): Promise<void> {
    const known = this.#covers.get(sha256);
    if (known !== undefined) return known;
    let batch = this.#batch;
    if (batch === undefined) {
      const hashes: string[] = [];
      const done = this.#tail.then(() => {
        if (this.#batch?.hashes === hashes) this.#batch = undefined;
        return this.#write(hashes, this.#expiresAt);
      });
      batch = this.#batch = { hashes, done };
      this.#tail = done.catch(() => {});
    }
    batch.hashes.push(sha256);
    this.#covers.set(sha256, batch.done);
    return batch.done;
  }

  check(action: string): void {
    if (this.#expiresAt - this.#ttlMs / 4 > Date.now()) return;
    throw new PulseError(
      "UNAVAILABLE",
      `Cannot ${action}: the save's lease on its chunks (leases/${this.#save.checkpointId}/) could not be renewed within storage.lease_ms (${this.#ttlMs} ms); nothing was committed, retry`,
    );
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#tail;
    try {
      await this.#leases.release(this.#save.checkpointId);
    } catch (error) {
      // Then it expires, and the collector deletes it.
      log.warn(TARGET, "Cannot drop the lease of a save; it expires", {
        checkpoint_id: this.#save.checkpointId,
        error,
      });
    }
  }

  // Rewrites every name in one lease object with a new expiry, then drops the older ones.
  async #renew(): Promise<void> {
    const older = [...this.#keys];
    const expiresAt = Date.now() + this.#ttlMs;
    await this.#write([...this.#covers.keys()], expiresAt);
    this.#expiresAt = expiresAt;
    this.#keys = this.#keys.filter((key) => !older.includes(key));
    for (const key of older) await this.#leases.drop(key);
  }

  async #write(hashes: string[], expiresAt: number): Promise<void> {
    const key = await this.#leases.hold({
      planId: this.#save.checkpointId,
      workerId: this.#save.workerId,
      createdAt: this.#createdAt,
      expiresAt: new Date(expiresAt),
    }, hashes);
    this.#keys.push(key);
  }
}
