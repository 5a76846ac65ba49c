// Original file: pulse.proto


export interface GetCheckpointRequest {
  'worker_id'?: (string);
  /**
   * Empty for the worker's latest checkpoint.
   */
  'checkpoint_id'?: (string);
  /**
   * Also list the checkpoint's chunks (for a save that names them).
   */
  'include_chunks'?: (boolean);
  /**
   * As in LoadCheckpointRequest: a checkpoint of this job.
   */
  'job_id'?: (string);
}

export interface GetCheckpointRequest__Output {
  'worker_id': (string);
  /**
   * Empty for the worker's latest checkpoint.
   */
  'checkpoint_id': (string);
  /**
   * Also list the checkpoint's chunks (for a save that names them).
   */
  'include_chunks': (boolean);
  /**
   * As in LoadCheckpointRequest: a checkpoint of this job.
   */
  'job_id': (string);
}
