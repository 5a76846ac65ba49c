/**
 * The one retry wrapper of S3 requests: exponential backoff with full jitter,
 * bounded by a number of attempts, retrying only failures that a later attempt
 * can mend (throttling, 5xx, timeouts, dropped connections). Every attempt is
 * counted in `pulse_s3_requests_total` and timed in
 * `pulse_s3_request_duration_seconds`.
 *
 * The clock (sleep, random, now) is injectable so that tests run on fake time.
 */
import { PulseError } from "../errors.ts";
import { s3RequestDurationSeconds, s3RequestsTotal } from "../metrics.ts";

/** How often and how patiently a request is retried (`[retry]` settings). */
export interface S3RetryPolicy {
  /** Attempts of one request, the first included (`retry.max_attempts`). */
  maxAttempts: number;
  /** Ceiling of the backoff before the first retry (`retry.initial_delay_ms`). */
  initialDelayMs: number;
  /** Ceiling of every backoff (`retry.max_delay_ms`). */
  maxDelayMs: number;
}

/** Time and chance as the wrapper sees them; tests replace them. */
export interface RetryClock {
  /** Waits this many milliseconds. */
  sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1), as `Math.random`. */
  random: () => number;
  /** Milliseconds from an arbitrary origin, as `performance.now`. */
  now: () => number;
}

/** The real clock. */
export const SYSTEM_CLOCK: RetryClock = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: () => performance.now(),
};

/** What is being requested, for metrics and messages. */
export interface S3Request {
  /** S3 API operation, the metrics label, e.g. `PutObject`. */
  operation: string;
  /** The object key or bucket the request is about. */
  key: string;
}

// HTTP statuses a later attempt may not get: throttling and timeouts.
const RETRYABLE_CLIENT_STATUSES = new Set([
  408, // Request Timeout: the server gave up waiting for us, a timeout.
  429, // Too Many Requests: throttling.
]);

// Error codes (Node `error.code`) and names of failures of the connection
// itself, before or during a response: the request may succeed on a new one.
const RETRYABLE_ERROR_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  // A name that does not resolve: often a DNS hiccup, and after the last
  // attempt an UNAVAILABLE that names the endpoint, never an internal error.
  "ENOTFOUND",
  "UND_ERR_SOCKET",
]);
const RETRYABLE_ERROR_NAMES = new Set([
  "TimeoutError", // smithy's connection, request and socket timeouts
  "ConnectionRefused", // Deno's own errors, where node:http passes them on
  "ConnectionReset",
  "ConnectionAborted",
  "BrokenPipe",
  "TimedOut",
]);
// Longest chain of `cause`s inspected; causes do not nest deeper in practice.
const CAUSE_DEPTH_MAX = 4;

/**
 * Runs `call`, retrying it under `policy` while it fails in a way a later
 * attempt may mend.
 * @throws {PulseError} `unavailable` when the last attempt fails, or when S3
 *   answers with an error that retrying cannot mend; any other error (a bug)
 *   is thrown as it is
 */
export async function withRetry<T>(
  request: S3Request,
  call: () => Promise<T>,
  policy: S3RetryPolicy,
  clock: RetryClock = SYSTEM_CLOCK,
): Promise<T> {
  const { operation } = request;
  for (let attempt = 1;; attempt++) {
    const started = clock.now();
    let error: unknown;
    try {
      const result = await call();
      recordAttempt(operation, "ok", clock.now() - started);
      return result;
    } catch (thrown) {
      error = thrown;
    }
    if (!isRetryable(error) || attempt >= policy.maxAttempts) {
      recordAttempt(operation, "failed", clock.now() - started);
      throw failure(request, error, attempt);
    }
    recordAttempt(operation, "retried", clock.now() - started);
    await clock.sleep(backoffDelayMs(attempt, policy, clock.random));
  }
}

/**
 * The wait before retry number `retry` (1 for the first retry): full jitter,
 * uniform in [0, min(maxDelayMs, initialDelayMs * 2^(retry - 1))).
 */
export function backoffDelayMs(
  retry: number,
  policy: S3RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceilingMs = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * 2 ** (retry - 1),
  );
  return Math.floor(random() * ceilingMs);
}

/** Tells whether a later attempt of the request that threw `error` may succeed. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PulseError) return false;
  const status = httpStatus(error);
  if (status !== undefined) {
    if (status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status)) return true;
    // Other 4xx are answers, not accidents: retrying repeats them. The SDK
    // still flags throttling that some servers send as a 400.
    return isFlaggedRetryable(error);
  }
  if (isFlaggedRetryable(error)) return true;
  // No HTTP answer: look for a failed connection, here or in a cause.
  let current: unknown = error;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX; depth++) {
    if (!(current instanceof Error)) return false;
    if (isConnectionFailure(current)) return true;
    current = current.cause;
  }
  return false;
}

/** The HTTP status of an S3 error answer, as the AWS SDK reports it. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } })
    .$metadata;
  const status = metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * An error a caller knows to be transient (e.g. a response body cut short),
 * flagged the way the AWS SDK flags its own, so `withRetry` retries it.
 */
export function transientError(message: string): Error {
  return Object.assign(new Error(message), {
    name: "TransientError",
    $retryable: {},
  });
}

/** One line saying what went wrong, for messages and logs. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = httpStatus(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message.split("\n")[0] ?? "";
  if (status !== undefined) {
    // S3 sends no message with errors of HEAD requests; the SDK then puts
    // the code name or "UnknownError" in `message`.
    return message && message !== error.name && message !== "UnknownError"
      ? `${status} ${error.name}: ${message}`
      : `${status} ${error.name}`;
  }
  if (typeof code === "string" && !message.includes(code)) {
    return `${code}: ${message}`;
  }
  return error.name !== "Error" && !message.startsWith(error.name)
    ? `${error.name}: ${message}`
    : message;
}

function isFlaggedRetryable(error: unknown): boolean {
  return typeof error === "object" && error !== null &&
    Boolean((error as { $retryable?: unknown }).$retryable);
}

function isConnectionFailure(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (typeof code === "string" && RETRYABLE_ERROR_CODES.has(code)) ||
    RETRYABLE_ERROR_NAMES.has(error.name) ||
    /socket hang up/i.test(error.message);
}

// Turns the error of the last attempt into what the caller sees: S3 answers
// and connection failures become `unavailable`, anything else is a bug and
// passes through untouched.
function failure(
  request: S3Request,
  error: unknown,
  attempts: number,
): unknown {
  if (error instanceof PulseError) return error;
  const where = `Cannot ${request.operation} ${request.key}`;
  if (isRetryable(error)) {
    return new PulseError(
      "UNAVAILABLE",
      `${where}: S3 request failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${
        describeFailure(error)
      }`,
      { cause: error },
    );
  }
  if (httpStatus(error) !== undefined) {
    return new PulseError(
      "UNAVAILABLE",
      `${where}: S3 rejected the request: ${describeFailure(error)}`,
      { cause: error },
    );
  }
  return error;
}

function recordAttempt(
  operation: string,
  outcome: "ok" | "retried" | "failed",
  elapsedMs: number,
): void {
  s3RequestsTotal.inc({ operation, outcome });
  s3RequestDurationSeconds.observe({ operation }, elapsedMs / 1000);
}
