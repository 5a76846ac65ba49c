// Original file: pulse.proto

import type { ScrubProgress as _pulse_v1_ScrubProgress, ScrubProgress__Output as _pulse_v1_ScrubProgress__Output } from '../../pulse/v1/ScrubProgress.ts';
import type { BadChunk as _pulse_v1_BadChunk, BadChunk__Output as _pulse_v1_BadChunk__Output } from '../../pulse/v1/BadChunk.ts';
import type { ScrubReport as _pulse_v1_ScrubReport, ScrubReport__Output as _pulse_v1_ScrubReport__Output } from '../../pulse/v1/ScrubReport.ts';

/**
 * Progress messages, then one bad_chunk per bad chunk, then the report, last.
 */
export interface ScrubResponse {
  'progress'?: (_pulse_v1_ScrubProgress | null);
  'bad_chunk'?: (_pulse_v1_BadChunk | null);
  'report'?: (_pulse_v1_ScrubReport | null);
  'payload'?: "progress"|"bad_chunk"|"report";
}

/**
 * Progress messages, then one bad_chunk per bad chunk, then the report, last.
 */
export interface ScrubResponse__Output {
  'progress'?: (_pulse_v1_ScrubProgress__Output | null);
  'bad_chunk'?: (_pulse_v1_BadChunk__Output | null);
  'report'?: (_pulse_v1_ScrubReport__Output | null);
  'payload'?: "progress"|"bad_chunk"|"report";
}
