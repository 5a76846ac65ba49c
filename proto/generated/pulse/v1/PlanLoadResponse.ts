// Original file: pulse.proto

import type { Checkpoint as _pulse_v1_Checkpoint, Checkpoint__Output as _pulse_v1_Checkpoint__Output } from '../../pulse/v1/Checkpoint.ts';
import type { ChunkDownload as _pulse_v1_ChunkDownload, ChunkDownload__Output as _pulse_v1_ChunkDownload__Output } from '../../pulse/v1/ChunkDownload.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface PlanLoadResponse {
  'checkpoint'?: (_pulse_v1_Checkpoint | null);
  /**
   * The chunks from first_chunk on, in order, at most 1024.
   */
  'chunks'?: (_pulse_v1_ChunkDownload)[];
  /**
   * The first chunk of the next page; 0 when this page ends the checkpoint.
   */
  'next_chunk'?: (number);
  /**
   * When the URLs expire; plan again for fresh ones.
   */
  'expires_at'?: (_google_protobuf_Timestamp | null);
}

export interface PlanLoadResponse__Output {
  'checkpoint': (_pulse_v1_Checkpoint__Output | null);
  /**
   * The chunks from first_chunk on, in order, at most 1024.
   */
  'chunks': (_pulse_v1_ChunkDownload__Output)[];
  /**
   * The first chunk of the next page; 0 when this page ends the checkpoint.
   */
  'next_chunk': (number);
  /**
   * When the URLs expire; plan again for fresh ones.
   */
  'expires_at': (_google_protobuf_Timestamp__Output | null);
}
