// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

export interface LoadCheckpointRequest {
  'worker_id'?: (string);
  /**
   * Empty for the worker's latest checkpoint.
   */
  'checkpoint_id'?: (string);
  /**
   * The first byte to send; 0 for the start.
   */
  'offset'?: (number | string | Long);
  /**
   * How many bytes to send from offset; 0 for all up to the end. Clients of
   * large checkpoints load them in windows (the SDKs use 32 MiB), which keeps
   * the runtime's send buffers small and lets an interrupted load resume.
   */
  'length'?: (number | string | Long);
  /**
   * Set to load a checkpoint of this job (a shard, or a step's metadata) by
   * its checkpoint_id; worker_id is then not used.
   */
  'job_id'?: (string);
}

export interface LoadCheckpointRequest__Output {
  'worker_id': (string);
  /**
   * Empty for the worker's latest checkpoint.
   */
  'checkpoint_id': (string);
  /**
   * The first byte to send; 0 for the start.
   */
  'offset': (number);
  /**
   * How many bytes to send from offset; 0 for all up to the end. Clients of
   * large checkpoints load them in windows (the SDKs use 32 MiB), which keeps
   * the runtime's send buffers small and lets an interrupted load resume.
   */
  'length': (number);
  /**
   * Set to load a checkpoint of this job (a shard, or a step's metadata) by
   * its checkpoint_id; worker_id is then not used.
   */
  'job_id': (string);
}
