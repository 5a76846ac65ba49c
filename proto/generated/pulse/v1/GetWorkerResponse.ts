// Original file: pulse.proto

import type { Worker as _pulse_v1_Worker, Worker__Output as _pulse_v1_Worker__Output } from '../../pulse/v1/Worker.ts';

export interface GetWorkerResponse {
  'worker'?: (_pulse_v1_Worker | null);
}

export interface GetWorkerResponse__Output {
  'worker': (_pulse_v1_Worker__Output | null);
}
