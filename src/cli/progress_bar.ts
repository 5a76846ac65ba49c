/**
 * A progress bar with rate and time left, for transfers of known size. At a
 * terminal it redraws one line in place; elsewhere (a log, a pipe) it writes
 * a new line now and then, so that the output stays readable.
 */
import { formatBytes, formatDuration } from "./format.ts";

/** Options of a `ProgressBar`. */
export interface ProgressBarOptions {
  /** Writes text as is (stderr, usually). */
  write: (text: string) => void;
  /** Redraw in place (a terminal) rather than line by line. */
  interactive: boolean;
  /** The clock, in ms; `performance.now` by default. */
  now?: () => number;
}

const BAR_WIDTH = 24;
// Redraws at a terminal are throttled to this; lines elsewhere to the next.
const INTERACTIVE_INTERVAL_MS = 100;
const LINE_INTERVAL_MS = 2000;

/** Progress of one transfer of `total` bytes. */
export class ProgressBar {
  #total: number;
  #options: ProgressBarOptions;
  #now: () => number;
  #started: number;
  #lastDrawn = -Infinity;
  #lastWidth = 0;

  constructor(total: number, options: ProgressBarOptions) {
    this.#total = total;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
  }

  /** Reports `done` bytes transferred so far; draws if it is time to. */
  update(done: number): void {
    const now = this.#now();
    const interval = this.#options.interactive ? INTERACTIVE_INTERVAL_MS : LINE_INTERVAL_MS;
    if (now - this.#lastDrawn < interval) return;
    this.#lastDrawn = now;
    this.#draw(this.render(done, now));
  }

  /** Draws the final state and ends the line. */
  finish(done: number): void {
    this.#draw(this.render(done, this.#now(), true));
    if (this.#options.interactive) this.#options.write("\n");
  }

  /** Ends the line of a bar cut short (an error follows), if one is on screen. */
  abandon(): void {
    if (this.#options.interactive && this.#lastWidth > 0) this.#options.write("\n");
  }

  /** The text of the bar for `done` bytes at time `now`. */
  render(done: number, now: number, finished = false): string {
    const fraction = this.#total === 0 ? 1 : Math.min(done / this.#total, 1);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
    const elapsedMs = now - this.#started;
    const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
    const tail = finished
      ? `in ${formatDuration(elapsedMs)}`
      : `ETA ${rate > 0 ? formatDuration(Math.ceil((this.#total - done) / rate) * 1000) : "?"}`;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    return `[${bar}] ${percent}  ${formatBytes(done)} / ${formatBytes(this.#total)}  ${
      formatBytes(Math.round(rate))
    }/s  ${tail}`;
  }

  #draw(text: string): void {
    if (!this.#options.interactive) {
      this.#options.write(`${text}\n`);
      return;
    }
    // Pad over what the previous, longer line left on screen.
    this.#options.write(`\r${text.padEnd(this.#lastWidth)}`);
    this.#lastWidth = text.length;
  }
}
