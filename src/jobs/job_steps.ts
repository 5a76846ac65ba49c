/**
 * Job checkpoints: at each step of a distributed job every rank saves its
 * shard (a checkpoint of the job), and the step becomes visible all or
 * nothing, through one record written last.
 *
 * The store holds, for a job:
 * - `jobs/<job>/steps/<step>/ranks/<rank>.json`: a rank's shard is durable
 *   (written once its checkpoint committed); `started/<rank>.json`: a rank's
 *   save began, naming its worker; `metadata.json`: the step's metadata
 *   checkpoint (a coordinator's, such as DCP's `.metadata`);
 * - `jobs/<job>/commits/<step, newest first>.json`: the step's decision,
 *   COMPLETE or ABORTED, written with a conditional write (`putIfAbsent`), so
 *   that exactly one decision stands, whichever runtime and call made it.
 *
 * A step without a commit record is PENDING. `commitStep` waits for the
 * shards up to its deadline, polling the store; ABORTED when the deadline
 * passes first or a rank's worker goes STALE. An aborted step's shards are
 * dropped (their chunks are garbage after the collector's grace period).
 * Retention keeps the newest `keepLastSteps` COMPLETE steps of each job and
 * drops older steps whole: the commit record first, then their shards.
 */
import { PulseError } from "../errors.ts";
import {
  commitKeyOf,
  commitsPrefixOf,
  rankRecordKeyOf,
  ranksPrefixOf,
  rankStartedKeyOf,
  stepKeyPrefixOf,
  stepMetadataKeyOf,
  stepOfKey,
  stepsPrefixOf,
} from "../keys.ts";
import { JOB_COMMIT_POLL_MS_MAX } from "../limits.ts";
import { log } from "../log.ts";
import {
  decodeRecord,
  encodeRecord,
  fieldsProblem,
  listRecords,
  readRecord,
  type RecordShape,
  writeRecord,
} from "../storage/records.ts";
import { listAll, type ObjectStore } from "../storage/store.ts";
import { validateId } from "../validation.ts";
import { checkShardRef, checkStep, type ShardRef } from "./shard_ref.ts";

export type { ShardRef };

/** A durable shard of a step. */
export interface Shard {
  rank: number;
  checkpointId: string;
  sizeBytes: number;
  sha256: string;
  workerId: string;
}

/** A step's state: undecided, or decided once. */
export type StepState = "PENDING" | "COMPLETE" | "ABORTED";

/** A step as clients see it. */
export interface Step {
  jobId: string;
  step: number;
  worldSize: number;
  state: StepState;
  /** When it was decided; undefined while PENDING. */
  createdAt?: Date;
  shards: Shard[];
  metadataCheckpointId: string;
  missingRanks: number[];
  reason: string;
}

/** What `JobSteps` needs of the checkpoints and workers. */
export interface JobStepsParts {
  /** Deletes a checkpoint of the job (a shard); absent is not an error. */
  deleteShard(jobId: string, checkpointId: string): Promise<void>;
  /** Whether the worker is no longer ACTIVE: STALE, deregistered or unknown. */
  isGone(workerId: string): Promise<boolean>;
}

/** Options of `JobSteps`. */
export interface JobStepsOptions {
  /** Default wait of a commit for its shards (`jobs.commit_timeout_ms`). */
  commitTimeoutMs: number;
  /** COMPLETE steps kept per job; 0 keeps all (`retention.keep_last_steps`). */
  keepLastSteps: number;
  /** The clock; tests pass their own. */
  now?: () => number;
}

interface RankRecord {
  rank: number;
  world_size: number;
  checkpoint_id: string;
  size_bytes: number;
  sha256: string;
  worker_id: string;
}

interface CommitRecord {
  job_id: string;
  step: number;
  world_size: number;
  state: "COMPLETE" | "ABORTED";
  created_at: string;
  shards: RankRecord[];
  metadata_checkpoint_id: string;
  missing_ranks: number[];
  reason: string;
}

const RANK: RecordShape<RankRecord> = {
  name: "shard record",
  problem: (value) =>
    fieldsProblem(value, {
      rank: "integer",
      world_size: "integer",
      checkpoint_id: "string",
      size_bytes: "integer",
      sha256: "string",
      worker_id: "string",
    }),
};

const STARTED: RecordShape<{ worker_id: string }> = {
  name: "shard start record",
  problem: (value) => fieldsProblem(value, { worker_id: "string" }),
};

const METADATA: RecordShape<{ checkpoint_id: string }> = {
  name: "step metadata record",
  problem: (value) => fieldsProblem(value, { checkpoint_id: "string" }),
};

