// Original file: pulse.proto

import type { Checkpoint as _pulse_v1_Checkpoint, Checkpoint__Output as _pulse_v1_Checkpoint__Output } from '../../pulse/v1/Checkpoint.ts';

export interface LoadCheckpointResponse {
  'checkpoint'?: (_pulse_v1_Checkpoint | null);
  'data'?: (Buffer | Uint8Array | string);
  'payload'?: "checkpoint"|"data";
}

export interface LoadCheckpointResponse__Output {
  'checkpoint'?: (_pulse_v1_Checkpoint__Output | null);
  'data'?: (Buffer);
  'payload'?: "checkpoint"|"data";
}
