// Original file: pulse.proto


export interface DeleteCheckpointRequest {
  'worker_id'?: (string);
  'checkpoint_id'?: (string);
}

export interface DeleteCheckpointRequest__Output {
  'worker_id': (string);
  'checkpoint_id': (string);
}
