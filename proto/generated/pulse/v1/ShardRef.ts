// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Which part of a job step a checkpoint is.
 */
export interface ShardRef {
  /**
   * 1–128 characters of [A-Za-z0-9._-], starting with a letter or digit.
   */
  'job_id'?: (string);
  'step'?: (number | string | Long);
  /**
   * 0 to world_size - 1.
   */
  'rank'?: (number);
  'world_size'?: (number);
  /**
   * The step's metadata (what a coordinator records, such as DCP's
   * .metadata) rather than a rank's shard; rank is then 0.
   */
  'step_metadata'?: (boolean);
}

/**
 * Which part of a job step a checkpoint is.
 */
export interface ShardRef__Output {
  /**
   * 1–128 characters of [A-Za-z0-9._-], starting with a letter or digit.
   */
  'job_id': (string);
  'step': (number);
  /**
   * 0 to world_size - 1.
   */
  'rank': (number);
  'world_size': (number);
  /**
   * The step's metadata (what a coordinator records, such as DCP's
   * .metadata) rather than a rank's shard; rank is then 0.
   */
  'step_metadata': (boolean);
}
