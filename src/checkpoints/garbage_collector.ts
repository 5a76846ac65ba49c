/**
 * Garbage collection of chunks that no manifest references (left by crashed
 * saves and by deleted checkpoints), by mark and sweep.
 *
 * Mark lists every manifest and collects the chunk hashes it names. Sweep
 * lists `chunks/`, one fan-out directory at a time, and deletes a chunk only
 * if no manifest named it, it was last written before the run started minus
 * the grace period, and no save of this process holds a lease on it.
 *
 * Why a chunk of a save in flight survives:
 * - in this process, the save leases each chunk before writing it and until
 *   its manifest is written; the run opens its `ChunkCollection` before it
 *   lists any manifest, so a save that commits after the listing is still
 *   protected, however long ago its chunks were written (very long saves,
 *   or chunks deduplicated against old unreferenced ones);
 * - in another runtime sharing the store (a replica), the save holds its
 *   chunks in lease objects in the store (`store_leases.ts`), written before
 *   each chunk is written and renewed while the save runs; the run reads
 *   them after its mark and again every `LEASE_RESCAN_PREFIXES` fan-out
 *   directories, and keeps every chunk a live lease names (a chunk the save
 *   reuses, stored but in no manifest, and swept between a read of the
 *   leases and the next, is the window that remains: docs/operations.md);
 * - with grace 0, chunks written after the run started are kept all the same.
 *
 * Runs are serialized; the runtime starts one every `gc.interval_ms`, and
 * clients start one with RunGc. Among replicas on one bucket, a run first
 * takes the GC lease (`store_lock.ts`, `locks/gc/`): a replica that finds it
 * held by another skips the run and says so (`skipped`, `holder` in its
 * report, outcome `skipped` in `pulse_gc_runs_total`); the holder renews it
 * while it runs and stops deleting as soon as it is no longer sure to hold it.
 */
import { PulseError } from "../errors.ts";
import { GC_DELETES_IN_FLIGHT, GC_MANIFEST_READS_IN_FLIGHT } from "../limits.ts";
import { log } from "../log.ts";
import {
  gcBytesReclaimedTotal,
  gcChunksDeletedTotal,
  gcDurationSeconds,
  gcRunsTotal,
} from "../metrics.ts";
import {
  CHUNK_FAN_OUT_PREFIXES,
  chunkHashOfKey,
  isManifestKey,
  MANIFESTS_PREFIX,
} from "../keys.ts";
import { readRecord } from "../storage/records.ts";
import { listAll, type ObjectInfo, type ObjectStore } from "../storage/store.ts";
import type { HeldLock, StoreLock } from "../storage/store_lock.ts";
import type { ChunkCollection, ChunkLeases } from "./chunk_leases.ts";
import { StoreLeases } from "./store_leases.ts";
import { MANIFEST } from "./manifest.ts";
import { TaskPool } from "./task_pool.ts";

/** Options of a `GarbageCollector`. */
export interface GarbageCollectorOptions {
  /** Default grace period: chunks written more recently are kept. */
  graceMs: number;
  /** Time between two periodic runs; 0 for none. */
  intervalMs: number;
  /** The GC lease shared by the replicas on one bucket; absent for a store of one runtime (fs). */
  lock?: StoreLock;
}

/** Options of one run. */
export interface CollectOptions {
  /** Count what would be deleted, delete nothing. */
  dryRun?: boolean;
  /** Grace period of this run; the collector's default if absent. */
  graceMs?: number;
}

/** What one run found and did. */
export interface GcReport {
  dryRun: boolean;
  graceMs: number;
  /** Manifests read while marking. */
  manifestsScanned: number;
  /** Chunks listed while sweeping, and their bytes. */
  chunksScanned: number;
  bytesScanned: number;
  /** Chunks some manifest references. */
  chunksReferenced: number;
  /** Unreferenced chunks kept: written within the grace period, or leased by a save in progress. */
  chunksProtected: number;
  /** Unreferenced chunks deleted (in a dry run: that would be deleted), and their bytes. */
  chunksDeleted: number;
  bytesReclaimed: number;
  durationMs: number;
  /** Whether the run was skipped because another replica held the GC lease. */
  skipped: boolean;
  /** The replica that held the GC lease when the run was skipped; empty otherwise. */
  holder: string;
}

// What a sweep deletes: unreferenced chunks written before `cutoff` that no
// lease names (`leased`, grown by `rescan` on a shared store).
interface SweepOptions {
  dryRun: boolean;
  cutoff: number;
  leased: Set<string>;
  rescan?: () => Promise<{ chunks: Set<string> }>;
}

