/**
 * The one error type of the SDK: every failed call rejects with a
 * {@linkcode PulseError} whose `code` names a gRPC status, never with a raw
 * grpc-js error.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";

/**
 * The gRPC status code names a {@linkcode PulseError} carries.
 *
 * The runtime's contract gives them meaning: `INVALID_ARGUMENT` for a bad id
 * or metadata, `NOT_FOUND` for an unknown worker or checkpoint,
 * `RESOURCE_EXHAUSTED` for too large, `UNAUTHENTICATED` and
 * `PERMISSION_DENIED` for tokens, `UNAVAILABLE` when the runtime or its store
 * cannot be reached, `DATA_LOSS` for stored bytes that fail their hash.
 */
export type PulseErrorCode =
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

/** Every code name, to check values coming off the wire. */
const CODES: ReadonlySet<string> = new Set<PulseErrorCode>([
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
]);

/**
 * A failed call: its gRPC status code name and the runtime's message.
 *
 * @example
 * ```ts
 * import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
 *
 * const rt = new Runtime("grpc://localhost:50051");
 * try {
 *   await rt.loadCheckpoint("worker-1");
 * } catch (error) {
 *   if (error instanceof PulseError && error.code === "NOT_FOUND") {
 *     console.log("no checkpoint yet: starting from scratch");
 *   } else {
 *     throw error;
 *   }
 * } finally {
 *   rt.close();
 * }
 * ```
 */
export class PulseError extends Error {
  /** The gRPC status code name, e.g. `NOT_FOUND`. */
  readonly code: PulseErrorCode;

  /**
   * Makes an error with a code and a message.
   *
   * @param code the gRPC status code name
   * @param message the runtime's message, or the SDK's
   * @param options the error that caused this one, if any
   * @example
   * ```ts
   * import { PulseError } from "@pulsecheckpoint/sdk";
   * const error = new PulseError("NOT_FOUND", "Cannot get worker: w1 is not registered");
   * console.log(error.code); // "NOT_FOUND"
   * ```
   */
  constructor(
    code: PulseErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PulseError";
    this.code = code;
  }
}

/**
 * Turns a grpc-js error into a {@linkcode PulseError}; anything else that is
 * not a gRPC status (a caller's own error, a PulseError) is returned as is.
 *
 * @param error what a call rejected with
 * @returns a PulseError, or `error` itself
 */
export function toPulseError(error: unknown): unknown {
  if (error instanceof PulseError) return error;
  const status = (error as Partial<grpc.ServiceError> | null)?.code;
  if (typeof status !== "number") return error;
  const name = grpc.status[status];
  const details = (error as grpc.ServiceError).details ?? "";
  const code = brokenPipe(status, details)
    ? "UNAVAILABLE"
    : (name !== undefined && CODES.has(name) ? name : "UNKNOWN") as PulseErrorCode;
  return new PulseError(code, details, { cause: error });
}

/**
 * Whether grpc-js failed a call because the socket broke under a write
 * (`EPIPE`: the runtime died mid-stream). grpc-js maps such a reset to
 * UNAVAILABLE only for `ECONNRESET` and `ETIMEDOUT` (subchannel-call.js) and
 * leaves `EPIPE` as INTERNAL, though it is the same lost connection; only the
 * details tell it, as in `Received RST_STREAM with code 2 triggered by
 * internal client error: write EPIPE`.
 */
function brokenPipe(status: number, details: string): boolean {
  return status === grpc.status.INTERNAL &&
    /triggered by internal client error: .*\bEPIPE\b/.test(details);
}

/**
 * Restates the error of a call made on the way to another action (the
 * `GetCheckpoint` that starts a load) as that action's: the runtime's
 * `Cannot get checkpoint: <reason>` becomes `Cannot load checkpoint: <reason>`,
 * with the same code, so that the message says what the caller asked for.
 *
 * @param error what the call rejected with
 * @param action the caller's action, e.g. "load checkpoint"
 * @returns the restated PulseError, or `error` itself when it is not one with such a message
 */
export function restated(error: unknown, action: string): unknown {
  if (!(error instanceof PulseError)) return error;
  const prefix = /^Cannot [^:]+: /.exec(error.message)?.[0];
  if (prefix === undefined) return error;
  return new PulseError(error.code, `Cannot ${action}: ${error.message.slice(prefix.length)}`, {
    cause: error.cause ?? error,
  });
}
