// Original file: pulse.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';
import type { ShardRef as _pulse_v1_ShardRef, ShardRef__Output as _pulse_v1_ShardRef__Output } from '../../pulse/v1/ShardRef.ts';

export interface SaveCheckpointHeader {
  'worker_id'?: (string);
  'metadata'?: (_google_protobuf_Struct | null);
  /**
   * A save repeated with the same key returns the first checkpoint.
   */
  'idempotency_key'?: (string);
  /**
   * The client will end the stream with a SaveCheckpointTrailer: a stream
   * that ends without one (a client cancelled or gone mid-save) then commits
   * nothing. The SDKs set it. Without it, the end of the stream commits.
   */
  'expect_trailer'?: (boolean);
  /**
   * A checkpoint of the same worker whose chunks this save may name by
   * SHA-256 (chunk_sha256 messages) instead of sending their bytes; empty for
   * none. Only the base's chunks may be named, so a save can hold no byte its
   * worker could not already read.
   */
  'base_checkpoint_id'?: (string);
  /**
   * The plan (PlanSave) whose chunks this save commits: the stream then names
   * every chunk in `chunk` messages, and its trailer must carry sha256 and
   * chunks_sha256. Empty for a save whose bytes travel in the stream.
   */
  'plan_id'?: (string);
  /**
   * Set for a rank's shard of a job step (or the step's metadata): the
   * checkpoint then belongs to the job, and worker_id (optional) names the
   * rank's worker, whose going STALE aborts the step.
   */
  'shard'?: (_pulse_v1_ShardRef | null);
}

export interface SaveCheckpointHeader__Output {
  'worker_id': (string);
  'metadata': (_google_protobuf_Struct__Output | null);
  /**
   * A save repeated with the same key returns the first checkpoint.
   */
  'idempotency_key': (string);
  /**
   * The client will end the stream with a SaveCheckpointTrailer: a stream
   * that ends without one (a client cancelled or gone mid-save) then commits
   * nothing. The SDKs set it. Without it, the end of the stream commits.
   */
  'expect_trailer': (boolean);
  /**
   * A checkpoint of the same worker whose chunks this save may name by
   * SHA-256 (chunk_sha256 messages) instead of sending their bytes; empty for
   * none. Only the base's chunks may be named, so a save can hold no byte its
   * worker could not already read.
   */
  'base_checkpoint_id': (string);
  /**
   * The plan (PlanSave) whose chunks this save commits: the stream then names
   * every chunk in `chunk` messages, and its trailer must carry sha256 and
   * chunks_sha256. Empty for a save whose bytes travel in the stream.
   */
  'plan_id': (string);
  /**
   * Set for a rank's shard of a job step (or the step's metadata): the
   * checkpoint then belongs to the job, and worker_id (optional) names the
   * rank's worker, whose going STALE aborts the step.
   */
  'shard': (_pulse_v1_ShardRef__Output | null);
}
