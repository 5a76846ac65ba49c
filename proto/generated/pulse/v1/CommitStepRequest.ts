// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

export interface CommitStepRequest {
  'job_id'?: (string);
  'step'?: (number | string | Long);
  'world_size'?: (number);
  /**
   * How long to wait for the shards; absent for the runtime's
   * jobs.commit_timeout_ms.
   */
  'timeout_ms'?: (number | string | Long);
  '_timeout_ms'?: "timeout_ms";
}

export interface CommitStepRequest__Output {
  'job_id': (string);
  'step': (number);
  'world_size': (number);
  /**
   * How long to wait for the shards; absent for the runtime's
   * jobs.commit_timeout_ms.
   */
  'timeout_ms'?: (number);
  '_timeout_ms'?: "timeout_ms";
}
