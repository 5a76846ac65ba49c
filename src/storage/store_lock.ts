/**
 * A lock in the store: at most one holder at a time among every runtime on
 * one bucket, for work that must not run twice at once (the garbage
 * collector, a worker's retention pass). It is a lease: it lasts `ttlMs`
 * unless its holder renews it (every quarter of that), so a holder that dies is
 * replaced once its lease has expired.
 *
 * Only `putIfAbsent` decides, so no conditional replace (`If-Match`) is
 * needed: the lock is a series of generations, `<prefix><n>.json`, and its
 * holder is the holder of the newest. Taking the lock is writing generation
 * n + 1 with `putIfAbsent` when generation n is released or expired: of the
 * runtimes that try, one writes it. The holder renews by rewriting its own
 * generation (nobody else writes it), after checking that no newer one
 * exists; finding one, it knows it lost the lock. Keys hold the generation
 * inverted, so the newest sorts first and one LIST with max-keys 1 finds it.
 *
 * What it assumes: conditional writes (on S3, `If-None-Match: *`; where the
 * server ignores them the lock is exact only within one process, see
 * `S3Store.conditionalWrites`), and clocks of the replicas within a small
 * part of `ttlMs` of each other (NTP). A holder stops considering itself the
 * holder a quarter of `ttlMs` before its lease's expiry unless renewed, so a
 * paused process (a long GC pause) stops before another takes over.
 */
import { PulseError } from "../errors.ts";
import { log } from "../log.ts";
import { fieldsProblem, readRecord, type RecordShape, writeRecord } from "./records.ts";
import type { ObjectStore } from "./store.ts";

/** A generation of a lock, as the store holds it. */
interface LockRecord {
  holder: string;
  /** Random per acquisition: two processes given one replica id stay apart. */
  token: string;
  generation: number;
  acquired_at: string;
  expires_at: string;
  released: boolean;
}

const LOCK_RECORD: RecordShape<LockRecord> = {
  name: "lock",
  problem: (value) =>
    fieldsProblem(value, {
      holder: "string",
      token: "string",
      generation: "integer",
      acquired_at: "date",
      expires_at: "date",
      released: "boolean",
    }),
};

const GENERATION_DIGITS = 12;
const GENERATION_MAX = 10 ** GENERATION_DIGITS - 1;
const TARGET = "pulse::lock";
// Listings of a lock whose newest generation keeps vanishing before it is read.
const SUPERSEDED_LISTINGS_MAX = 3;

/** Options of a `StoreLock`. */
export interface StoreLockOptions {
  /** Who takes it: the replica id. */
  holder: string;
  /** How long a lease lasts unless renewed (`storage.lease_ms`). */
  ttlMs: number;
  /** The clock; tests pass their own. */
  now?: () => number;
}

/** An attempt to take a lock: the lock held, or who holds it. */
export type LockAttempt =
  | { acquired: true; lock: HeldLock }
  | { acquired: false; holder: string; expiresAt: Date };

/** A lock of the store under one key prefix. */
export class StoreLock {
  readonly #store: ObjectStore;
  readonly #prefix: string;
  readonly #options: StoreLockOptions;

  /** @param prefix the lock's key prefix, ending in `/` */
  constructor(store: ObjectStore, prefix: string, options: StoreLockOptions) {
    this.#store = store;
    this.#prefix = prefix;
    this.#options = options;
  }

