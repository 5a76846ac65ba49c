// Original file: pulse.proto

import type { ChunkUpload as _pulse_v1_ChunkUpload, ChunkUpload__Output as _pulse_v1_ChunkUpload__Output } from '../../pulse/v1/ChunkUpload.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { Checkpoint as _pulse_v1_Checkpoint, Checkpoint__Output as _pulse_v1_Checkpoint__Output } from '../../pulse/v1/Checkpoint.ts';

export interface PlanSaveResponse {
  'plan_id'?: (string);
  /**
   * The chunks to upload; the store holds the others (or the base does).
   */
  'uploads'?: (_pulse_v1_ChunkUpload)[];
  /**
   * When the URLs (and the plan's hold on its chunks against garbage
   * collection) expire; plan again (with this plan_id) to renew them.
   */
  'expires_at'?: (_google_protobuf_Timestamp | null);
  /**
   * Set when the idempotency key already made this checkpoint: nothing to
   * upload or commit.
   */
  'existing'?: (_pulse_v1_Checkpoint | null);
}

export interface PlanSaveResponse__Output {
  'plan_id': (string);
  /**
   * The chunks to upload; the store holds the others (or the base does).
   */
  'uploads': (_pulse_v1_ChunkUpload__Output)[];
  /**
   * When the URLs (and the plan's hold on its chunks against garbage
   * collection) expire; plan again (with this plan_id) to renew them.
   */
  'expires_at': (_google_protobuf_Timestamp__Output | null);
  /**
   * Set when the idempotency key already made this checkpoint: nothing to
   * upload or commit.
   */
  'existing': (_pulse_v1_Checkpoint__Output | null);
}
