// Original file: pulse.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The last message of a save, optional: the client's word that it sent every
 * byte, checked before the save commits.
 */
export interface SaveCheckpointTrailer {
  /**
   * Bytes sent in data messages; must equal what the runtime received.
   */
  'size_bytes'?: (number | string | Long);
  /**
   * Hex SHA-256 of those bytes; checked by the runtime when not empty.
   */
  'sha256'?: (string);
  /**
   * Hex SHA-256 of the checkpoint's chunk list: of the hex SHA-256 of each
   * chunk in order, each followed by a line feed. Checked when not empty. A
   * client that hashes each chunk (to name chunks of a base) gets this for the
   * price of its chunk hashes instead of hashing every byte a second time.
   */
  'chunks_sha256'?: (string);
}

/**
 * The last message of a save, optional: the client's word that it sent every
 * byte, checked before the save commits.
 */
export interface SaveCheckpointTrailer__Output {
  /**
   * Bytes sent in data messages; must equal what the runtime received.
   */
  'size_bytes': (number);
  /**
   * Hex SHA-256 of those bytes; checked by the runtime when not empty.
   */
  'sha256': (string);
  /**
   * Hex SHA-256 of the checkpoint's chunk list: of the hex SHA-256 of each
   * chunk in order, each followed by a line feed. Checked when not empty. A
   * client that hashes each chunk (to name chunks of a base) gets this for the
   * price of its chunk hashes instead of hashing every byte a second time.
   */
  'chunks_sha256': (string);
}
