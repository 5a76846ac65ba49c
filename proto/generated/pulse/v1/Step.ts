// Original file: pulse.proto

import type { StepState as _pulse_v1_StepState, StepState__Output as _pulse_v1_StepState__Output } from '../../pulse/v1/StepState.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { Shard as _pulse_v1_Shard, Shard__Output as _pulse_v1_Shard__Output } from '../../pulse/v1/Shard.ts';
import type { Long } from '@grpc/proto-loader';

export interface Step {
  'job_id'?: (string);
  'step'?: (number | string | Long);
  'world_size'?: (number);
  'state'?: (_pulse_v1_StepState);
  /**
   * When it was decided (COMPLETE, ABORTED); absent while PENDING.
   */
  'created_at'?: (_google_protobuf_Timestamp | null);
  /**
   * The shards that landed, by rank.
   */
  'shards'?: (_pulse_v1_Shard)[];
  /**
   * The step's metadata as a checkpoint of the job; empty for none.
   */
  'metadata_checkpoint_id'?: (string);
  /**
   * Ranks without a shard (PENDING, ABORTED).
   */
  'missing_ranks'?: (number)[];
  /**
   * Why an ABORTED step was aborted.
   */
  'reason'?: (string);
}

export interface Step__Output {
  'job_id': (string);
  'step': (number);
  'world_size': (number);
  'state': (_pulse_v1_StepState__Output);
  /**
   * When it was decided (COMPLETE, ABORTED); absent while PENDING.
   */
  'created_at': (_google_protobuf_Timestamp__Output | null);
  /**
   * The shards that landed, by rank.
   */
  'shards': (_pulse_v1_Shard__Output)[];
  /**
   * The step's metadata as a checkpoint of the job; empty for none.
   */
  'metadata_checkpoint_id': (string);
  /**
   * Ranks without a shard (PENDING, ABORTED).
   */
  'missing_ranks': (number)[];
  /**
   * Why an ABORTED step was aborted.
   */
  'reason': (string);
}
