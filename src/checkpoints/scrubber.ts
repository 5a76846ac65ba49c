/**
 * Scrubbing: every stored chunk read back and verified against its SHA-256,
 * the checkpoints each bad chunk breaks found, and the corrupt chunks moved
 * aside to `quarantine/`. Once a chunk's key is absent, the next save that
 * has its bytes writes it again (`putIfAbsent`), which repairs every
 * checkpoint that names it.
 *
 * A scrub runs in four passes: count the chunks (for progress), verify them
 * (`SCRUB_READS_IN_FLIGHT` at once, each a chunk in memory), read every
 * manifest to find the checkpoints that name a corrupt chunk or a chunk the
 * store lacks, then move the corrupt ones aside. A chunk that a save holds is
 * never moved, and never reported missing, as the garbage collector honours
 * the same holds: a save of this process (the scrub opens a
 * `ChunkCollection` first, and moves a chunk only through `deleteIfFree`),
 * and a direct-path plan of any runtime on the bucket (its lease in the store,
 * read after the manifests, before anything is moved). A held corrupt chunk is
 * left to its save: a save with data verifies it and rewrites it from its own
 * bytes (`chunk_writer.ts`); a direct-path commit verifies it and fails with
 * DATA_LOSS naming it, and the client sends it again.
 *
 * A save of another runtime on the same bucket that rewrites a corrupt chunk
 * between the scrub's last check of it and its move loses that chunk (the
 * garbage collector has the same window, covered by its grace period): the
 * next scrub reports it missing, and a save of its bytes repairs it.
 */
import { PulseError } from "../errors.ts";
import {
  checkpointIdOfKey,
  CHUNK_FAN_OUT_PREFIXES,
  chunkHashOfKey,
  chunkKeyOf,
  isManifestKey,
  MANIFESTS_PREFIX,
  quarantineKeyOf,
} from "../keys.ts";
import { SCRUB_CHECKPOINTS_PER_CHUNK_MAX, SCRUB_READS_IN_FLIGHT } from "../limits.ts";
import { log } from "../log.ts";
import { scrubBadChunksTotal, scrubChunksVerifiedTotal, scrubRunsTotal } from "../metrics.ts";
import { readRecord } from "../storage/records.ts";
import { listAll, type ObjectStore } from "../storage/store.ts";
import type { ChunkCollection, ChunkLeases } from "./chunk_leases.ts";
import { StoreLeases } from "./store_leases.ts";
import { sha256InSlices } from "./hash_in_slices.ts";
import { MANIFEST } from "./manifest.ts";
import { TaskPool } from "./task_pool.ts";

/** How far a scrub has come. */
export interface ScrubProgress {
  /** Chunks in the store when the scrub began, and their bytes. */
  chunksTotal: number;
  bytesTotal: number;
  /** Chunks verified so far, and their bytes. */
  chunksVerified: number;
  bytesVerified: number;
  /** Chunks found corrupt so far. */
  chunksBad: number;
}

/** A checkpoint, by worker and id. */
export interface CheckpointRef {
  workerId: string;
  checkpointId: string;
}

/** A chunk that is corrupt or missing, and the checkpoints it breaks. */
export interface BadChunk {
  sha256: string;
  problem: "corrupt" | "missing";
  /** The stored object's size; 0 when missing. */
  sizeBytes: number;
  /** Checkpoints that name it, by worker then id: at most `SCRUB_CHECKPOINTS_PER_CHUNK_MAX`. */
  checkpoints: CheckpointRef[];
  /** How many checkpoints name it. */
  checkpointsTotal: number;
  /** Where it was moved; empty when it was not. */
  quarantineKey: string;
  /** A save held it during the scrub (of this process, or a direct-path plan), so it was not moved. */
  inUse: boolean;
}

/** What a scrub found and did. */
export interface ScrubReport {
  dryRun: boolean;
  chunksScanned: number;
  bytesScanned: number;
  manifestsScanned: number;
  chunksCorrupt: number;
  chunksMissing: number;
  chunksQuarantined: number;
  /** Checkpoints that name at least one bad chunk. */
  checkpointsBroken: number;
  /** Corrupt chunks, then missing ones, each by hash. */
  badChunks: BadChunk[];
  durationMs: number;
}

