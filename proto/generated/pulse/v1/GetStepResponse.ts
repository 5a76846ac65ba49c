// Original file: pulse.proto

import type { Step as _pulse_v1_Step, Step__Output as _pulse_v1_Step__Output } from '../../pulse/v1/Step.ts';

export interface GetStepResponse {
  'step'?: (_pulse_v1_Step | null);
}

export interface GetStepResponse__Output {
  'step': (_pulse_v1_Step__Output | null);
}
