// Original file: pulse.proto

import type { Dataset as _pulse_v1_Dataset, Dataset__Output as _pulse_v1_Dataset__Output } from '../../pulse/v1/Dataset.ts';

export interface RegisterDatasetResponse {
  'dataset'?: (_pulse_v1_Dataset | null);
}

export interface RegisterDatasetResponse__Output {
  'dataset': (_pulse_v1_Dataset__Output | null);
}
