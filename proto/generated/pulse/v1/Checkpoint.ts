// Original file: pulse.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { ShardRef as _pulse_v1_ShardRef, ShardRef__Output as _pulse_v1_ShardRef__Output } from '../../pulse/v1/ShardRef.ts';
import type { Long } from '@grpc/proto-loader';

export interface Checkpoint {
  /**
   * "chk_" followed by a ULID: sortable by creation time.
   */
  'checkpoint_id'?: (string);
  'worker_id'?: (string);
  'size_bytes'?: (number | string | Long);
  /**
   * Hex SHA-256 of the whole byte stream.
   */
  'sha256'?: (string);
  'metadata'?: (_google_protobuf_Struct | null);
  'created_at'?: (_google_protobuf_Timestamp | null);
  'idempotency_key'?: (string);
  /**
   * Set when the checkpoint is a shard of a job step (then worker_id is the
   * rank's worker, or empty).
   */
  'shard'?: (_pulse_v1_ShardRef | null);
}

export interface Checkpoint__Output {
  /**
   * "chk_" followed by a ULID: sortable by creation time.
   */
  'checkpoint_id': (string);
  'worker_id': (string);
  'size_bytes': (number);
  /**
   * Hex SHA-256 of the whole byte stream.
   */
  'sha256': (string);
  'metadata': (_google_protobuf_Struct__Output | null);
  'created_at': (_google_protobuf_Timestamp__Output | null);
  'idempotency_key': (string);
  /**
   * Set when the checkpoint is a shard of a job step (then worker_id is the
   * rank's worker, or empty).
   */
  'shard': (_pulse_v1_ShardRef__Output | null);
}
