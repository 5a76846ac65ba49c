// Original file: pulse.proto

import type { Worker as _pulse_v1_Worker, Worker__Output as _pulse_v1_Worker__Output } from '../../pulse/v1/Worker.ts';

export interface ListWorkersResponse {
  'workers'?: (_pulse_v1_Worker)[];
  'next_page_token'?: (string);
}

export interface ListWorkersResponse__Output {
  'workers': (_pulse_v1_Worker__Output)[];
  'next_page_token': (string);
}
