// Original file: pulse.proto

export const ChunkProblem = {
  CHUNK_PROBLEM_UNSPECIFIED: 'CHUNK_PROBLEM_UNSPECIFIED',
  /**
   * Its bytes do not hash to its name: rot, or a torn write.
   */
  CHUNK_PROBLEM_CORRUPT: 'CHUNK_PROBLEM_CORRUPT',
  /**
   * A manifest names it, but the store does not have it.
   */
  CHUNK_PROBLEM_MISSING: 'CHUNK_PROBLEM_MISSING',
} as const;

export type ChunkProblem =
  | 'CHUNK_PROBLEM_UNSPECIFIED'
  | 0
  /**
   * Its bytes do not hash to its name: rot, or a torn write.
   */
  | 'CHUNK_PROBLEM_CORRUPT'
  | 1
  /**
   * A manifest names it, but the store does not have it.
   */
  | 'CHUNK_PROBLEM_MISSING'
  | 2

export type ChunkProblem__Output = typeof ChunkProblem[keyof typeof ChunkProblem]
