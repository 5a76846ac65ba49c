// Original file: pulse.proto

import type { Checkpoint as _pulse_v1_Checkpoint, Checkpoint__Output as _pulse_v1_Checkpoint__Output } from '../../pulse/v1/Checkpoint.ts';

export interface ListCheckpointsResponse {
  'checkpoints'?: (_pulse_v1_Checkpoint)[];
  'next_page_token'?: (string);
}

export interface ListCheckpointsResponse__Output {
  'checkpoints': (_pulse_v1_Checkpoint__Output)[];
  'next_page_token': (string);
}
