/**
 * The worker registry: who registered, with what metadata, and whether they
 * are still alive.
 *
 * Records live in the store (`workers/<id>.json`) and in memory. Register and
 * deregister are written through; heartbeats update memory and are written
 * at most every quarter of the heartbeat timeout per worker, so that a
 * heartbeat costs no store request while a restart loses little. Writes of
 * one worker are serialized so that the newest state always lands last.
 */
import { PulseError } from "../errors.ts";
import { workerKeyOf, WORKERS_PREFIX } from "../keys.ts";
import { fieldsProblem, readRecord, type RecordShape, writeRecord } from "../storage/records.ts";
import { listAll, type ObjectStore } from "../storage/store.ts";
import {
  decodePageToken,
  encodePageToken,
  type Metadata,
  pageSize,
  validateId,
  validateMetadata,
} from "../validation.ts";

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

/** Registers workers and tracks their heartbeats. */
export class WorkerRegistry {
  #store: ObjectStore;
  #heartbeatTimeoutMs: number;
  #now: () => number;
  #records = new Map<string, WorkerRecord>();
  // When each worker's heartbeat was last written, and the write chain per worker.
  #persistedHeartbeat = new Map<string, number>();
  #writes = new Map<string, Promise<void>>();

  private constructor(store: ObjectStore, options: WorkerRegistryOptions) {
    this.#store = store;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Opens the registry, reading every worker record from the store.
   * @throws {PulseError} DATA_LOSS naming the key of a damaged record
   */
  static async open(
    store: ObjectStore,
    options: WorkerRegistryOptions,
  ): Promise<WorkerRegistry> {
    const registry = new WorkerRegistry(store, options);
    for await (const info of listAll(store, WORKERS_PREFIX)) {
      const record = await readRecord(store, info.key, WORKER_RECORD);
      if (record === undefined) continue; // deleted since the listing
      registry.#records.set(record.worker_id, record);
      registry.#persistedHeartbeat.set(
        record.worker_id,
        Date.parse(record.last_heartbeat),
      );
    }
    return registry;
  }

  /** How often workers should send a heartbeat. */
  get heartbeatIntervalMs(): number {
    return Math.floor(this.#heartbeatTimeoutMs / 3);
  }

  /** Registers a worker, or replaces the metadata of a registered one and reactivates it. */
  async register(workerId: string, metadata: Metadata): Promise<Worker> {
    validateId("register worker", "worker_id", workerId);
    validateMetadata("register worker", "metadata", metadata);
    const now = new Date(this.#now()).toISOString();
    const existing = this.#records.get(workerId);
    const record: WorkerRecord = {
      worker_id: workerId,
      metadata,
      registered_at: existing?.registered_at ?? now,
      last_heartbeat: now,
      deregistered: false,
    };
    this.#records.set(workerId, record);
    await this.#persist(workerId);
    return this.#toWorker(record);
  }

  /** Records a heartbeat. */
  async heartbeat(workerId: string): Promise<Date> {
    const record = this.#require("record heartbeat", workerId);
    if (record.deregistered) {
      throw new PulseError(
        "FAILED_PRECONDITION",
        `Cannot record heartbeat: worker ${workerId} is deregistered; register it again`,
      );
    }
    const now = this.#now();
    record.last_heartbeat = new Date(now).toISOString();
    const persisted = this.#persistedHeartbeat.get(workerId) ?? 0;
    if (now - persisted >= this.#heartbeatTimeoutMs / 4) {
      await this.#persist(workerId);
    }
    return new Date(now);
  }

  /** Marks a worker as gone. Deregistering twice is not an error. */
  async deregister(workerId: string): Promise<void> {
    const record = this.#require("deregister worker", workerId);
    if (record.deregistered) return;
    record.deregistered = true;
    await this.#persist(workerId);
  }

  /** Returns a worker. */
  get(workerId: string): Worker {
    return this.#toWorker(this.#require("get worker", workerId));
  }

  /** Throws NOT_FOUND unless the worker was registered (in any state). */
  requireRegistered(action: string, workerId: string): void {
    this.#require(action, workerId);
  }

  /** Lists workers by id, a page at a time. */
  list(
    requestedPageSize: number,
    pageToken: string,
  ): { workers: Worker[]; nextPageToken: string } {
    const size = pageSize("list workers", requestedPageSize);
    // Tokens hold the last id after the prefix of the records' keys.
    const after = decodePageToken("list workers", pageToken, WORKERS_PREFIX)?.slice(
      WORKERS_PREFIX.length,
    );
    const ids = [...this.#records.keys()].filter((id) => after === undefined || id > after).sort();
    const page = ids.slice(0, size);
    const workers = page.map((id) => this.#toWorker(this.#records.get(id)!));
    const nextPageToken = ids.length > size
      ? encodePageToken(WORKERS_PREFIX + page[page.length - 1])
      : "";
    return { workers, nextPageToken };
  }

  /** Counts workers in state ACTIVE. */
  activeCount(): number {
    let count = 0;
    for (const record of this.#records.values()) {
      if (this.#state(record) === "ACTIVE") count++;
    }
    return count;
  }

  /** Writes every heartbeat not yet written and waits for all writes. */
  async flush(): Promise<void> {
    for (const [id, record] of this.#records) {
      if (
        Date.parse(record.last_heartbeat) !== this.#persistedHeartbeat.get(id)
      ) {
        this.#persist(id).catch(() => {}); // awaited below, through the chain
      }
    }
    await Promise.all(this.#writes.values());
  }

  #require(action: string, workerId: string): WorkerRecord {
    validateId(action, "worker_id", workerId);
    const record = this.#records.get(workerId);
    if (record === undefined) {
      throw new PulseError(
        "NOT_FOUND",
        `Cannot ${action}: worker ${workerId} is not registered`,
      );
    }
    return record;
  }

  #state(record: WorkerRecord): WorkerState {
    if (record.deregistered) return "DEREGISTERED";
    const silentMs = this.#now() - Date.parse(record.last_heartbeat);
    return silentMs > this.#heartbeatTimeoutMs ? "STALE" : "ACTIVE";
  }

  #toWorker(record: WorkerRecord): Worker {
    return {
      workerId: record.worker_id,
      metadata: record.metadata,
      registeredAt: new Date(record.registered_at),
      lastHeartbeat: new Date(record.last_heartbeat),
      state: this.#state(record),
    };
  }

  // Writes the worker's current record after any write already under way.
  #persist(workerId: string): Promise<void> {
    const previous = this.#writes.get(workerId) ?? Promise.resolve();
    const write = previous.catch(() => {}).then(async () => {
      const record = this.#records.get(workerId)!;
      const heartbeat = Date.parse(record.last_heartbeat);
      await writeRecord(this.#store, workerKeyOf(workerId), record);
      this.#persistedHeartbeat.set(workerId, heartbeat);
    });
    this.#writes.set(workerId, write);
    write.finally(() => {
      if (this.#writes.get(workerId) === write) this.#writes.delete(workerId);
    }).catch(() => {});
    return write;
  }
}
