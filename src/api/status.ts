/**
 * The one place where errors become gRPC statuses. A `PulseError` keeps its
 * code and message; anything else is a bug: it is logged with its cause and
 * the client gets INTERNAL without details.
 */
import * as grpc from "@grpc/grpc-js";
import { PulseError } from "../errors.ts";
import { log } from "../log.ts";

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
      code: grpc.status[error.code], // a code is the name of its status
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
