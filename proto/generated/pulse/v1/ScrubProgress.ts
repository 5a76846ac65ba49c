// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

/**
 * How far a scrub has come: sent when it has counted the chunks, then now
 * and then (at most twice a second) as it verifies them.
 */
export interface ScrubProgress {
  /**
   * Chunks in the store when the scrub began, and their bytes.
   */
  'chunks_total'?: (number | string | Long);
  'bytes_total'?: (number | string | Long);
  /**
   * Chunks verified so far, and their bytes.
   */
  'chunks_verified'?: (number | string | Long);
  'bytes_verified'?: (number | string | Long);
  /**
   * Chunks found corrupt so far.
   */
  'chunks_bad'?: (number | string | Long);
}

/**
 * How far a scrub has come: sent when it has counted the chunks, then now
 * and then (at most twice a second) as it verifies them.
 */
export interface ScrubProgress__Output {
  /**
   * Chunks in the store when the scrub began, and their bytes.
   */
  'chunks_total': (number);
  'bytes_total': (number);
  /**
   * Chunks verified so far, and their bytes.
   */
  'chunks_verified': (number);
  'bytes_verified': (number);
  /**
   * Chunks found corrupt so far.
   */
  'chunks_bad': (number);
}