const TARGET = "pulse::gc";
// Fan-out directories swept between two reads of the store's leases, on a
// store shared by replicas (16 reads per run).
const LEASE_RESCAN_PREFIXES = 16;

/** Marks and sweeps unreferenced chunks, on demand and periodically. */
export class GarbageCollector {
  #store: ObjectStore;
  #leases: ChunkLeases;
  #storeLeases: StoreLeases;
  #options: GarbageCollectorOptions;
  #tail: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopping = new AbortController();
  // The GC lease while a run holds it.
  #held: HeldLock | undefined;

  constructor(
    store: ObjectStore,
    leases: ChunkLeases,
    options: GarbageCollectorOptions,
  ) {
    this.#store = store;
    this.#leases = leases;
    this.#storeLeases = new StoreLeases(store);
    this.#options = options;
  }

  /**
   * Runs one collection, after any run in progress.
   * @throws {PulseError} aborted when the collector stops meanwhile; the
   * store's errors, and data_loss for an unreadable manifest (nothing is
   * deleted then)
   */
  collect(options: CollectOptions = {}): Promise<GcReport> {
    const run = this.#tail.then(() => this.#run(options));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Starts the periodic runs, if `intervalMs` is not 0. */
  start(): void {
    if (this.#options.intervalMs <= 0 || this.#stopping.signal.aborted) return;
    const timer = setTimeout(async () => {
      try {
        await this.collect();
      } catch {
        // Logged by the run.
      }
      this.start();
    }, this.#options.intervalMs);
    // The runtime's life does not depend on the next collection.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops periodic runs, cuts a run in progress short, and waits for it. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#stopping.abort();
    await this.#tail;
  }

  async #run(options: CollectOptions): Promise<GcReport> {
    const dryRun = options.dryRun ?? false;
    const graceMs = options.graceMs ?? this.#options.graceMs;
    const mode = dryRun ? "dry_run" : "delete";
    const lock = this.#options.lock;
    if (lock === undefined) return await this.#collect(dryRun, graceMs);
    const attempt = await lock.tryAcquire();
    if (!attempt.acquired) {
      gcRunsTotal.inc({ mode, outcome: "skipped" });
      log.info(TARGET, "Garbage collection skipped: another replica holds the GC lease", {
        holder: attempt.holder,
        expires_at: attempt.expiresAt.toISOString(),
      });
      return { ...emptyReport(dryRun, graceMs), skipped: true, holder: attempt.holder };
    }
    this.#held = attempt.lock;
    log.info(TARGET, "Garbage collection lease taken", { generation: attempt.lock.generation });
    try {
      return await this.#collect(dryRun, graceMs);
    } finally {
      this.#held = undefined;
      await attempt.lock.release();
    }
  }

  async #collect(dryRun: boolean, graceMs: number): Promise<GcReport> {
    const mode = dryRun ? "dry_run" : "delete";
    const started = Date.now();
    const endTimer = gcDurationSeconds.startTimer({ mode });
    const collection = this.#leases.openCollection();
    try {
      this.#checkStopping();
      const { referenced, manifestsScanned } = await this.#mark();
      // Read after the manifests: a plan that commits meanwhile is either
      // in a manifest read above or still holds its lease here.
      const leased = await this.#storeLeases.scan(started);
      const report = await this.#sweep(referenced, collection, {
        dryRun,
        cutoff: started - graceMs,
        leased: leased.chunks,
        rescan: this.#options.lock && (() => this.#storeLeases.scan(Date.now())),
      });
      if (!dryRun) { for (const key of leased.expired) await this.#store.delete(key); }
      const result: GcReport = {
        dryRun,
        graceMs,
        manifestsScanned,
        ...report,
        durationMs: Date.now() - started,
        skipped: false,
        holder: "",
      };
      gcRunsTotal.inc({ mode, outcome: "ok" });
      log.info(TARGET, "Garbage collection finished", fieldsOf(result));
      return result;
    } catch (error) {
      gcRunsTotal.inc({ mode, outcome: "error" });
      log.error(TARGET, "Garbage collection failed", { dry_run: dryRun, grace_ms: graceMs, error });
      throw error;
    } finally {
      collection.close();
      endTimer();
    }
  }

