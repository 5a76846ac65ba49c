/**
 * Limits every call shares, whoever makes it, enforced by a server
 * interceptor before any handler runs: at most `callsMax` calls in flight in
 * the whole runtime, and a call's first message (a unary request, a save's
 * header) within `firstMessageTimeoutMs` of its start. grpc-js buffers a
 * message until it is whole, for every open call: without these, clients
 * that open calls and send all but the last byte of a message hold the
 * runtime's memory for as long as they like.
 */
import * as grpc from "@grpc/grpc-js";
import { PulseError } from "../errors.ts";
import { toStatus } from "./status.ts";

/** Options of `callLimits`. */
export interface CallLimitsOptions {
  /** Calls in flight at once in all (`server.calls_max`). */
  callsMax: number;
  /** How long a call may take to send its first message (`server.request_timeout_ms`). */
  firstMessageTimeoutMs: number;
}

/** The interceptor, and how many calls it counts in flight now. */
export function callLimits(
  options: CallLimitsOptions,
): { interceptor: grpc.ServerInterceptor; inFlight: () => number } {
  let inFlight = 0;
  const interceptor: grpc.ServerInterceptor = (method, call) => {
    let ended = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = () => {
      clearTimeout(timer);
      if (!ended) inFlight--;
      ended = true;
    };
    const refuse = (error: PulseError) => {
      const status = toStatus(error, method.path);
      intercepting.sendStatus({ code: status.code, details: status.details });
    };
    const intercepting: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, next) => {
            if (inFlight >= options.callsMax) {
              ended = true; // never counted
              // Busy, not a bad call: UNAVAILABLE, which clients retry with backoff.
              refuse(
                new PulseError(
                  "UNAVAILABLE",
                  `Cannot accept call: ${inFlight} calls are in flight, limit is ${options.callsMax} (server.calls_max); retry later`,
                ),
              );
              return;
            }
            inFlight++;
            timer = setTimeout(() => {
              refuse(
                new PulseError(
                  "ABORTED",
                  `Cannot accept call: its first message did not arrive within ${options.firstMessageTimeoutMs} ms (server.request_timeout_ms)`,
                ),
              );
            }, options.firstMessageTimeoutMs);
            next(metadata);
          },
          onReceiveMessage: (message, next) => {
            clearTimeout(timer);
            next(message);
          },
          onCancel: () => end(),
        }),
      sendStatus: (status, next) => {
        end();
        next(status);
      },
    });
    return intercepting;
  };
  return { interceptor, inFlight: () => inFlight };
}