const COMMIT: RecordShape<CommitRecord> = {
  name: "step record",
  problem: (value) => {
    const problem = fieldsProblem(value, {
      job_id: "string",
      step: "integer",
      world_size: "integer",
      state: "string",
      created_at: "date",
      shards: "object",
      metadata_checkpoint_id: "string",
      missing_ranks: "object",
      reason: "string",
    });
    if (problem !== undefined) return problem;
    const state = (value as { state: string }).state;
    return state === "COMPLETE" || state === "ABORTED" ? undefined : `state is ${state}`;
  },
};

const TARGET = "pulse::jobs";

/** Records shards, commits steps all or nothing, and answers what steps there are. */
export class JobSteps {
  readonly #store: ObjectStore;
  readonly #parts: JobStepsParts;
  readonly #options: JobStepsOptions;
  readonly #now: () => number;
  // Commits waiting in this process, by step: woken when a shard of it lands
  // here (a shard landing through another runtime is seen at the next poll).
  readonly #waiting = new Map<string, Set<() => void>>();

  constructor(store: ObjectStore, parts: JobStepsParts, options: JobStepsOptions) {
    this.#store = store;
    this.#parts = parts;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Checks where a shard save says it belongs, before any byte of it, and
   * records which worker runs the rank's save (whose going STALE aborts the
   * step).
   * @throws {PulseError} INVALID_ARGUMENT for a bad job id, step or rank;
   *   FAILED_PRECONDITION when the step is decided already
   */
  async shardStarting(shard: ShardRef, workerId: string): Promise<void> {
    checkShardRef("save shard", shard);
    await this.#refuseDecided(shard);
    if (workerId === "" || shard.stepMetadata) return;
    await writeRecord(this.#store, rankStartedKeyOf(shard.jobId, shard.step, shard.rank), {
      worker_id: workerId,
    });
  }

  /**
   * Records a shard (or the step's metadata) whose checkpoint committed: it
   * counts from now. A step decided meanwhile keeps its decision: the shard
   * is then deleted again and the save fails.
   * @throws {PulseError} FAILED_PRECONDITION when the step was decided
   *   before the shard was recorded
   */
  async shardSaved(shard: ShardRef, saved: Omit<Shard, "rank">): Promise<void> {
    const key = shard.stepMetadata
      ? stepMetadataKeyOf(shard.jobId, shard.step)
      : rankRecordKeyOf(shard.jobId, shard.step, shard.rank);
    const wake = () => {
      for (const waiter of this.#waiting.get(`${shard.jobId}/${shard.step}`) ?? []) waiter();
    };
    let recorded = false;
    try {
      await this.#refuseDecided(shard, saved.checkpointId);
      await writeRecord(this.#store, key, this.#shardRecord(shard, saved));
      recorded = true;
      // A decision made while the record was written did not count it.
      await this.#refuseDecided(shard, saved.checkpointId);
      wake();
    } catch (error) {
      if (recorded) await this.#store.delete(key);
      await this.#parts.deleteShard(shard.jobId, saved.checkpointId);
      throw error;
    }
  }

  #shardRecord(
    shard: ShardRef,
    saved: Omit<Shard, "rank">,
  ): RankRecord | { checkpoint_id: string } {
    if (shard.stepMetadata) return { checkpoint_id: saved.checkpointId };
    return {
      rank: shard.rank,
      world_size: shard.worldSize,
      checkpoint_id: saved.checkpointId,
      size_bytes: saved.sizeBytes,
      sha256: saved.sha256,
      worker_id: saved.workerId,
    };
  }

  // Refuses a shard for a step decided already, unless the decision holds
  // that very checkpoint (a retry of a save that landed).
  async #refuseDecided(shard: ShardRef, checkpointId?: string): Promise<void> {
    const decided = await this.#decision(shard.jobId, shard.step);
    if (decided === undefined) return;
    const held = decided.metadata_checkpoint_id === checkpointId ||
      decided.shards.some((s) => s.checkpoint_id === checkpointId);
    if (checkpointId !== undefined && held) return;
    throw new PulseError(
      "FAILED_PRECONDITION",
      `Cannot save shard: step ${shard.step} of job ${shard.jobId} is ${decided.state} already; save the next step`,
    );
  }

  /**
   * Commits a step once every rank's shard is durable, waiting up to
   * `timeoutMs` (default `commitTimeoutMs`); returns the step as decided,
   * by this call or an earlier one.
   * @throws {PulseError} ABORTED naming the missing ranks when the step is,
   *   or becomes, ABORTED
   */
  async commitStep(
    jobId: string,
    step: number,
    worldSize: number,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Step> {
    checkShardRef("commit step", { jobId, step, rank: 0, worldSize, stepMetadata: false });
    const deadline = this.#now() + (options.timeoutMs ?? this.#options.commitTimeoutMs);
    for (let pollMs = 50;; pollMs = Math.min(pollMs * 2, JOB_COMMIT_POLL_MS_MAX)) {
      const decided = await this.#decision(jobId, step);
      if (decided !== undefined) return refuseAborted(toStep(decided));
      const pending = await this.#pending(jobId, step, worldSize);
      if (pending.missingRanks.length === 0) {
        return await this.#decide(jobId, step, worldSize, "COMPLETE", "");
      }
      const stale = await this.#staleRank(jobId, step, pending.missingRanks);
      if (stale !== undefined || this.#now() >= deadline) {
        const reason = stale ??
          `the deadline passed (${
            options.timeoutMs ?? this.#options.commitTimeoutMs
          } ms) without their shards`;
        return refuseAborted(await this.#decide(jobId, step, worldSize, "ABORTED", reason));
      }
      if (options.signal?.aborted) {
        throw new PulseError(
          "ABORTED",
          `Cannot commit step ${step} of job ${jobId}: the caller left`,
        );
      }
      await this.#nap(`${jobId}/${step}`, Math.min(pollMs, Math.max(1, deadline - this.#now())));
    }
  }

  /**
   * A step with its state; without `step`, the job's latest COMPLETE one.
   * @throws {PulseError} NOT_FOUND when the job has no such step
   */
  async getStep(jobId: string, step?: number): Promise<Step> {
    validateId("get step", "job_id", jobId);
    if (step === undefined) {
      for (let pageToken = "";;) {
        const page = await this.#listCommits(jobId, 100, pageToken);
        const complete = page.records.find((record) => record.state === "COMPLETE");
        if (complete !== undefined) return toStep(complete);
        if (page.nextPageToken === "") {
          throw new PulseError("NOT_FOUND", `Cannot get step: job ${jobId} has no complete step`);
        }
        pageToken = page.nextPageToken;
      }
    }
    checkStep("get step", step);
    const decided = await this.#decision(jobId, step);
    if (decided !== undefined) return toStep(decided);
    const pending = await this.#pending(jobId, step, undefined);
    if (pending.shards.length === 0 && pending.metadataCheckpointId === "") {
      throw new PulseError(
        "NOT_FOUND",
        `Cannot get step: step ${step} of job ${jobId} has no shard`,
      );
    }
    return pending;
  }

  /** A job's decided steps, newest first, a page at a time. */
  async listSteps(
    jobId: string,
    pageSize: number,
    pageToken: string,
  ): Promise<{ steps: Step[]; nextPageToken: string }> {
    validateId("list steps", "job_id", jobId);
    const page = await this.#listCommits(jobId, pageSize, pageToken);
    return { steps: page.records.map(toStep), nextPageToken: page.nextPageToken };
  }

  // Sleeps `ms`, or less when a shard of the step lands in this process.
  async #nap(step: string, ms: number): Promise<void> {
    let waiters = this.#waiting.get(step);
    if (waiters === undefined) this.#waiting.set(step, waiters = new Set());
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => wake = resolve);
    waiters.add(wake);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([woken, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
    } finally {
      clearTimeout(timer);
      waiters.delete(wake);
      if (waiters.size === 0) this.#waiting.delete(step);
    }
  }

  #listCommits(jobId: string, pageSize: number, pageToken: string) {
    return listRecords(this.#store, COMMIT, {
      action: "list steps",
      prefix: commitsPrefixOf(jobId),
      pageSize,
      pageToken,
    });
  }

  #decision(jobId: string, step: number): Promise<CommitRecord | undefined> {
    return readRecord(this.#store, commitKeyOf(jobId, step), COMMIT);
  }

  // The step as its shard records have it now.
  async #pending(jobId: string, step: number, worldSize: number | undefined): Promise<Step> {
    const shards: RankRecord[] = [];
    for await (const info of listAll(this.#store, ranksPrefixOf(jobId, step))) {
      const record = await readRecord(this.#store, info.key, RANK);
      if (record !== undefined) shards.push(record);
    }
    const size = worldSize ?? shards[0]?.world_size ?? 0;
    const have = new Set(shards.filter((s) => s.world_size === size).map((s) => s.rank));
    const metadata = await readRecord(this.#store, stepMetadataKeyOf(jobId, step), METADATA);
    return {
      jobId,
      step,
      worldSize: size,
      state: "PENDING",
      shards: shards.filter((s) => have.has(s.rank)).map(toShard),
      metadataCheckpointId: metadata?.checkpoint_id ?? "",
      missingRanks: Array.from({ length: size }, (_, rank) => rank).filter((r) => !have.has(r)),
      reason: "",
    };
  }

  // Why the step cannot complete because a missing rank's worker is STALE, if it is.
  async #staleRank(jobId: string, step: number, missing: number[]): Promise<string | undefined> {
    for (const rank of missing) {
      const started = await readRecord(this.#store, rankStartedKeyOf(jobId, step, rank), STARTED);
      if (started !== undefined && await this.#parts.isGone(started.worker_id)) {
        return `rank ${rank}'s worker ${started.worker_id} went STALE (or deregistered) before its shard was durable`;
      }
    }
    return undefined;
  }

  // Writes the step's decision unless one stands already; returns the standing one.
  async #decide(
    jobId: string,
    step: number,
    worldSize: number,
    state: "COMPLETE" | "ABORTED",
    reason: string,
  ): Promise<Step> {
    const pending = await this.#pending(jobId, step, worldSize);
    const record: CommitRecord = {
      job_id: jobId,
      step,
      world_size: worldSize,
      state,
      created_at: new Date(this.#now()).toISOString(),
      shards: pending.shards.map(toRankRecord(worldSize)),
      metadata_checkpoint_id: pending.metadataCheckpointId,
      missing_ranks: state === "COMPLETE" ? [] : pending.missingRanks,
      reason,
    };
    const key = commitKeyOf(jobId, step);
    if (!await this.#store.putIfAbsent(key, encodeRecord(record))) {
      return toStep(decodeRecord(key, (await this.#store.get(key))!, COMMIT));
    }
    log.info(TARGET, state === "COMPLETE" ? "Step committed" : "Step aborted", {
      job_id: jobId,
      step,
      world_size: worldSize,
      missing_ranks: record.missing_ranks,
      reason,
    });
    if (state === "ABORTED") await this.#dropShards(jobId, step);
    else await this.#applyRetention(jobId);
    return toStep(record);
  }

  // Drops the shards of a step that will never complete (their chunks become garbage).
  async #dropShards(jobId: string, step: number): Promise<void> {
    for await (const info of listAll(this.#store, stepKeyPrefixOf(jobId, step))) {
      const record = info.key.includes("/ranks/")
        ? await readRecord(this.#store, info.key, RANK)
        : info.key.endsWith("/metadata.json")
        ? await readRecord(this.#store, info.key, METADATA)
        : undefined;
      if (record !== undefined) await this.#parts.deleteShard(jobId, record.checkpoint_id);
      await this.#store.delete(info.key);
    }
  }

  // Keeps the newest keepLastSteps COMPLETE steps; older steps go whole,
  // their decision first so that none is ever seen with shards missing.
  async #applyRetention(jobId: string): Promise<void> {
    const keep = this.#options.keepLastSteps;
    if (keep <= 0) return;
    let complete = 0;
    let oldestKept = 0;
    for await (const info of listAll(this.#store, commitsPrefixOf(jobId))) {
      const record = await readRecord(this.#store, info.key, COMMIT);
      if (record === undefined) continue;
      if (record.state === "COMPLETE" && ++complete <= keep) {
        oldestKept = record.step;
        continue;
      }
      if (complete < keep) continue; // an aborted step newer than a kept one: let it be
      await this.#store.delete(info.key);
      await this.#dropShards(jobId, record.step);
      log.info(TARGET, "Step deleted by retention", { job_id: jobId, step: record.step });
    }
    if (complete >= keep) await this.#dropPendingBefore(jobId, oldestKept);
  }

  // Steps older than the oldest kept COMPLETE one that were never decided:
  // no job resumes from them any more.
  async #dropPendingBefore(jobId: string, step: number): Promise<void> {
    const older = new Set<number>();
    for await (const info of listAll(this.#store, stepsPrefixOf(jobId))) {
      const of = stepOfKey(jobId, info.key);
      if (of >= step) break;
      older.add(of);
    }
    for (const of of older) await this.#dropShards(jobId, of);
  }
}

function refuseAborted(step: Step): Step {
  if (step.state !== "ABORTED") return step;
  throw new PulseError(
    "ABORTED",
    `Cannot commit step ${step.step} of job ${step.jobId}: it is ABORTED, ranks ${
      step.missingRanks.join(", ")
    } missing (${step.reason})`,
  );
}

function toShard(record: RankRecord): Shard {
  return {
    rank: record.rank,
    checkpointId: record.checkpoint_id,
    sizeBytes: record.size_bytes,
    sha256: record.sha256,
    workerId: record.worker_id,
  };
}

function toRankRecord(worldSize: number): (shard: Shard) => RankRecord {
  return (shard) => ({
    rank: shard.rank,
    world_size: worldSize,
    checkpoint_id: shard.checkpointId,
    size_bytes: shard.sizeBytes,
    sha256: shard.sha256,
    worker_id: shard.workerId,
  });
}

function toStep(record: CommitRecord): Step {
  return {
    jobId: record.job_id,
    step: record.step,
    worldSize: record.world_size,
    state: record.state,
    createdAt: new Date(record.created_at),
    shards: record.shards.map(toShard),
    metadataCheckpointId: record.metadata_checkpoint_id,
    missingRanks: record.missing_ranks,
    reason: record.reason,
  };
}
