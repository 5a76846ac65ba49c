/**
 * The one error type that domain and storage code throw for expected failures.
 *
 * Its codes mirror gRPC status codes; `src/api/` turns them into statuses.
 * Anything thrown that is not a `PulseError` is a bug and becomes INTERNAL.
 */

/** The closed set of failure kinds, named after the gRPC codes they become. */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "RESOURCE_EXHAUSTED"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "UNAVAILABLE"
  | "DATA_LOSS";

/** An expected failure with a code and a message safe to show to clients. */
export class PulseError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PulseError";
    this.code = code;
  }
}

/** Asserts an invariant; a failure is a bug, not an operating error. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Assertion failed: ${message}`);
}
