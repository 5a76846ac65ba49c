// Original file: pulse.proto


/**
 * A checkpoint, by worker and id.
 */
export interface CheckpointRef {
  'worker_id'?: (string);
  'checkpoint_id'?: (string);
}

/**
 * A checkpoint, by worker and id.
 */
export interface CheckpointRef__Output {
  'worker_id': (string);
  'checkpoint_id': (string);
}
