/**
 * What the direct path's saves and loads share: whether a {@linkcode Runtime}
 * uses it (its `directTransfer` option, whether the runtime offers it, whether
 * the bucket answers from here), the fallback to the stream path and its one
 * warning, and one presigned HTTP request to the bucket with its retries.
 *
 * The twin of the Python SDK's direct-path helpers.
 *
 * @module
 */
import { retryDelayMs, type RetryPolicy } from "./retry.ts";
import { PulseError } from "./pulse_error.ts";

/** Chunks in flight per save or load unless a `parallelism` option says otherwise. */
export const PARALLELISM_DEFAULT = 8;
/** Most chunks in flight a `parallelism` option may ask for. */
export const PARALLELISM_MAX = 64;
/** Longest a request to the bucket may take (an 8 MiB chunk at 140 KB/s). */
const REQUEST_TIMEOUT_MS = 60_000;

/** Why a save or a load went the stream path instead of the direct one. */
export interface DirectFallback {
  /** `save` or `load`. */
  operation: "save" | "load";
  /** What failed: the bucket's host from the client, without the URL. */
  reason: string;
}

/** The direct-path options of a {@linkcode Runtime}. */
export interface DirectOptions {
  /**
   * Send and fetch checkpoint bytes straight to and from the bucket when the
   * runtime offers it (an S3 store with `storage.direct_transfer`). Default
   * true; false always uses the stream through the runtime.
   */
  directTransfer?: boolean;
  /** Chunk requests to the bucket at once per save or load, 1 to 64; default 8. */
  parallelism?: number;
  /**
   * Told once per Runtime when the bucket cannot be reached from this client
   * (connection refused, DNS, timeout) and saves and loads go through the
   * runtime instead; by default that is a `console.warn`.
   */
  onFallback?: (fallback: DirectFallback) => void;
}

/**
 * Checks a `parallelism` option.
 *
 * @param action what is being done, for the message
 * @param name the option's name, for the message
 * @param value its value
 * @throws {PulseError} INVALID_ARGUMENT unless an integer from 1 to {@linkcode PARALLELISM_MAX}
 */
export function checkParallelism(action: string, name: string, value: unknown): void {
  if (value === undefined) return;
  if (
    typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= PARALLELISM_MAX
  ) {
    return;
  }
  throw new PulseError(
    "INVALID_ARGUMENT",
    `Cannot ${action}: ${name} is ${
      String(value)
    }, allowed is an integer from 1 to ${PARALLELISM_MAX}`,
  );
}

/**
 * The direct path's state of one Runtime: its options, whether the runtime
 * offers the path (unknown until the first plan), whether the bucket answered
 * from here.
 */
export class DirectState {
  readonly enabled: boolean;
  readonly parallelism: number;
  readonly #onFallback: (fallback: DirectFallback) => void;
  /** False once the runtime answered FAILED_PRECONDITION to a plan. */
  offered: boolean | undefined;
  /** True once the bucket answered a request, false once it could not be reached. */
  reachable: boolean | undefined;

  /** @throws {PulseError} INVALID_ARGUMENT for a bad option */
  constructor(options: DirectOptions) {
    checkParallelism("create Runtime", "parallelism", options.parallelism);
    if (options.directTransfer !== undefined && typeof options.directTransfer !== "boolean") {
      throw new PulseError(
        "INVALID_ARGUMENT",
        `Cannot create Runtime: directTransfer is ${
          String(options.directTransfer)
        }, allowed is true or false`,
      );
    }
    this.enabled = options.directTransfer ?? true;
    this.parallelism = options.parallelism ?? PARALLELISM_DEFAULT;
    this.#onFallback = options.onFallback ??
      ((fallback) =>
        console.warn(
          `PulseCheckpoint: the bucket cannot be reached from this client (${fallback.reason}); saves and loads go through the runtime`,
        ));
  }

  /** Whether to try the direct path. */
  get usable(): boolean {
    return this.enabled && this.offered !== false && this.reachable !== false;
  }

  /** The bucket could not be reached: the stream path from now on, told once. */
  unreachable(fallback: DirectFallback): void {
    if (this.reachable === false) return;
    this.reachable = false;
    this.#onFallback(fallback);
  }
}

/** Thrown by a transfer when the bucket cannot be reached and never was: fall back. */
export class BucketUnreachable extends Error {
  constructor(readonly reason: string) {
    super(`the bucket cannot be reached: ${reason}`);
  }
}

/**
 * Whether a plan's error says the runtime offers no direct path:
 * FAILED_PRECONDITION about it, or UNIMPLEMENTED (a runtime older than it).
 */
export function notOffered(error: unknown): boolean {
  if (!(error instanceof PulseError)) return false;
  return error.code === "UNIMPLEMENTED" ||
    (error.code === "FAILED_PRECONDITION" && /direct/i.test(error.message));
}

/** What one presigned request answered: a status and the body when asked for. */
export interface BucketAnswer {
  status: number;
  body?: Uint8Array;
}

/**
 * One presigned request, retried on network errors and on 5xx, 408 and 429 answers, with the retry policy's
 * exponential backoff and full jitter. Every other answer is returned as it is.
 *
 * @param state the Runtime's direct-path state
 * @param policy the retry policy
 * @param request makes the request anew: the URL may be renewed in between
 * @param readBody whether to read the body of a 2xx answer
 * @returns the answer
 * @throws {BucketUnreachable} when the bucket never answered this Runtime and
 * no attempt reached it (or one timed out)
 * @throws {PulseError} UNAVAILABLE when it answered before but no longer does
 */
export async function bucketRequest(
  state: DirectState,
  policy: RetryPolicy,
  request: () => Promise<{ url: string; init: RequestInit }>,
  readBody: boolean,
): Promise<BucketAnswer> {
  for (let attempt = 1;; attempt++) {
    const { url, init } = await request();
    let answer: BucketAnswer;
    try {
      const response = await fetch(url, {
        ...init,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      state.reachable = true;
      const ok = response.status >= 200 && response.status < 300;
      answer = {
        status: response.status,
        body: ok && readBody
          ? new Uint8Array(await response.arrayBuffer())
          : (await response.body?.cancel(), undefined),
      };
    } catch (error) {
      const reason = `${hostOf(url)}: ${describe(error)}`;
      // A bucket that never answered and times out, or does not answer any
      // attempt (refused, not resolved, reset), is not reachable from here.
      const timedOut = (error as Error)?.name === "TimeoutError";
      const last = attempt >= policy.maxAttempts;
      if (state.reachable !== true && (timedOut || last)) throw new BucketUnreachable(reason);
      if (last) throw new PulseError("UNAVAILABLE", `the bucket did not answer (${reason})`);
      await sleep(fullJitter(attempt, policy));
      continue;
    }
    const transient = answer.status >= 500 || answer.status === 408 || answer.status === 429;
    if (!transient || attempt >= policy.maxAttempts) return answer;
    await sleep(fullJitter(attempt, policy));
  }
}

// Exponential backoff with full jitter: anywhere from 0 to the policy's delay.
function fullJitter(attempt: number, policy: RetryPolicy): number {
  return Math.random() * retryDelayMs(attempt, policy, 1);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "the bucket";
  }
}

// A network error's cause, without the URL (which carries a signature).
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/https?:\/\/\S+/g, "<url>");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
