// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One rank's shard of a step.
 */
export interface Shard {
  'rank'?: (number);
  /**
   * Load it with LoadCheckpoint (or PlanLoad) and this job_id.
   */
  'checkpoint_id'?: (string);
  'size_bytes'?: (number | string | Long);
  /**
   * Hex SHA-256 of the shard's bytes.
   */
  'sha256'?: (string);
  /**
   * The rank's worker, if its save named one.
   */
  'worker_id'?: (string);
}

/**
 * One rank's shard of a step.
 */
export interface Shard__Output {
  'rank': (number);
  /**
   * Load it with LoadCheckpoint (or PlanLoad) and this job_id.
   */
  'checkpoint_id': (string);
  'size_bytes': (number);
  /**
   * Hex SHA-256 of the shard's bytes.
   */
  'sha256': (string);
  /**
   * The rank's worker, if its save named one.
   */
  'worker_id': (string);
}
