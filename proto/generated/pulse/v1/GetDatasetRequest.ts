// Original file: pulse.proto


export interface GetDatasetRequest {
  'name'?: (string);
}

export interface GetDatasetRequest__Output {
  'name': (string);
}
