// Original file: pulse.proto


export interface ListDatasetsRequest {
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListDatasetsRequest__Output {
  'page_size': (number);
  'page_token': (string);
}
