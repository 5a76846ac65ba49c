// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A presigned GET of one chunk.
 */
export interface ChunkDownload {
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'url'?: (string);
}

/**
 * A presigned GET of one chunk.
 */
export interface ChunkDownload__Output {
  'sha256': (string);
  'size': (number);
  'url': (string);
}
