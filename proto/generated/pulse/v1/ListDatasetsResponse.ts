// Original file: pulse.proto

import type { Dataset as _pulse_v1_Dataset, Dataset__Output as _pulse_v1_Dataset__Output } from '../../pulse/v1/Dataset.ts';

export interface ListDatasetsResponse {
  'datasets'?: (_pulse_v1_Dataset)[];
  'next_page_token'?: (string);
}

export interface ListDatasetsResponse__Output {
  'datasets': (_pulse_v1_Dataset__Output)[];
  'next_page_token': (string);
}
