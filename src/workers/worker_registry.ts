/**
 * The worker registry: who registered, with what metadata, and whether they
 * are still alive.
 *
 * The store holds the truth (`workers/<id>.json`), so that every runtime on
 * one bucket answers the same: a record is read through a short cache
 * (`cacheMs`, bounded in size) and written through. A heartbeat is written
 * when the stored one is older than a quarter of the heartbeat timeout (so
 * that every heartbeat at the interval workers are told, a third of the
 * timeout, is written, and a worker is never STALE anywhere while it
 * heartbeats), and remembered here until then, so that this runtime reports
 * it at once. Writes of one worker are serialized in this process so that
 * the newest lands last. Nothing is read at start: the active-worker count comes from a scan
 * that reads a bounded number of records per tick in the background.
 */
import { PulseError } from "../errors.ts";
import { workerKeyOf, WORKERS_PREFIX } from "../keys.ts";
import { REGISTRY_CACHE_ENTRIES_MAX, REGISTRY_SCAN_RECORDS_PER_TICK } from "../limits.ts";
import { log } from "../log.ts";
import {
  fieldsProblem,
  listRecords,
  readRecord,
  type RecordShape,
  writeRecord,
} from "../storage/records.ts";
import type { ObjectStore } from "../storage/store.ts";
import { type Metadata, validateId, validateMetadata } from "../validation.ts";

/** A worker's state, derived from its record and the clock. */
export type WorkerState = "ACTIVE" | "STALE" | "DEREGISTERED";

/** A worker as clients see it. */
export interface Worker {
  workerId: string;
  metadata: Metadata;
  registeredAt: Date;
  lastHeartbeat: Date;
  state: WorkerState;
}

/** What the store holds for a worker. */
interface WorkerRecord {
  worker_id: string;
  metadata: Metadata;
  registered_at: string;
  last_heartbeat: string;
  deregistered: boolean;
}

/** Options of a `WorkerRegistry`. */
export interface WorkerRegistryOptions {
  heartbeatTimeoutMs: number;
  /** How long a record read from the store is taken as fresh (`registry.cache_ms`). */
  cacheMs: number;
  /** Time between two ticks of the background count of ACTIVE workers; 0 for none. */
  scanIntervalMs?: number;
  /** The clock; tests pass their own. */
  now?: () => number;
}

const WORKER_RECORD: RecordShape<WorkerRecord> = {
  name: "worker record",
  problem: (value) =>
    fieldsProblem(value, {
      worker_id: "string",
      metadata: "object",
      registered_at: "date",
      last_heartbeat: "date",
      deregistered: "boolean",
    }),
};

const TARGET = "pulse::worker";

/** Registers workers and tracks their heartbeats. */
export class WorkerRegistry {
  readonly #store: ObjectStore;
  readonly #options: WorkerRegistryOptions;
  readonly #now: () => number;
  // Records read or written lately, by worker id, oldest first (a bounded LRU).
  readonly #cache = new Map<string, { record: WorkerRecord; readAt: number }>();
  readonly #writes = new Map<string, Promise<void>>();
  // Heartbeats received here but not written yet, by worker id.
  readonly #heard = new Map<string, number>();
  readonly #scan: ActiveScan;

  constructor(store: ObjectStore, options: WorkerRegistryOptions) {
    this.#store = store;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#scan = new ActiveScan(store, (record) => this.#state(record) === "ACTIVE");
  }

  /** How often workers should send a heartbeat. */
  get heartbeatIntervalMs(): number {
    return Math.floor(this.#options.heartbeatTimeoutMs / 3);
  }

  /** Registers a worker, or replaces the metadata of a registered one and reactivates it. */
  async register(workerId: string, metadata: Metadata): Promise<Worker> {
    validateId("register worker", "worker_id", workerId);
    validateMetadata("register worker", "metadata", metadata);
    return await this.#serialized(workerId, async () => {
      const existing = await this.#read(workerId, 0);
      const now = new Date(this.#now()).toISOString();
      const record: WorkerRecord = {
        worker_id: workerId,
        metadata,
        registered_at: existing?.registered_at ?? now,
        last_heartbeat: now,
        deregistered: false,
      };
      await this.#write(record);
      return this.#toWorker(record);
    });
  }

