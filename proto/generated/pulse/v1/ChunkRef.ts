// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A chunk of a checkpoint: every chunk but the last is 8 MiB.
 */
export interface ChunkRef {
  /**
   * Hex SHA-256 of the chunk's bytes.
   */
  'sha256'?: (string);
  'size'?: (number | string | Long);
}

/**
 * A chunk of a checkpoint: every chunk but the last is 8 MiB.
 */
export interface ChunkRef__Output {
  /**
   * Hex SHA-256 of the chunk's bytes.
   */
  'sha256': (string);
  'size': (number);
}
