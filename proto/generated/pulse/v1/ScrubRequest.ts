// Original file: pulse.proto


export interface ScrubRequest {
  /**
   * Verify and report; move nothing aside.
   */
  'dry_run'?: (boolean);
}

export interface ScrubRequest__Output {
  /**
   * Verify and report; move nothing aside.
   */
  'dry_run': (boolean);
}
