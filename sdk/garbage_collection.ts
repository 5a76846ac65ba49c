/**
 * Garbage collection as the SDK hands it out: the options of
 * {@linkcode Runtime.runGc} and the report of a run.
 *
 * @module
 */
import type { RunGcRequest, RunGcResponse__Output } from "@pulsecheckpoint/proto/types";
import { check, checkOptionalBoolean, checkOptions } from "./argument_checks.ts";

/**
 * Options of {@linkcode Runtime.runGc}.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 * await using rt = new Runtime("grpc://localhost:50051", { token: "admin-token" });
 * const report = await rt.runGc({ dryRun: true, graceMs: 30 * 60_000 });
 * ```
 */
export interface RunGcOptions {
  /** Count what would be deleted; delete nothing. */
  dryRun?: boolean;
  /**
   * Keep unreferenced chunks written less than this long ago (ms); absent for
   * the runtime's `gc.grace_ms`. 0 protects only the chunks of saves in
   * progress in that runtime, not those of another runtime on the same store.
   */
  graceMs?: number;
}

/** What a garbage collection run found and did. */
export interface GcReport {
  /** Whether it was a dry run (nothing deleted). */
  dryRun: boolean;
  /** The grace period it used, in ms. */
  graceMs: number;
  /** Manifests read while marking. */
  manifestsScanned: number;
  /** Chunks listed while sweeping. */
  chunksScanned: number;
  /** Bytes of the chunks listed. */
  bytesScanned: number;
  /** Chunks that a manifest references. */
  chunksReferenced: number;
  /** Unreferenced chunks kept: written within the grace period, or held by a save in progress. */
  chunksProtected: number;
  /** Unreferenced chunks deleted; in a dry run, those that would be. */
  chunksDeleted: number;
  /** Bytes of those chunks. */
  bytesReclaimed: number;
  /** How long the run took, in ms. */
  durationMs: number;
}

/**
 * The request message of a run.
 *
 * @param options dry run and grace period
 * @returns the `pulse.v1.RunGcRequest` fields
 * @throws {PulseError} INVALID_ARGUMENT for options of the wrong shape, or a
 * grace period that is not a non-negative integer
 */
export function runGcRequest(options: RunGcOptions): RunGcRequest {
  const action = "run garbage collection";
  checkOptions(action, "options", options);
  checkOptionalBoolean(action, "options.dryRun", options.dryRun);
  const { graceMs } = options;
  const ok = graceMs === undefined || (Number.isSafeInteger(graceMs) && graceMs >= 0);
  check(ok, action, "options.graceMs", graceMs, "a non-negative integer of milliseconds");
  return graceMs === undefined
    ? { dry_run: options.dryRun ?? false }
    : { dry_run: options.dryRun ?? false, grace_ms: graceMs };
}

/**
 * Converts a `pulse.v1.RunGcResponse` message.
 *
 * @param message the message as proto-loader decodes it
 * @returns the report
 */
export function toGcReport(message: RunGcResponse__Output): GcReport {
  return {
    dryRun: message.dry_run,
    graceMs: message.grace_ms,
    manifestsScanned: message.manifests_scanned,
    chunksScanned: message.chunks_scanned,
    bytesScanned: message.bytes_scanned,
    chunksReferenced: message.chunks_referenced,
    chunksProtected: message.chunks_protected,
    chunksDeleted: message.chunks_deleted,
    bytesReclaimed: message.bytes_reclaimed,
    durationMs: message.duration_ms,
  };
}
