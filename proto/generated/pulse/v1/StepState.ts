// Original file: pulse.proto

export const StepState = {
  STEP_STATE_UNSPECIFIED: 'STEP_STATE_UNSPECIFIED',
  /**
   * Not decided yet: shards may still land.
   */
  STEP_STATE_PENDING: 'STEP_STATE_PENDING',
  /**
   * Every rank's shard is durable: the job may resume from it.
   */
  STEP_STATE_COMPLETE: 'STEP_STATE_COMPLETE',
  /**
   * Shards were missing at the deadline, or a rank's worker went STALE.
   */
  STEP_STATE_ABORTED: 'STEP_STATE_ABORTED',
} as const;

export type StepState =
  | 'STEP_STATE_UNSPECIFIED'
  | 0
  /**
   * Not decided yet: shards may still land.
   */
  | 'STEP_STATE_PENDING'
  | 1
  /**
   * Every rank's shard is durable: the job may resume from it.
   */
  | 'STEP_STATE_COMPLETE'
  | 2
  /**
   * Shards were missing at the deadline, or a rank's worker went STALE.
   */
  | 'STEP_STATE_ABORTED'
  | 3

export type StepState__Output = typeof StepState[keyof typeof StepState]
