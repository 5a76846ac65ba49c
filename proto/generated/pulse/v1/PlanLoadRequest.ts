// Original file: pulse.proto


export interface PlanLoadRequest {
  'worker_id'?: (string);
  /**
   * Empty for the worker's latest checkpoint.
   */
  'checkpoint_id'?: (string);
  /**
   * The first chunk of this page; 0 for the first page.
   */
  'first_chunk'?: (number);
  /**
   * As in LoadCheckpointRequest: a checkpoint of this job.
   */
  'job_id'?: (string);
}

export interface PlanLoadRequest__Output {
  'worker_id': (string);
  /**
   * Empty for the worker's latest checkpoint.
   */
  'checkpoint_id': (string);
  /**
   * The first chunk of this page; 0 for the first page.
   */
  'first_chunk': (number);
  /**
   * As in LoadCheckpointRequest: a checkpoint of this job.
   */
  'job_id': (string);
}
