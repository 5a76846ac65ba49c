// Original file: pulse.proto

import type { Step as _pulse_v1_Step, Step__Output as _pulse_v1_Step__Output } from '../../pulse/v1/Step.ts';

export interface ListStepsResponse {
  'steps'?: (_pulse_v1_Step)[];
  'next_page_token'?: (string);
}

export interface ListStepsResponse__Output {
  'steps': (_pulse_v1_Step__Output)[];
  'next_page_token': (string);
}
