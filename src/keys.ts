/**
 * The storage layout: every object key the runtime reads or writes, the
 * patterns that recognise them, and the ids they hold. Keys are built here
 * and nowhere else, so that the layout is one module:
 *
 * ```
 * chunks/<sha256[0:2]>/<sha256>                  content-addressed chunk
 * checkpoints/<owner>/<sortkey>.json             manifest, written last
 * workers/<worker_id>.json                       worker record
 * datasets/<name>.json                           dataset record
 * idempotency/<worker_id>/<sha256(key)>.json     idempotency record
 * retention/<worker_id>.json                     retention ledger
 * leases/<plan_id>/<ulid>.json                   a direct-path plan's hold on chunks
 * jobs/<job_id>/steps/<step>/...                 a job step's shard records
 * jobs/<job_id>/commits/<newest first>.json      a job step's decision
 * quarantine/<sha256>                            a chunk a scrub found corrupt, moved aside
 * ```
 *
 * A checkpoint's owner is its worker, or `@<job_id>` for the checkpoints of
 * a job (its ranks' shards and its steps' metadata): ids begin with a letter
 * or a digit, so no worker's checkpoints are filed there.
 *
 * Worker ids and dataset names are validated (`validation.ts`) before they
 * get here: they become parts of keys.
 */
import { createHash } from "node:crypto";
import { checkpointIdOf, sortKeyOf } from "./checkpoints/checkpoint_id.ts";

const JSON_SUFFIX = ".json";

/** Prefix of every chunk. */
export const CHUNKS_PREFIX = "chunks/";
const CHUNK_KEY_PATTERN = /^chunks\/([0-9a-f]{2})\/([0-9a-f]{64})$/;
// Chunks are fanned out by the first byte of their hash.
const CHUNK_FAN_OUTS = 256;

/** Key of a chunk: content-addressed, fanned out by the first byte of its hash. */
export function chunkKeyOf(sha256: string): string {
  return `${CHUNKS_PREFIX}${sha256.slice(0, 2)}/${sha256}`;
}

/** The prefixes of the chunk fan-out directories, in key order. */
export const CHUNK_FAN_OUT_PREFIXES: readonly string[] = Array.from(
  { length: CHUNK_FAN_OUTS },
  (_, fanOut) => `${CHUNKS_PREFIX}${fanOut.toString(16).padStart(2, "0")}/`,
);

/**
 * The SHA-256 a chunk key names; undefined for a key that is not a chunk's,
 * or a chunk filed under the wrong fan-out.
 */
export function chunkHashOfKey(key: string): string | undefined {
  const match = CHUNK_KEY_PATTERN.exec(key);
  if (match === null || !match[2]!.startsWith(match[1]!)) return undefined;
  return match[2]!;
}

/** The owner a checkpoint is filed under: the job when there is one, else the worker. */
export function checkpointOwnerOf(workerId: string, jobId: string): string {
  return jobId === "" ? workerId : `@${jobId}`;
}

/** The job an owner is, or undefined for a worker. */
export function jobOfOwner(owner: string): string | undefined {
  return owner.startsWith("@") ? owner.slice(1) : undefined;
}

/** Prefix of every manifest. */
export const MANIFESTS_PREFIX = "checkpoints/";

/** Key prefix of the manifests of an owner (a worker, or a job). */
export function manifestPrefixOf(owner: string): string {
  return `${MANIFESTS_PREFIX}${owner}/`;
}

/** Key of a checkpoint's manifest: sort keys make the newest list first. */
export function manifestKeyOf(owner: string, checkpointId: string): string {
  return `${manifestPrefixOf(owner)}${sortKeyOf(checkpointId)}${JSON_SUFFIX}`;
}

/** Whether a key listed under `MANIFESTS_PREFIX` is a manifest's. */
export function isManifestKey(key: string): boolean {
  return key.startsWith(MANIFESTS_PREFIX) && key.endsWith(JSON_SUFFIX);
}

/** The checkpoint id a manifest key names. */
export function checkpointIdOfKey(key: string): string {
  return checkpointIdOf(key.slice(key.lastIndexOf("/") + 1, -JSON_SUFFIX.length));
}

/** Prefix of every worker record. */
export const WORKERS_PREFIX = "workers/";

/** Key of a worker's record. */
export function workerKeyOf(workerId: string): string {
  return `${WORKERS_PREFIX}${workerId}${JSON_SUFFIX}`;
}

/** Prefix of every dataset record. */
export const DATASETS_PREFIX = "datasets/";

/** Key of a dataset's record. */
export function datasetKeyOf(name: string): string {
  return `${DATASETS_PREFIX}${name}${JSON_SUFFIX}`;
}

/**
 * Key of the record of a worker's idempotency key. The idempotency key is
 * hashed: it is free text, and object keys are not.
 */
