// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

/**
 * What a scrub found and did.
 */
export interface ScrubReport {
  'dry_run'?: (boolean);
  /**
   * Chunks verified, and their bytes.
   */
  'chunks_scanned'?: (number | string | Long);
  'bytes_scanned'?: (number | string | Long);
  /**
   * Manifests read to find the checkpoints that bad chunks break.
   */
  'manifests_scanned'?: (number | string | Long);
  /**
   * Chunks whose bytes fail their SHA-256, and chunks that manifests name
   * but the store lacks.
   */
  'chunks_corrupt'?: (number | string | Long);
  'chunks_missing'?: (number | string | Long);
  /**
   * Corrupt chunks moved to quarantine/.
   */
  'chunks_quarantined'?: (number | string | Long);
  /**
   * Checkpoints that name at least one bad chunk.
   */
  'checkpoints_broken'?: (number | string | Long);
  'duration_ms'?: (number | string | Long);
}

/**
 * What a scrub found and did.
 */
export interface ScrubReport__Output {
  'dry_run': (boolean);
  /**
   * Chunks verified, and their bytes.
   */
  'chunks_scanned': (number);
  'bytes_scanned': (number);
  /**
   * Manifests read to find the checkpoints that bad chunks break.
   */
  'manifests_scanned': (number);
  /**
   * Chunks whose bytes fail their SHA-256, and chunks that manifests name
   * but the store lacks.
   */
  'chunks_corrupt': (number);
  'chunks_missing': (number);
  /**
   * Corrupt chunks moved to quarantine/.
   */
  'chunks_quarantined': (number);
  /**
   * Checkpoints that name at least one bad chunk.
   */
  'checkpoints_broken': (number);
  'duration_ms': (number);
}