/** Options of one scrub. */
export interface ScrubOptions {
  /** Verify and report; move nothing. */
  dryRun?: boolean;
  /** Stops the scrub between two chunks (the client has gone). */
  signal?: AbortSignal;
  /** Told how far the scrub has come: once counted, then at most every `PROGRESS_INTERVAL_MS`. */
  onProgress?: (progress: ScrubProgress) => void;
}

const TARGET = "pulse::scrub";
// Progress is told at most this often while chunks are verified.
const PROGRESS_INTERVAL_MS = 500;

/** Scrubs the chunks of a store, one scrub at a time. */
export class Scrubber {
  readonly #store: ObjectStore;
  readonly #leases: ChunkLeases;
  readonly #stopping = new AbortController();
  #running: { since: Date; done: Promise<unknown> } | undefined;

  constructor(store: ObjectStore, leases: ChunkLeases) {
    this.#store = store;
    this.#leases = leases;
  }

  /**
   * Verifies every chunk, finds the checkpoints bad ones break, and moves
   * the corrupt ones aside unless `options.dryRun`.
   * @throws {PulseError} FAILED_PRECONDITION while another scrub runs;
   *   ABORTED when the signal fires or the scrubber stops (nothing more is
   *   moved); DATA_LOSS for a manifest that cannot be read (nothing is moved);
   *   the store's errors
   */
  scrub(options: ScrubOptions = {}): Promise<ScrubReport> {
    if (this.#running !== undefined) {
      return Promise.reject(
        new PulseError(
          "FAILED_PRECONDITION",
          `Cannot scrub: a scrub is already running (since ${this.#running.since.toISOString()}); wait for it to finish`,
        ),
      );
    }
    const signals = [this.#stopping.signal, ...(options.signal ? [options.signal] : [])];
    const run = new ScrubRun(this.#store, this.#leases, {
      ...options,
      signal: AbortSignal.any(signals),
    });
    const done = run.run().finally(() => this.#running = undefined);
    this.#running = { since: new Date(), done: done.catch(() => {}) };
    return done;
  }

  /** Stops a scrub in progress between two chunks, and waits for it. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running?.done;
  }
}

// One scrub, from start to report.
class ScrubRun {
  readonly #store: ObjectStore;
  readonly #leases: ChunkLeases;
  readonly #options: ScrubOptions & { signal: AbortSignal };
  readonly #progress: ScrubProgress = {
    chunksTotal: 0,
    bytesTotal: 0,
    chunksVerified: 0,
    bytesVerified: 0,
    chunksBad: 0,
  };
  // Every chunk hash listed, and the corrupt ones with their sizes.
  readonly #stored = new Set<string>();
  readonly #bad = new Map<string, BadChunk>();
  #manifestsScanned = 0;
  #lastProgressAt = 0;
  // Chunks that live direct-path leases name, read after the manifests.
  #leased = new Set<string>();

  constructor(
    store: ObjectStore,
    leases: ChunkLeases,
    options: ScrubOptions & { signal: AbortSignal },
  ) {
    this.#store = store;
    this.#leases = leases;
    this.#options = options;
  }

  async run(): Promise<ScrubReport> {
    const dryRun = this.#options.dryRun ?? false;
    const mode = dryRun ? "dry_run" : "move";
    const started = Date.now();
    const collection = this.#leases.openCollection();
    try {
      await this.#count();
      this.#options.onProgress?.({ ...this.#progress });
      await this.#verify();
      this.#options.onProgress?.({ ...this.#progress });
      const broken = await this.#findCheckpoints(collection);
      this.#leased = (await new StoreLeases(this.#store).scan(Date.now())).chunks;
      if (dryRun) this.#markInUse(collection);
      else await this.#quarantine(collection);
      const report = this.#report(dryRun, broken, Date.now() - started);
      scrubRunsTotal.inc({ mode, outcome: "ok" });
      log.info(TARGET, "Scrub finished", fieldsOf(report));
      return report;
    } catch (error) {
      scrubRunsTotal.inc({ mode, outcome: "error" });
      log.error(TARGET, "Scrub failed", { dry_run: dryRun, error });
      throw error;
    } finally {
      collection.close();
    }
  }

  // Counts the chunks and their bytes, for progress.
  async #count(): Promise<void> {
    for (const prefix of CHUNK_FAN_OUT_PREFIXES) {
      for await (const info of listAll(this.#store, prefix)) {
        this.#checkStopping();
        if (chunkHashOfKey(info.key) === undefined) continue;
        this.#progress.chunksTotal++;
        this.#progress.bytesTotal += info.size;
      }
    }
  }

  // Reads every chunk back and checks its SHA-256.
  async #verify(): Promise<void> {
    const reads = new TaskPool(SCRUB_READS_IN_FLIGHT);
    try {
      for (const prefix of CHUNK_FAN_OUT_PREFIXES) {
        for await (const info of listAll(this.#store, prefix)) {
          this.#checkStopping();
          const sha256 = chunkHashOfKey(info.key);
          if (sha256 === undefined) continue; // not a chunk: not ours to judge
          this.#stored.add(sha256);
          await reads.add(() => this.#verifyChunk(sha256));
        }
      }
      await reads.drain();
    } catch (error) {
      await reads.settle();
      throw error;
    }
  }

  async #verifyChunk(sha256: string): Promise<void> {
    const bytes = await this.#store.get(chunkKeyOf(sha256));
    if (bytes === undefined) return; // deleted since the listing (garbage collection)
    const corrupt = await sha256InSlices(bytes) !== sha256;
    scrubChunksVerifiedTotal.inc();
    this.#progress.chunksVerified++;
    this.#progress.bytesVerified += bytes.length;
    if (corrupt) {
      this.#progress.chunksBad++;
      scrubBadChunksTotal.inc({ problem: "corrupt" });
      this.#bad.set(sha256, badChunk(sha256, "corrupt", bytes.length));
      log.error(TARGET, "Chunk fails its SHA-256 check", {
        chunk_sha256: sha256,
        size_bytes: bytes.length,
      });
    }
    const now = performance.now();
    if (now - this.#lastProgressAt >= PROGRESS_INTERVAL_MS) {
      this.#lastProgressAt = now;
      this.#options.onProgress?.({ ...this.#progress });
    }
  }

  // Reads every manifest: the checkpoints that name a corrupt chunk, and the
  // chunks named that the store lacks. Returns how many checkpoints are broken.
  async #findCheckpoints(collection: ChunkCollection): Promise<number> {
    const broken = new Set<string>();
    const missing = new Map<string, BadChunk>();
    const reads = new TaskPool(SCRUB_READS_IN_FLIGHT);
    const read = async (key: string) => {
      const manifest = await readRecord(this.#store, key, MANIFEST);
      if (manifest === undefined) return; // deleted since the listing
      this.#manifestsScanned++;
      const ref = { workerId: manifest.worker_id, checkpointId: checkpointIdOfKey(key) };
      for (const sha256 of new Set(manifest.chunks.map((chunk) => chunk.sha256))) {
        let bad = this.#bad.get(sha256) ?? missing.get(sha256);
        if (bad === undefined && !this.#stored.has(sha256) && !collection.isProtected(sha256)) {
          bad = badChunk(sha256, "missing", 0);
          missing.set(sha256, bad);
        }
        if (bad === undefined) continue;
        addCheckpoint(bad, ref);
        broken.add(`${ref.workerId}/${ref.checkpointId}`);
      }
    };
    try {
      for await (const info of listAll(this.#store, MANIFESTS_PREFIX)) {
        this.#checkStopping();
        if (isManifestKey(info.key)) await reads.add(() => read(info.key));
      }
      await reads.drain();
    } catch (error) {
      await reads.settle();
      throw withContext(error);
    }
    await this.#confirmMissing(missing);
    return broken.size;
  }

  // A chunk not listed may have been written since by a save of another
  // process: only a chunk still absent now is missing.
  async #confirmMissing(missing: Map<string, BadChunk>): Promise<void> {
    for (const [sha256, bad] of missing) {
      if (await this.#store.head(chunkKeyOf(sha256)) !== undefined) continue;
      scrubBadChunksTotal.inc({ problem: "missing" });
      log.error(TARGET, "Chunk named by checkpoints is missing", {
        chunk_sha256: sha256,
        checkpoints: bad.checkpointsTotal,
      });
      this.#bad.set(sha256, bad);
    }
  }

  // Moves the corrupt chunks aside, unless a save of this process leased
  // them since the scrub began (it verifies and rewrites them itself) or a
  // direct-path plan holds them (its commit verifies them).
  async #quarantine(collection: ChunkCollection): Promise<void> {
    for (const bad of this.#bad.values()) {
      if (bad.problem !== "corrupt") continue;
      this.#checkStopping();
      if (this.#leased.has(bad.sha256)) {
        bad.inUse = true;
        continue;
      }
      const key = quarantineKeyOf(bad.sha256);
      let moved = false;
      const free = await this.#leases.deleteIfFree(bad.sha256, collection, async () => {
        moved = await this.#moveIfStillCorrupt(bad.sha256, key);
      });
      bad.inUse = !free;
      if (moved) bad.quarantineKey = key;
    }
  }

  // What a run that moves nothing reports of the chunks it would not move.
  #markInUse(collection: ChunkCollection): void {
    for (const bad of this.#bad.values()) {
      bad.inUse = bad.problem === "corrupt" &&
        (collection.isProtected(bad.sha256) || this.#leased.has(bad.sha256));
    }
  }

  // Copies a chunk to `to` and deletes it, if it still fails its check (it
  // may have been rewritten since, by a save of another process).
  async #moveIfStillCorrupt(sha256: string, to: string): Promise<boolean> {
    const from = chunkKeyOf(sha256);
    const bytes = await this.#store.get(from);
    if (bytes === undefined || await sha256InSlices(bytes) === sha256) return false;
    await this.#store.put(to, bytes);
    await this.#store.delete(from);
    log.warn(TARGET, "Corrupt chunk moved aside", { chunk_sha256: sha256, quarantine_key: to });
    return true;
  }

  #report(dryRun: boolean, checkpointsBroken: number, durationMs: number): ScrubReport {
    const badChunks = [...this.#bad.values()].sort((a, b) =>
      a.problem === b.problem ? (a.sha256 < b.sha256 ? -1 : 1) : a.problem === "corrupt" ? -1 : 1
    );
    for (const bad of badChunks) bad.checkpoints.sort(compareRefs);
    const count = (problem: BadChunk["problem"]) =>
      badChunks.filter((bad) => bad.problem === problem).length;
    return {
      dryRun,
      chunksScanned: this.#progress.chunksVerified,
      bytesScanned: this.#progress.bytesVerified,
      manifestsScanned: this.#manifestsScanned,
      chunksCorrupt: count("corrupt"),
      chunksMissing: count("missing"),
      chunksQuarantined: badChunks.filter((bad) => bad.quarantineKey !== "").length,
      checkpointsBroken,
      badChunks,
      durationMs,
    };
  }

  #checkStopping(): void {
    if (this.#options.signal.aborted) {
      throw new PulseError(
        "ABORTED",
        "Cannot scrub: the call was cancelled or the runtime is shutting down; nothing more is moved",
      );
    }
  }
}

function badChunk(sha256: string, problem: BadChunk["problem"], sizeBytes: number): BadChunk {
  return {
    sha256,
    problem,
    sizeBytes,
    checkpoints: [],
    checkpointsTotal: 0,
    quarantineKey: "",
    inUse: false,
  };
}

// Counts a checkpoint that names `bad`, listing the first found up to the limit.
function addCheckpoint(bad: BadChunk, ref: CheckpointRef): void {
  bad.checkpointsTotal++;
  if (bad.checkpoints.length < SCRUB_CHECKPOINTS_PER_CHUNK_MAX) bad.checkpoints.push(ref);
}

function compareRefs(a: CheckpointRef, b: CheckpointRef): number {
  const left = `${a.workerId}/${a.checkpointId}`;
  const right = `${b.workerId}/${b.checkpointId}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

function withContext(error: unknown): unknown {
  if (!(error instanceof PulseError) || error.code === "ABORTED") return error;
  return new PulseError(error.code, `Cannot scrub: ${error.message}; no chunk was moved`, {
    cause: error,
  });
}

function fieldsOf(report: ScrubReport): Record<string, unknown> {
  return {
    dry_run: report.dryRun,
    chunks_scanned: report.chunksScanned,
    bytes_scanned: report.bytesScanned,
    manifests_scanned: report.manifestsScanned,
    chunks_corrupt: report.chunksCorrupt,
    chunks_missing: report.chunksMissing,
    chunks_quarantined: report.chunksQuarantined,
    checkpoints_broken: report.checkpointsBroken,
    duration_ms: report.durationMs,
  };
}
