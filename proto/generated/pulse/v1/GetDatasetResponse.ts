// Original file: pulse.proto

import type { Dataset as _pulse_v1_Dataset, Dataset__Output as _pulse_v1_Dataset__Output } from '../../pulse/v1/Dataset.ts';

export interface GetDatasetResponse {
  'dataset'?: (_pulse_v1_Dataset | null);
}

export interface GetDatasetResponse__Output {
  'dataset': (_pulse_v1_Dataset__Output | null);
}
