// Original file: pulse.proto

import type { ChunkRef as _pulse_v1_ChunkRef, ChunkRef__Output as _pulse_v1_ChunkRef__Output } from '../../pulse/v1/ChunkRef.ts';

export interface PlanSaveRequest {
  'worker_id'?: (string);
  /**
   * Empty for the first plan of a save; the plan_id it answered for the
   * rest of the save's chunks (a save plans in parts of at most 1024
   * chunks), and to renew URLs that expired.
   */
  'plan_id'?: (string);
  /**
   * The save's idempotency key: when a checkpoint of the worker already has
   * it, the answer carries that checkpoint and nothing needs uploading.
   */
  'idempotency_key'?: (string);
  /**
   * A checkpoint of the worker whose chunks need no upload (an incremental
   * save); empty for none.
   */
  'base_checkpoint_id'?: (string);
  /**
   * This part's chunks, in order.
   */
  'chunks'?: (_pulse_v1_ChunkRef)[];
  /**
   * Set when the save is of a job's checkpoint (its header carries `shard`):
   * the idempotency key and the base are then the job's, and worker_id (the
   * rank's worker) may be empty.
   */
  'job_id'?: (string);
}

export interface PlanSaveRequest__Output {
  'worker_id': (string);
  /**
   * Empty for the first plan of a save; the plan_id it answered for the
   * rest of the save's chunks (a save plans in parts of at most 1024
   * chunks), and to renew URLs that expired.
   */
  'plan_id': (string);
  /**
   * The save's idempotency key: when a checkpoint of the worker already has
   * it, the answer carries that checkpoint and nothing needs uploading.
   */
  'idempotency_key': (string);
  /**
   * A checkpoint of the worker whose chunks need no upload (an incremental
   * save); empty for none.
   */
  'base_checkpoint_id': (string);
  /**
   * This part's chunks, in order.
   */
  'chunks': (_pulse_v1_ChunkRef__Output)[];
  /**
   * Set when the save is of a job's checkpoint (its header carries `shard`):
   * the idempotency key and the base are then the job's, and worker_id (the
   * rank's worker) may be empty.
   */
  'job_id': (string);
}