  /** Records a heartbeat. */
  async heartbeat(workerId: string): Promise<Date> {
    const action = "record heartbeat";
    const now = this.#now();
    const cached = await this.#require(action, workerId);
    if (cached.deregistered) throw deregistered(workerId);
    if (now - Date.parse(cached.last_heartbeat) < this.#options.heartbeatTimeoutMs / 4) {
      this.#heard.set(workerId, now);
      return new Date(now);
    }
    await this.#serialized(workerId, async () => {
      // Read again: another runtime may have deregistered it meanwhile.
      const record = await this.#require(action, workerId, 0);
      if (record.deregistered) throw deregistered(workerId);
      await this.#write({ ...record, last_heartbeat: new Date(now).toISOString() });
    });
    return new Date(now);
  }

  /** Marks a worker as gone. Deregistering twice is not an error. */
  async deregister(workerId: string): Promise<void> {
    await this.#serialized(workerId, async () => {
      const record = await this.#require("deregister worker", workerId, 0);
      if (!record.deregistered) await this.#write({ ...record, deregistered: true });
    });
  }

  /** Returns a worker. */
  async get(workerId: string): Promise<Worker> {
    return this.#toWorker(await this.#require("get worker", workerId));
  }

  /** Throws NOT_FOUND unless the worker was registered (in any state). */
  async requireRegistered(action: string, workerId: string): Promise<void> {
    await this.#require(action, workerId);
  }

  /** Lists workers by id, a page at a time, as the store has them now. */
  async list(
    requestedPageSize: number,
    pageToken: string,
  ): Promise<{ workers: Worker[]; nextPageToken: string }> {
    const page = await listRecords(this.#store, WORKER_RECORD, {
      action: "list workers",
      prefix: WORKERS_PREFIX,
      pageSize: requestedPageSize,
      pageToken,
    });
    for (const record of page.records) this.#remember(record);
    return {
      workers: page.records.map((r) => this.#toWorker(r)),
      nextPageToken: page.nextPageToken,
    };
  }

  /** Workers in state ACTIVE at the last complete background scan (0 before the first). */
  activeCount(): number {
    return this.#scan.lastCount;
  }

  /** Starts the background count of ACTIVE workers. */
  start(): void {
    this.#scan.start(this.#options.scanIntervalMs ?? 0);
  }

  /** Stops the background count and waits for every write under way. */
  async stop(): Promise<void> {
    this.#scan.stop();
    await Promise.all(this.#writes.values());
  }

  // The worker's record, fresh within `freshMs` (default: the cache time).
  async #require(action: string, workerId: string, freshMs?: number): Promise<WorkerRecord> {
    validateId(action, "worker_id", workerId);
    const record = await this.#read(workerId, freshMs ?? this.#options.cacheMs);
    if (record === undefined) {
      throw new PulseError("NOT_FOUND", `Cannot ${action}: worker ${workerId} is not registered`);
    }
    return record;
  }

  async #read(workerId: string, freshMs: number): Promise<WorkerRecord | undefined> {
    const cached = this.#cache.get(workerId);
    if (cached !== undefined && this.#now() - cached.readAt < freshMs) return cached.record;
    const record = await readRecord(this.#store, workerKeyOf(workerId), WORKER_RECORD);
    if (record !== undefined) this.#remember(record);
    return record;
  }

  async #write(record: WorkerRecord): Promise<void> {
    await writeRecord(this.#store, workerKeyOf(record.worker_id), record);
    this.#heard.delete(record.worker_id);
    this.#remember(record);
  }

  #remember(record: WorkerRecord): void {
    this.#cache.delete(record.worker_id);
    this.#cache.set(record.worker_id, { record, readAt: this.#now() });
    if (this.#cache.size > REGISTRY_CACHE_ENTRIES_MAX) {
      const oldest = this.#cache.keys().next().value!;
      this.#cache.delete(oldest);
      this.#heard.delete(oldest);
    }
  }

  // Runs `task` after any other change of the worker in this process.
  #serialized<T>(workerId: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#writes.get(workerId) ?? Promise.resolve()).then(task);
    const tail = run.then(() => {}, () => {});
    this.#writes.set(workerId, tail);
    tail.then(() => {
      if (this.#writes.get(workerId) === tail) this.#writes.delete(workerId);
    });
    return run;
  }

  #state(record: WorkerRecord): WorkerState {
    if (record.deregistered) return "DEREGISTERED";
    const silentMs = this.#now() - this.#lastHeartbeat(record);
    return silentMs > this.#options.heartbeatTimeoutMs ? "STALE" : "ACTIVE";
  }

  // The stored heartbeat, or a later one received here and not written yet.
  #lastHeartbeat(record: WorkerRecord): number {
    return Math.max(Date.parse(record.last_heartbeat), this.#heard.get(record.worker_id) ?? 0);
  }

  #toWorker(record: WorkerRecord): Worker {
    return {
      workerId: record.worker_id,
      metadata: record.metadata,
      registeredAt: new Date(record.registered_at),
      lastHeartbeat: new Date(this.#lastHeartbeat(record)),
      state: this.#state(record),
    };
  }
}

function deregistered(workerId: string): PulseError {
  return new PulseError(
    "FAILED_PRECONDITION",
    `Cannot record heartbeat: worker ${workerId} is deregistered; register it again`,
  );
}

// Counts ACTIVE workers by reading every record, a bounded page per tick,
// so that the count costs the store a steady trickle, however many workers.
class ActiveScan {
  readonly #store: ObjectStore;
  readonly #isActive: (record: WorkerRecord) => boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pageToken = "";
  #counting = 0;
  lastCount = 0;

  constructor(store: ObjectStore, isActive: (record: WorkerRecord) => boolean) {
    this.#store = store;
    this.#isActive = isActive;
  }

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    const tick = async () => {
      try {
        await this.#tick();
      } catch (error) {
        log.warn(TARGET, "Counting active workers failed; trying again at the next tick", {
          error,
        });
      }
      this.#timer = setTimeout(tick, intervalMs);
      Deno.unrefTimer(this.#timer);
    };
    this.#timer = setTimeout(tick, 0);
    Deno.unrefTimer(this.#timer);
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    const page = await listRecords(this.#store, WORKER_RECORD, {
      action: "count active workers",
      prefix: WORKERS_PREFIX,
      pageSize: REGISTRY_SCAN_RECORDS_PER_TICK,
      pageToken: this.#pageToken,
    });
    this.#counting += page.records.filter(this.#isActive).length;
    this.#pageToken = page.nextPageToken;
    if (page.nextPageToken === "") {
      this.lastCount = this.#counting;
      this.#counting = 0;
    }
  }
}
