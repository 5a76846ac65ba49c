// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

export interface RunGcRequest {
  /**
   * Count what would be deleted; delete nothing.
   */
  'dry_run'?: (boolean);
  /**
   * Keep unreferenced chunks written less than this long ago; absent for the
   * runtime's gc.grace_ms. 0 protects only chunks of saves in progress in
   * the runtime that runs the collection.
   */
  'grace_ms'?: (number | string | Long);
  '_grace_ms'?: "grace_ms";
}

export interface RunGcRequest__Output {
  /**
   * Count what would be deleted; delete nothing.
   */
  'dry_run': (boolean);
  /**
   * Keep unreferenced chunks written less than this long ago; absent for the
   * runtime's gc.grace_ms. 0 protects only chunks of saves in progress in
   * the runtime that runs the collection.
   */
  'grace_ms'?: (number);
  '_grace_ms'?: "grace_ms";
}
