// Original file: pulse.proto


export interface GetWorkerRequest {
  'worker_id'?: (string);
}

export interface GetWorkerRequest__Output {
  'worker_id': (string);
}
