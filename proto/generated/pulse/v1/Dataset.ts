// Original file: pulse.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface Dataset {
  'name'?: (string);
  /**
   * A URI such as s3://bucket/data.
   */
  'path'?: (string);
  'metadata'?: (_google_protobuf_Struct | null);
  'registered_at'?: (_google_protobuf_Timestamp | null);
}

export interface Dataset__Output {
  'name': (string);
  /**
   * A URI such as s3://bucket/data.
   */
  'path': (string);
  'metadata': (_google_protobuf_Struct__Output | null);
  'registered_at': (_google_protobuf_Timestamp__Output | null);
}
