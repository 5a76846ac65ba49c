// Original file: pulse.proto


export interface ListStepsRequest {
  'job_id'?: (string);
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListStepsRequest__Output {
  'job_id': (string);
  'page_size': (number);
  'page_token': (string);
}
