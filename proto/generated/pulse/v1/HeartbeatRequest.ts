// Original file: pulse.proto


export interface HeartbeatRequest {
  'worker_id'?: (string);
}

export interface HeartbeatRequest__Output {
  'worker_id': (string);
}
