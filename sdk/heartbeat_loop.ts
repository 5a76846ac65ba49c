/**
 * Automatic heartbeats: one loop per worker that sends a heartbeat, waits the
 * interval the runtime asked for, and sends the next, until it is stopped.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";
import { PulseError } from "./pulse_error.ts";

/**
 * Options of automatic heartbeats.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 * const rt = new Runtime("grpc://localhost:50051");
 * await rt.registerWorker("worker-1", {
 *   heartbeat: { onError: (error) => console.warn("heartbeat failed:", error.message) },
 * });
 * await rt.close();
 * ```
 */
export interface HeartbeatOptions {
  /**
   * Called with each failed heartbeat after the first (the first one's
   * failure rejects `startHeartbeats`). The loop goes on after a failure,
   * except after `NOT_FOUND` or `FAILED_PRECONDITION` (the worker is unknown
   * or deregistered: no heartbeat can succeed until it registers again).
   */
  onError?: (error: PulseError) => void;
}

/** The interval used when the runtime asks for none (0). */
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 10_000;
/** The shortest interval the loop keeps, whatever the runtime says. */
export const HEARTBEAT_INTERVAL_MS_MIN = 50;

/**
 * Sends one heartbeat that gives up after `timeoutMs`, or when `signal`
 * aborts; resolves to the interval the runtime asks for.
 */
export type SendHeartbeat = (
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<number>;

/** The heartbeat loop of one worker. */
export class HeartbeatLoop {
  #send: SendHeartbeat;
  #onError: ((error: PulseError) => void) | undefined;
  #intervalMs = HEARTBEAT_INTERVAL_MS_DEFAULT;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;
  #abort = new AbortController();
  /** Heartbeats the loop sent successfully. */
  beats = 0;

  /**
   * Makes a loop; nothing is sent before {@linkcode HeartbeatLoop.start}.
   *
   * @param send sends one heartbeat
   * @param options where failures go
   */
  constructor(send: SendHeartbeat, options: HeartbeatOptions = {}) {
    this.#send = send;
    this.#onError = options.onError;
  }

  /** Whether the loop has been stopped (by a call, or by a permanent failure). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Sends the first heartbeat and, once it succeeds, schedules the next.
   *
   * @throws {PulseError} the first heartbeat's failure; the loop is then stopped
   */
  async start(): Promise<void> {
    try {
      this.#intervalMs = intervalOf(
        await this.#send(this.#intervalMs, this.#abort.signal),
      );
      this.beats++;
    } catch (error) {
      this.#stopped = true;
      throw error;
    }
    this.#schedule();
  }

  /** Stops the loop, cancels a heartbeat in flight and waits for it to settle. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#beat().finally(() => this.#inFlight = undefined);
    }, this.#intervalMs);
    // A forgotten client must not keep the process alive just to heartbeat.
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    try {
      // A heartbeat older than one interval is worth nothing: give up on it.
      this.#intervalMs = intervalOf(
        await this.#send(this.#intervalMs, this.#abort.signal),
      );
      this.beats++;
    } catch (error) {
      if (this.#stopped) return; // cancelled by stop() or close()
      const failure = error instanceof PulseError
        ? error
        : new PulseError("UNKNOWN", String(error), { cause: error });
      if (failure.code === "NOT_FOUND" || failure.code === "FAILED_PRECONDITION") {
        this.#stopped = true;
      }
      this.#report(failure);
    }
    this.#schedule();
  }

  #report(error: PulseError): void {
    try {
      this.#onError?.(error);
    } catch {
      // A throwing handler must not end the loop, nor become an unhandled rejection.
    }
  }
}

function intervalOf(intervalMs: number): number {
  if (!(intervalMs > 0)) return HEARTBEAT_INTERVAL_MS_DEFAULT;
  return Math.max(HEARTBEAT_INTERVAL_MS_MIN, intervalMs);
}