  // Collects the chunk hashes every manifest references.
  async #mark(): Promise<{ referenced: Set<string>; manifestsScanned: number }> {
    const referenced = new Set<string>();
    let manifestsScanned = 0;
    const reads = new TaskPool(GC_MANIFEST_READS_IN_FLIGHT);
    try {
      for await (const info of listAll(this.#store, MANIFESTS_PREFIX)) {
        this.#checkStopping();
        if (!isManifestKey(info.key)) continue;
        await reads.add(async () => {
          const manifest = await readRecord(this.#store, info.key, MANIFEST);
          if (manifest === undefined) return; // deleted since the listing
          manifestsScanned++;
          for (const chunk of manifest.chunks) referenced.add(chunk.sha256);
        });
      }
      await reads.drain();
    } catch (error) {
      await reads.settle();
      if (error instanceof PulseError) {
        throw new PulseError(
          error.code,
          `Cannot collect garbage: ${error.message}; no chunk was deleted`,
          { cause: error },
        );
      }
      throw error;
    }
    return { referenced, manifestsScanned };
  }

  async #sweep(
    referenced: Set<string>,
    collection: ChunkCollection,
    options: SweepOptions,
  ) {
    const report = {
      chunksScanned: 0,
      bytesScanned: 0,
      chunksReferenced: 0,
      chunksProtected: 0,
      chunksDeleted: 0,
      bytesReclaimed: 0,
    };
    const deletes = new TaskPool(GC_DELETES_IN_FLIGHT);
    const consider = async (info: ObjectInfo, sha256: string) => {
      report.chunksScanned++;
      report.bytesScanned += info.size;
      if (referenced.has(sha256)) {
        report.chunksReferenced++;
      } else if (info.lastModified.getTime() > options.cutoff || options.leased.has(sha256)) {
        report.chunksProtected++;
      } else if (options.dryRun) {
        if (collection.isProtected(sha256)) report.chunksProtected++;
        else countDeleted(report, info.size);
      } else {
        await deletes.add(async () => {
          this.#held?.check("collect garbage");
          const deleted = await this.#leases.deleteIfFree(
            sha256,
            collection,
            () => this.#store.delete(info.key),
          );
          if (!deleted) {
            report.chunksProtected++;
            return;
          }
          countDeleted(report, info.size);
          gcChunksDeletedTotal.inc();
          gcBytesReclaimedTotal.inc(info.size);
        });
      }
    };
    try {
      for (const [index, prefix] of CHUNK_FAN_OUT_PREFIXES.entries()) {
        this.#checkStopping();
        // Leases of saves that began since the last look count too: a save
        // on another replica that started during the sweep is protected
        // from the next fan-out directory on, not only from the next run.
        if (index > 0 && index % LEASE_RESCAN_PREFIXES === 0 && options.rescan) {
          for (const sha256 of (await options.rescan()).chunks) options.leased.add(sha256);
        }
        for await (const info of listAll(this.#store, prefix)) {
          this.#checkStopping();
          const sha256 = chunkHashOfKey(info.key);
          // Not a chunk (or one filed under the wrong fan-out): not ours to delete.
          if (sha256 === undefined) continue;
          await consider(info, sha256);
        }
      }
      await deletes.drain();
    } catch (error) {
      await deletes.settle();
      throw error;
    }
    return report;
  }

  #checkStopping(): void {
    this.#held?.check("collect garbage");
    if (this.#stopping.signal.aborted) {
      throw new PulseError(
        "ABORTED",
        "Cannot collect garbage: the runtime is shutting down",
      );
    }
  }
}

function emptyReport(dryRun: boolean, graceMs: number): Omit<GcReport, "skipped" | "holder"> {
  return {
    dryRun,
    graceMs,
    manifestsScanned: 0,
    chunksScanned: 0,
    bytesScanned: 0,
    chunksReferenced: 0,
    chunksProtected: 0,
    chunksDeleted: 0,
    bytesReclaimed: 0,
    durationMs: 0,
  };
}

function countDeleted(report: { chunksDeleted: number; bytesReclaimed: number }, size: number) {
  report.chunksDeleted++;
  report.bytesReclaimed += size;
}

function fieldsOf(report: GcReport): Record<string, unknown> {
  return {
    dry_run: report.dryRun,
    grace_ms: report.graceMs,
    manifests_scanned: report.manifestsScanned,
    chunks_scanned: report.chunksScanned,
    chunks_referenced: report.chunksReferenced,
    chunks_protected: report.chunksProtected,
    chunks_deleted: report.chunksDeleted,
    bytes_reclaimed: report.bytesReclaimed,
    duration_ms: report.durationMs,
  };
}
