// Original file: pulse.proto

export const WorkerState = {
  WORKER_STATE_UNSPECIFIED: 'WORKER_STATE_UNSPECIFIED',
  /**
   * Heartbeat received within the heartbeat timeout.
   */
  WORKER_STATE_ACTIVE: 'WORKER_STATE_ACTIVE',
  /**
   * No heartbeat within the heartbeat timeout.
   */
  WORKER_STATE_STALE: 'WORKER_STATE_STALE',
  /**
   * Left through DeregisterWorker.
   */
  WORKER_STATE_DEREGISTERED: 'WORKER_STATE_DEREGISTERED',
} as const;

export type WorkerState =
  | 'WORKER_STATE_UNSPECIFIED'
  | 0
  /**
   * Heartbeat received within the heartbeat timeout.
   */
  | 'WORKER_STATE_ACTIVE'
  | 1
  /**
   * No heartbeat within the heartbeat timeout.
   */
  | 'WORKER_STATE_STALE'
  | 2
  /**
   * Left through DeregisterWorker.
   */
  | 'WORKER_STATE_DEREGISTERED'
  | 3

export type WorkerState__Output = typeof WorkerState[keyof typeof WorkerState]
