/**
 * Retries of calls that failed with `UNAVAILABLE`: the policy a
 * {@linkcode Runtime} is given, the exponential backoff with jitter it
 * follows. The attempts themselves, over one address or several, are
 * counted by `Attempts` in `_channel.ts`.
 *
 * @module
 */
import { PulseError } from "./pulse_error.ts";

/**
 * How calls that fail with `UNAVAILABLE` (the runtime restarting, a dropped
 * connection, a store unreachable after the runtime's own retries) are
 * retried: up to `maxAttempts` attempts in all, waiting an exponentially
 * growing, jittered delay between them.
 *
 * Only calls that are safe to repeat are retried: every unary call (they are
 * idempotent), the opening of a load, and saves whose data can be read again
 * (a `Uint8Array`, or a file) — a retried save carries the same idempotency
 * key, so it never makes a second checkpoint.
 *
 * @example
 * ```ts
 * import { Runtime } from "@pulsecheckpoint/sdk";
 * // Ride out a runtime restart of up to about 10 s.
 * const rt = new Runtime("grpc://localhost:50051", {
 *   retry: { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 4000 },
 * });
 * rt.close();
 * ```
 */
export interface RetryOptions {
  /**
   * Attempts in all, the first included: 1 disables retries. Default 3. With
   * several addresses an attempt is a round over them: a call moves from one
   * to the next without waiting, and the backoff comes when all have failed
   * it (with 1, each is still tried once).
   */
  maxAttempts?: number;
  /** Delay before the first retry. Default 100 ms. */
  initialDelayMs?: number;
  /** Longest delay between two attempts. Default 5000 ms. */
  maxDelayMs?: number;
  /** Factor by which the delay grows after each retry. Default 2. */
  multiplier?: number;
}

/** A retry policy with every field set. */
export type RetryPolicy = Readonly<Required<RetryOptions>>;

/** The policy of a {@linkcode Runtime} given no `retry` option: the seed's `[retry]` defaults. */
export const RETRY_DEFAULTS: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 5000,
  multiplier: 2,
});

/** Most attempts a policy may ask for. */
export const RETRY_ATTEMPTS_MAX = 100;
/** Longest delay a policy may ask for. */
export const RETRY_DELAY_MS_MAX = 60_000;

/**
 * Fills in and checks retry options.
 *
 * @param options the options, or `false` for no retries
 * @returns the complete policy
 * @throws {PulseError} INVALID_ARGUMENT for a value out of range
 */
export function retryPolicy(
  options: RetryOptions | false | undefined,
): RetryPolicy {
  if (options === false) return { ...RETRY_DEFAULTS, maxAttempts: 1 };
  const policy = { ...RETRY_DEFAULTS, ...withoutUndefined(options ?? {}) };
  check("maxAttempts", policy.maxAttempts, 1, RETRY_ATTEMPTS_MAX, true);
  check("initialDelayMs", policy.initialDelayMs, 0, RETRY_DELAY_MS_MAX, false);
  check(
    "maxDelayMs",
    policy.maxDelayMs,
    policy.initialDelayMs,
    RETRY_DELAY_MS_MAX,
    false,
  );
  check("multiplier", policy.multiplier, 1, 10, false);
  return Object.freeze(policy);
}

/**
 * The delay before retry number `retry` (1 for the first retry): the base
 * delay grows by `multiplier` per retry up to `maxDelayMs`, and the wait is
 * drawn between half of it and all of it, so that clients that failed
 * together do not all come back at the same moment.
 *
 * @param retry 1 for the first retry, 2 for the second, ...
 * @param policy the retry policy
 * @param random a number in [0, 1); `Math.random()` unless a test fixes it
 * @returns the delay in milliseconds
 */
export function retryDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: number = Math.random(),
): number {
  const base = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * policy.multiplier ** (retry - 1),
  );
  return Math.round(base / 2 + (random * base) / 2);
}

/**
 * Whether an error is a {@linkcode PulseError} with code `UNAVAILABLE`.
 *
 * @param error any thrown value
 * @returns true for UNAVAILABLE
 */
export function isUnavailable(error: unknown): boolean {
  return error instanceof PulseError && error.code === "UNAVAILABLE";
}

function check(
  name: keyof RetryOptions,
  value: number,
  min: number,
  max: number,
  integer: boolean,
): void {
  const ok = typeof value === "number" && value >= min && value <= max &&
    (integer ? Number.isInteger(value) : Number.isFinite(value));
  if (ok) return;
  throw new PulseError(
    "INVALID_ARGUMENT",
    `Cannot create Runtime: retry.${name} is ${value}, allowed is ${
      integer ? "an integer" : "a number"
    } from ${min} to ${max}`,
  );
}

function withoutUndefined(options: RetryOptions): RetryOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  );
}
