// Original file: pulse.proto


export interface DeregisterWorkerRequest {
  'worker_id'?: (string);
}

export interface DeregisterWorkerRequest__Output {
  'worker_id': (string);
}
