// Original file: pulse.proto

import type { Checkpoint as _pulse_v1_Checkpoint, Checkpoint__Output as _pulse_v1_Checkpoint__Output } from '../../pulse/v1/Checkpoint.ts';

export interface GetCheckpointResponse {
  'checkpoint'?: (_pulse_v1_Checkpoint | null);
  /**
   * With include_chunks: the hex SHA-256 of each chunk, in order. Every chunk
   * but the last is 8 MiB.
   */
  'chunk_sha256s'?: (string)[];
}

export interface GetCheckpointResponse__Output {
  'checkpoint': (_pulse_v1_Checkpoint__Output | null);
  /**
   * With include_chunks: the hex SHA-256 of each chunk, in order. Every chunk
   * but the last is 8 MiB.
   */
  'chunk_sha256s': (string)[];
}
