// Original file: pulse.proto

import type { SaveCheckpointHeader as _pulse_v1_SaveCheckpointHeader, SaveCheckpointHeader__Output as _pulse_v1_SaveCheckpointHeader__Output } from '../../pulse/v1/SaveCheckpointHeader.ts';
import type { SaveCheckpointTrailer as _pulse_v1_SaveCheckpointTrailer, SaveCheckpointTrailer__Output as _pulse_v1_SaveCheckpointTrailer__Output } from '../../pulse/v1/SaveCheckpointTrailer.ts';
import type { ChunkRef as _pulse_v1_ChunkRef, ChunkRef__Output as _pulse_v1_ChunkRef__Output } from '../../pulse/v1/ChunkRef.ts';

/**
 * A header, then data messages and chunk names in the order of the bytes,
 * then optionally a trailer.
 */
export interface SaveCheckpointRequest {
  'header'?: (_pulse_v1_SaveCheckpointHeader | null);
  'data'?: (Buffer | Uint8Array | string);
  'trailer'?: (_pulse_v1_SaveCheckpointTrailer | null);
  /**
   * The next chunk is the chunk of the header's base checkpoint with this
   * hex SHA-256. Allowed only at a chunk boundary: after a multiple of the
   * chunk size (8 MiB) of data since the start or the last chunk_sha256.
   */
  'chunk_sha256'?: (string);
  /**
   * The next chunk, already in the store: uploaded through the header's
   * plan, or a chunk the plan said the store has. Only with a plan_id in
   * the header, which then allows no data messages.
   */
  'chunk'?: (_pulse_v1_ChunkRef | null);
  'payload'?: "header"|"data"|"trailer"|"chunk_sha256"|"chunk";
}

/**
 * A header, then data messages and chunk names in the order of the bytes,
 * then optionally a trailer.
 */
export interface SaveCheckpointRequest__Output {
  'header'?: (_pulse_v1_SaveCheckpointHeader__Output | null);
  'data'?: (Buffer);
  'trailer'?: (_pulse_v1_SaveCheckpointTrailer__Output | null);
  /**
   * The next chunk is the chunk of the header's base checkpoint with this
   * hex SHA-256. Allowed only at a chunk boundary: after a multiple of the
   * chunk size (8 MiB) of data since the start or the last chunk_sha256.
   */
  'chunk_sha256'?: (string);
  /**
   * The next chunk, already in the store: uploaded through the header's
   * plan, or a chunk the plan said the store has. Only with a plan_id in
   * the header, which then allows no data messages.
   */
  'chunk'?: (_pulse_v1_ChunkRef__Output | null);
  'payload'?: "header"|"data"|"trailer"|"chunk_sha256"|"chunk";
}
