// Original file: pulse.proto


export interface ListWorkersRequest {
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListWorkersRequest__Output {
  'page_size': (number);
  'page_token': (string);
}
