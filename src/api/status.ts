/**
 * The one place where errors become gRPC statuses. A `PulseError` keeps its
 * code and message; anything else is a bug: it is logged with its cause and
 * the client gets INTERNAL without details.
 */
import * as grpc from "@grpc/grpc-js";
import { type ErrorCode, PulseError } from "../errors.ts";
import { log } from "../log.ts";

const CODES: Record<ErrorCode, grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  already_exists: grpc.status.ALREADY_EXISTS,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  aborted: grpc.status.ABORTED,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  unavailable: grpc.status.UNAVAILABLE,
  data_loss: grpc.status.DATA_LOSS,
};

/** A status to send: the shape grpc-js callbacks and stream errors accept. */
export interface StatusError {
  code: grpc.status;
  details: string;
  message: string;
}

/** Turns any thrown value into the status the client gets. */
export function toStatus(error: unknown, method: string): StatusError {
  if (error instanceof PulseError) {
    return {
      code: CODES[error.code],
      details: error.message,
      message: error.message,
    };
  }
  log.error("pulse::api", "Internal error", { method, error });
  const details = `Internal error in ${method}; the runtime's log has the cause`;
  return { code: grpc.status.INTERNAL, details, message: details };
}

/** The name of a status code as metrics label it, e.g. `NOT_FOUND`. */
export function statusName(code: grpc.status): string {
  return grpc.status[code] ?? String(code);
}
