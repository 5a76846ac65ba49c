/**
 * Leases that live in the store: a save on the direct path holds its chunks
 * against garbage collection from its plan until its commit (or the lease's
 * expiry) in lease objects, so that the hold survives a restart of the
 * runtime, and counts for every runtime on the bucket; a save through the
 * stream path on a shared store does the same under its checkpoint id while
 * it runs (`save_lease.ts`). (The in-process `ChunkLeases` protect the chunks
 * of saves in progress in this process.)
 *
 * A lease names every chunk its plan relies on, those its client uploads and
 * those already stored: the collector keeps every chunk a live lease names.
 */
import { leaseKeyOf, leasePrefixOf, LEASES_PREFIX } from "../keys.ts";
import { fieldsProblem, readRecord, type RecordShape, writeRecord } from "../storage/records.ts";
import { listAll, type ObjectStore } from "../storage/store.ts";
import { newUlid } from "./checkpoint_id.ts";

/** A lease as the store holds it. */
export interface LeaseRecord {
  plan_id: string;
  worker_id: string;
  /** When the plan began (ISO 8601). */
  created_at: string;
  /** When the lease stops counting (ISO 8601). */
  expires_at: string;
  /** Hex SHA-256 of every chunk the plan relies on, uploaded or already there. */
  chunks: string[];
}

const LEASE: RecordShape<LeaseRecord> = {
  name: "lease",
  problem: (value) => {
    const problem = fieldsProblem(value as Record<string, unknown>, {
      plan_id: "string",
      worker_id: "string",
      created_at: "date",
      expires_at: "date",
    });
    if (problem !== undefined) return problem;
    const chunks = (value as { chunks?: unknown }).chunks;
    return Array.isArray(chunks) && chunks.every((c) => typeof c === "string")
      ? undefined
      : "chunks is not a list of strings";
  },
};

/** What live leases protect, as the collector sees it at one moment. */
export interface LeasedChunks {
  /** Chunks some live lease names. */
  chunks: Set<string>;
  /** Keys of leases that expired, for the collector to delete. */
  expired: string[];
}

/** Writes, reads and drops the leases of direct-path plans. */
export class StoreLeases {
  readonly #store: ObjectStore;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /**
   * Writes one more lease of `planId`, holding `chunks` until `expiresAt`.
   * @returns the key of the lease object written
   */
  async hold(
    lease: { planId: string; workerId: string; createdAt: Date; expiresAt: Date },
    chunks: string[],
  ): Promise<string> {
    const record: LeaseRecord = {
      plan_id: lease.planId,
      worker_id: lease.workerId,
      created_at: lease.createdAt.toISOString(),
      expires_at: lease.expiresAt.toISOString(),
      chunks,
    };
    const key = leaseKeyOf(lease.planId, newUlid());
    await writeRecord(this.#store, key, record);
    return key;
  }

  /** Deletes one lease object, by the key `hold` returned. */
  async drop(key: string): Promise<void> {
    await this.#store.delete(key);
  }

  /** Whether some lease of `planId` is live at `now`. */
  async isLive(planId: string, now: number): Promise<boolean> {
    for await (const info of listAll(this.#store, leasePrefixOf(planId))) {
      const lease = await readRecord(this.#store, info.key, LEASE);
      if (lease !== undefined && Date.parse(lease.expires_at) > now) return true;
    }
    return false;
  }

  /** Drops every lease of `planId` (after its commit). */
  async release(planId: string): Promise<void> {
    for await (const info of listAll(this.#store, leasePrefixOf(planId))) {
      await this.#store.delete(info.key);
    }
  }

  /** Reads every lease: what the live ones protect at `now`, and which expired. */
  async scan(now: number): Promise<LeasedChunks> {
    const leased: LeasedChunks = { chunks: new Set(), expired: [] };
    for await (const info of listAll(this.#store, LEASES_PREFIX)) {
      const lease = await readRecord(this.#store, info.key, LEASE);
      if (lease === undefined) continue; // dropped since the listing
      if (Date.parse(lease.expires_at) <= now) {
        leased.expired.push(info.key);
        continue;
      }
      for (const sha256 of lease.chunks) leased.chunks.add(sha256);
    }
    return leased;
  }
}