  /** Takes the lock if it is free, released or expired; never waits. */
  async tryAcquire(): Promise<LockAttempt> {
    const now = this.#now();
    const newest = await this.#newest();
    if (newest === "superseded") {
      return {
        acquired: false,
        holder: "another replica",
        expiresAt: new Date(now + this.#options.ttlMs),
      };
    }
    const current = newest?.record;
    if (current !== undefined && !current.released && Date.parse(current.expires_at) > now) {
      return { acquired: false, holder: current.holder, expiresAt: new Date(current.expires_at) };
    }
    // From the key, never from a record: a generation deleted as old must
    // never be written again, or two could hold it.
    const generation = (newest?.generation ?? 0) + 1;
    if (generation > GENERATION_MAX) {
      throw new Error(`Assertion failed: lock ${this.#prefix} ran out of generations`);
    }
    const record: LockRecord = {
      holder: this.#options.holder,
      token: crypto.randomUUID(),
      generation,
      acquired_at: new Date(now).toISOString(),
      expires_at: new Date(now + this.#options.ttlMs).toISOString(),
      released: false,
    };
    const key = this.#keyOf(generation);
    const body = new TextEncoder().encode(JSON.stringify(record));
    if (!await this.#store.putIfAbsent(key, body)) {
      // Another runtime took this generation first: it holds the lock now.
      const winner = await this.#newest();
      const holder = winner === "superseded" ? undefined : winner?.record;
      return {
        acquired: false,
        holder: holder?.holder ?? "another replica",
        expiresAt: new Date(holder?.expires_at ?? now + this.#options.ttlMs),
      };
    }
    await this.#dropOlder(key);
    const lock = new HeldLock({ store: this.#store, key, record, options: this.#options });
    lock.startRenewing(() => this.#newestKey());
    return { acquired: true, lock };
  }

  // The newest generation and its record; "superseded" when that record was
  // deleted between the listing and the read (a newer one was taken).
  // A few listings are tried, so that the newer holder is named.
  async #newest(): Promise<
    { generation: number; record: LockRecord } | "superseded" | undefined
  > {
    for (let attempt = 0; attempt < SUPERSEDED_LISTINGS_MAX; attempt++) {
      const key = await this.#newestKey();
      if (key === undefined) return undefined;
      const record = await readRecord(this.#store, key, LOCK_RECORD);
      if (record !== undefined) return { generation: generationOfKey(this.#prefix, key), record };
    }
    return "superseded";
  }

  async #newestKey(): Promise<string | undefined> {
    const [newest] = await this.#store.list(this.#prefix, { limit: 1 });
    return newest?.key;
  }

  // Generations before `key` are history; one left behind is harmless.
  async #dropOlder(key: string): Promise<void> {
    try {
      for (const info of await this.#store.list(this.#prefix, { startAfter: key })) {
        await this.#store.delete(info.key);
      }
    } catch (error) {
      log.warn(TARGET, "Cannot delete old generations of a lock", { lock: this.#prefix, error });
    }
  }

  #keyOf(generation: number): string {
    return lockKeyOf(this.#prefix, generation);
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/** The key of generation `generation` of the lock under `prefix`: newer ones sort first. */
export function lockKeyOf(prefix: string, generation: number): string {
  return `${prefix}${String(GENERATION_MAX - generation).padStart(GENERATION_DIGITS, "0")}.json`;
}

// The generation a key of the lock names.
function generationOfKey(prefix: string, key: string): number {
  const digits = key.slice(prefix.length, prefix.length + GENERATION_DIGITS);
  const inverted = Number(digits);
  if (!/^\d+$/.test(digits) || !Number.isSafeInteger(inverted)) {
    throw new PulseError("DATA_LOSS", `Cannot read lock ${key}: its name is not a generation`);
  }
  return GENERATION_MAX - inverted;
}

/** A lock this process holds, renewed until released. */
export class HeldLock {
  readonly #store: ObjectStore;
  readonly #key: string;
  readonly #record: LockRecord;
  readonly #options: StoreLockOptions;
  readonly #lost = new AbortController();
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewing: Promise<void> = Promise.resolve();

  constructor(
    parts: { store: ObjectStore; key: string; record: LockRecord; options: StoreLockOptions },
  ) {
    this.#store = parts.store;
    this.#key = parts.key;
    this.#record = { ...parts.record };
    this.#options = parts.options;
  }

  /** The generation this holder wrote. */
  get generation(): number {
    return this.#record.generation;
  }

  /**
   * Whether this process may still act as the holder: no newer generation
   * was found, and the lease has more than a quarter of `ttlMs` left.
   */
  get held(): boolean {
    const margin = this.#options.ttlMs / 4;
    return !this.#lost.signal.aborted &&
      Date.parse(this.#record.expires_at) - margin > (this.#options.now ?? Date.now)();
  }

  /**
   * Throws unless `held`.
   * @throws {PulseError} ABORTED naming `action`
   */
  check(action: string): void {
    if (this.held) return;
    throw new PulseError(
      "ABORTED",
      `Cannot ${action}: this replica lost its lease ${this.#key} (not renewed in time, or another replica took it over); nothing more is done`,
    );
  }

  /** Renews every quarter of `ttlMs` until released or lost. */
  startRenewing(newestKey: () => Promise<string | undefined>): void {
    this.#timer = setInterval(() => {
      // One after the other, so that release() waits for every one: a
      // renewal landing after the release would make the lock look held.
      this.#renewing = this.#renewing.then(() => this.#renew(newestKey));
    }, Math.max(1, Math.floor(this.#options.ttlMs / 4)));
    // The runtime's life does not depend on renewing a lock.
    Deno.unrefTimer(this.#timer);
  }

  async #renew(newestKey: () => Promise<string | undefined>): Promise<void> {
    if (this.#lost.signal.aborted) return;
    try {
      if (await newestKey() !== this.#key) {
        this.#lose("another replica took it over");
        return;
      }
      const expiresAt = (this.#options.now ?? Date.now)() + this.#options.ttlMs;
      const renewed = { ...this.#record, expires_at: new Date(expiresAt).toISOString() };
      await writeRecord(this.#store, this.#key, renewed);
      this.#record.expires_at = renewed.expires_at;
    } catch (error) {
      // Retried at the next tick; `held` turns false if they all fail.
      log.warn(TARGET, "Cannot renew a lock", { lock: this.#key, error });
    }
  }

  #lose(reason: string): void {
    clearInterval(this.#timer);
    this.#lost.abort();
    log.warn(TARGET, "Lock lost", { lock: this.#key, reason });
  }

  /** Stops renewing and marks the lock released, so that another may take it at once. */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing;
    if (this.#lost.signal.aborted) return;
    this.#lost.abort();
    try {
      await writeRecord(this.#store, this.#key, { ...this.#record, released: true });
    } catch (error) {
      // Then it expires.
      log.warn(TARGET, "Cannot release a lock; it expires", { lock: this.#key, error });
    }
  }
}
