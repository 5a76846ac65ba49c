// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

export interface GetStepRequest {
  'job_id'?: (string);
  /**
   * Absent for the latest COMPLETE step (NOT_FOUND when there is none).
   */
  'step'?: (number | string | Long);
  '_step'?: "step";
}

export interface GetStepRequest__Output {
  'job_id': (string);
  /**
   * Absent for the latest COMPLETE step (NOT_FOUND when there is none).
   */
  'step'?: (number);
  '_step'?: "step";
}
