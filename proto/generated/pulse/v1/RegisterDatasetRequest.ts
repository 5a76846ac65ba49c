// Original file: pulse.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';

export interface RegisterDatasetRequest {
  'name'?: (string);
  'path'?: (string);
  'metadata'?: (_google_protobuf_Struct | null);
}

export interface RegisterDatasetRequest__Output {
  'name': (string);
  'path': (string);
  'metadata': (_google_protobuf_Struct__Output | null);
}
