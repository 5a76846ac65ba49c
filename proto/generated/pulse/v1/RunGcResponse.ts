// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

export interface RunGcResponse {
  'dry_run'?: (boolean);
  /**
   * The grace period the run used.
   */
  'grace_ms'?: (number | string | Long);
  /**
   * Manifests read while marking.
   */
  'manifests_scanned'?: (number | string | Long);
  /**
   * Chunks listed while sweeping, and their bytes.
   */
  'chunks_scanned'?: (number | string | Long);
  'bytes_scanned'?: (number | string | Long);
  /**
   * Chunks that a manifest references.
   */
  'chunks_referenced'?: (number | string | Long);
  /**
   * Unreferenced chunks kept: written within the grace period, or held by a
   * save in progress.
   */
  'chunks_protected'?: (number | string | Long);
  /**
   * Unreferenced chunks deleted (in a dry run: that would be deleted), and
   * their bytes.
   */
  'chunks_deleted'?: (number | string | Long);
  'bytes_reclaimed'?: (number | string | Long);
  'duration_ms'?: (number | string | Long);
  /**
   * True when the run did nothing because another replica on the bucket held
   * the GC lease (one collector at a time); the counts are then 0.
   */
  'skipped'?: (boolean);
  /**
   * The replica id of that holder; empty unless skipped.
   */
  'holder'?: (string);
}

export interface RunGcResponse__Output {
  'dry_run': (boolean);
  /**
   * The grace period the run used.
   */
  'grace_ms': (number);
  /**
   * Manifests read while marking.
   */
  'manifests_scanned': (number);
  /**
   * Chunks listed while sweeping, and their bytes.
   */
  'chunks_scanned': (number);
  'bytes_scanned': (number);
  /**
   * Chunks that a manifest references.
   */
  'chunks_referenced': (number);
  /**
   * Unreferenced chunks kept: written within the grace period, or held by a
   * save in progress.
   */
  'chunks_protected': (number);
  /**
   * Unreferenced chunks deleted (in a dry run: that would be deleted), and
   * their bytes.
   */
  'chunks_deleted': (number);
  'bytes_reclaimed': (number);
  'duration_ms': (number);
  /**
   * True when the run did nothing because another replica on the bucket held
   * the GC lease (one collector at a time); the counts are then 0.
   */
  'skipped': (boolean);
  /**
   * The replica id of that holder; empty unless skipped.
   */
  'holder': (string);
}