export function idempotencyRecordKeyOf(owner: string, idempotencyKey: string): string {
  const hash = createHash("sha256").update(idempotencyKey).digest("hex");
  return `idempotency/${owner}/${hash}${JSON_SUFFIX}`;
}

/** Key of a worker's retention ledger. */
export function ledgerKeyOf(workerId: string): string {
  return `retention/${workerId}${JSON_SUFFIX}`;
}

/** Key prefix of the store's leases: holds of saves in progress on their chunks, against GC. */
export const LEASES_PREFIX = "leases/";

/** Key prefix of the leases of one direct-path plan, or of one save (by its checkpoint id). */
export function leasePrefixOf(planId: string): string {
  return `${LEASES_PREFIX}${planId}/`;
}

/** Key of one lease of a plan: one per PlanSave call, named by a ULID. */
export function leaseKeyOf(planId: string, leaseId: string): string {
  return `${leasePrefixOf(planId)}${leaseId}${JSON_SUFFIX}`;
}

/** Key prefix of everything of one job. */
export function jobPrefixOf(jobId: string): string {
  return `jobs/${jobId}/`;
}

// Steps as fixed-width decimals, so that keys sort in step order: ascending
// under steps/, newest first under commits/ (the complement).
const STEP_DIGITS = 16;
const stepDigits = (step: number) => String(step).padStart(STEP_DIGITS, "0");
const newestFirst = (step: number) => stepDigits(Number.MAX_SAFE_INTEGER - step);

/** Key prefix of the records of one step of a job. */
export function stepKeyPrefixOf(jobId: string, step: number): string {
  return `${jobPrefixOf(jobId)}steps/${stepDigits(step)}/`;
}

/** Key prefix of the records of every step of a job, in step order. */
export function stepsPrefixOf(jobId: string): string {
  return `${jobPrefixOf(jobId)}steps/`;
}

/** The step a key under `stepsPrefixOf(jobId)` belongs to. */
export function stepOfKey(jobId: string, key: string): number {
  return Number(key.slice(stepsPrefixOf(jobId).length).split("/")[0]);
}

/** Key prefix of the shard records of a step: one per rank whose shard is durable. */
export function ranksPrefixOf(jobId: string, step: number): string {
  return `${stepKeyPrefixOf(jobId, step)}ranks/`;
}

/** Key of the record of a rank's durable shard. */
export function rankRecordKeyOf(jobId: string, step: number, rank: number): string {
  return `${ranksPrefixOf(jobId, step)}${String(rank).padStart(6, "0")}${JSON_SUFFIX}`;
}

/** Key of the record that a rank's shard save began, naming its worker. */
export function rankStartedKeyOf(jobId: string, step: number, rank: number): string {
  return `${stepKeyPrefixOf(jobId, step)}started/${String(rank).padStart(6, "0")}${JSON_SUFFIX}`;
}

/** Key of the record of a step's metadata checkpoint. */
export function stepMetadataKeyOf(jobId: string, step: number): string {
  return `${stepKeyPrefixOf(jobId, step)}metadata${JSON_SUFFIX}`;
}

/** Key prefix of a job's step decisions, newest step first. */
export function commitsPrefixOf(jobId: string): string {
  return `${jobPrefixOf(jobId)}commits/`;
}

/** Key of a step's decision (COMPLETE or ABORTED), written once. */
export function commitKeyOf(jobId: string, step: number): string {
  return `${commitsPrefixOf(jobId)}${newestFirst(step)}${JSON_SUFFIX}`;
}

/** Prefix of the chunks a scrub moved aside. */
export const QUARANTINE_PREFIX = "quarantine/";

/**
 * Key a corrupt chunk is moved to: out of `chunks/`, so that its own key is
 * absent and the next save with its bytes writes it again; kept for a look.
 */
export function quarantineKeyOf(sha256: string): string {
  return `${QUARANTINE_PREFIX}${sha256}`;
}

/** Key prefix of the GC lease: one collector at a time among the replicas (`store_lock.ts`). */
export const GC_LOCK_PREFIX = "locks/gc/";

/** Key prefix of a worker's retention lease: one retention pass at a time per worker. */
export function retentionLockPrefixOf(workerId: string): string {
  return `locks/retention/${workerId}/`;
}

/**
 * Key of the marker that one replica took over the dead claim of
 * `checkpointId` on a worker's idempotency key: written with `putIfAbsent`,
 * so that of the replicas that find the claim dead, one replaces it.
 */
export function idempotencyTakeoverKeyOf(
  workerId: string,
  idempotencyKey: string,
  checkpointId: string,
): string {
  const record = idempotencyRecordKeyOf(workerId, idempotencyKey);
  return `${record.slice(0, -JSON_SUFFIX.length)}.takeover.${checkpointId}${JSON_SUFFIX}`;
}
