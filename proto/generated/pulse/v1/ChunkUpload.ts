// Original file: pulse.proto


/**
 * A presigned PUT of one chunk.
 */
export interface ChunkUpload {
  /**
   * Index of the chunk in the request's chunks.
   */
  'index'?: (number);
  /**
   * The URL to PUT the chunk's bytes to, with exactly these headers.
   */
  'url'?: (string);
  'headers'?: ({[key: string]: string});
}

/**
 * A presigned PUT of one chunk.
 */
export interface ChunkUpload__Output {
  /**
   * Index of the chunk in the request's chunks.
   */
  'index': (number);
  /**
   * The URL to PUT the chunk's bytes to, with exactly these headers.
   */
  'url': (string);
  'headers': ({[key: string]: string});
}
