// Original file: pulse.proto


export interface ListCheckpointsRequest {
  'worker_id'?: (string);
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListCheckpointsRequest__Output {
  'worker_id': (string);
  'page_size': (number);
  'page_token': (string);
}
