// Original file: pulse.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface HeartbeatResponse {
  'server_time'?: (_google_protobuf_Timestamp | null);
  /**
   * How often the server expects a heartbeat.
   */
  'heartbeat_interval_ms'?: (number);
}

export interface HeartbeatResponse__Output {
  'server_time': (_google_protobuf_Timestamp__Output | null);
  /**
   * How often the server expects a heartbeat.
   */
  'heartbeat_interval_ms': (number);
}
