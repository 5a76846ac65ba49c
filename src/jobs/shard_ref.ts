/**
 * Where a job's checkpoint belongs: a rank's shard of a step, or the step's
 * metadata, and the checks of its fields.
 */
import { PulseError } from "../errors.ts";
import { JOB_WORLD_SIZE_MAX } from "../limits.ts";
import { validateId } from "../validation.ts";

/** Where a shard belongs: a rank of a step of a job, or the step's metadata. */
export interface ShardRef {
  jobId: string;
  step: number;
  rank: number;
  worldSize: number;
  stepMetadata: boolean;
}

/** Checks a shard's or step's job id, step, rank and world size. */
export function checkShardRef(action: string, shard: ShardRef): void {
  validateId(action, "job_id", shard.jobId);
  checkStep(action, shard.step);
  if (
    !Number.isSafeInteger(shard.worldSize) || shard.worldSize < 1 ||
    shard.worldSize > JOB_WORLD_SIZE_MAX
  ) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: world_size is ${shard.worldSize}, it must be from 1 to ${JOB_WORLD_SIZE_MAX}`,
    );
  }
  if (!Number.isSafeInteger(shard.rank) || shard.rank < 0 || shard.rank >= shard.worldSize) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: rank ${shard.rank} is not from 0 to world_size - 1 (${
        shard.worldSize - 1
      })`,
    );
  }
}

/** Checks a step number. */
export function checkStep(action: string, step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new PulseError(
      "INVALID_ARGUMENT",
      `Cannot ${action}: step ${step} is not an integer from 0 to ${Number.MAX_SAFE_INTEGER}`,
    );
  }
}
