// Original file: pulse.proto

import type { Checkpoint as _pulse_v1_Checkpoint, Checkpoint__Output as _pulse_v1_Checkpoint__Output } from '../../pulse/v1/Checkpoint.ts';

export interface SaveCheckpointResponse {
  'checkpoint'?: (_pulse_v1_Checkpoint | null);
}

export interface SaveCheckpointResponse__Output {
  'checkpoint': (_pulse_v1_Checkpoint__Output | null);
}
