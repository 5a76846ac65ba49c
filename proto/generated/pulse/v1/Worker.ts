// Original file: pulse.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { WorkerState as _pulse_v1_WorkerState, WorkerState__Output as _pulse_v1_WorkerState__Output } from '../../pulse/v1/WorkerState.ts';

export interface Worker {
  'worker_id'?: (string);
  'metadata'?: (_google_protobuf_Struct | null);
  'registered_at'?: (_google_protobuf_Timestamp | null);
  'last_heartbeat'?: (_google_protobuf_Timestamp | null);
  'state'?: (_pulse_v1_WorkerState);
}

export interface Worker__Output {
  'worker_id': (string);
  'metadata': (_google_protobuf_Struct__Output | null);
  'registered_at': (_google_protobuf_Timestamp__Output | null);
  'last_heartbeat': (_google_protobuf_Timestamp__Output | null);
  'state': (_pulse_v1_WorkerState__Output);
}
