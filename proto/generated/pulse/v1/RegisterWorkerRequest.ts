// Original file: pulse.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';

export interface RegisterWorkerRequest {
  'worker_id'?: (string);
  'metadata'?: (_google_protobuf_Struct | null);
}

export interface RegisterWorkerRequest__Output {
  'worker_id': (string);
  'metadata': (_google_protobuf_Struct__Output | null);
}
