// Original file: pulse.proto

import type { ChunkProblem as _pulse_v1_ChunkProblem, ChunkProblem__Output as _pulse_v1_ChunkProblem__Output } from '../../pulse/v1/ChunkProblem.ts';
import type { CheckpointRef as _pulse_v1_CheckpointRef, CheckpointRef__Output as _pulse_v1_CheckpointRef__Output } from '../../pulse/v1/CheckpointRef.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * A chunk that is corrupt or missing, and the checkpoints it breaks.
 */
export interface BadChunk {
  /**
   * Its name: the hex SHA-256 its bytes should have.
   */
  'sha256'?: (string);
  'problem'?: (_pulse_v1_ChunkProblem);
  /**
   * The size of the stored object; 0 when missing.
   */
  'size_bytes'?: (number | string | Long);
  /**
   * Checkpoints whose manifests name the chunk, which fail to load with
   * DATA_LOSS until a save with its bytes writes it again: at most 1000 of
   * them, by worker then id; checkpoints_total counts them all.
   */
  'checkpoints'?: (_pulse_v1_CheckpointRef)[];
  'checkpoints_total'?: (number | string | Long);
  /**
   * The key the chunk was moved to; empty when it was not moved (a dry run,
   * a missing chunk, or one that a save in progress holds: that save
   * verifies it, and rewrites it from its own bytes).
   */
  'quarantine_key'?: (string);
  /**
   * A save of this runtime held the chunk during the scrub, so it was not moved.
   */
  'in_use'?: (boolean);
}

/**
 * A chunk that is corrupt or missing, and the checkpoints it breaks.
 */
export interface BadChunk__Output {
  /**
   * Its name: the hex SHA-256 its bytes should have.
   */
  'sha256': (string);
  'problem': (_pulse_v1_ChunkProblem__Output);
  /**
   * The size of the stored object; 0 when missing.
   */
  'size_bytes': (number);
  /**
   * Checkpoints whose manifests name the chunk, which fail to load with
   * DATA_LOSS until a save with its bytes writes it again: at most 1000 of
   * them, by worker then id; checkpoints_total counts them all.
   */
  'checkpoints': (_pulse_v1_CheckpointRef__Output)[];
  'checkpoints_total': (number);
  /**
   * The key the chunk was moved to; empty when it was not moved (a dry run,
   * a missing chunk, or one that a save in progress holds: that save
   * verifies it, and rewrites it from its own bytes).
   */
  'quarantine_key': (string);
  /**
   * A save of this runtime held the chunk during the scrub, so it was not moved.
   */
  'in_use': (boolean);
}
