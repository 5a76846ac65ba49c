/**
 * The count and duration of every gRPC call, by method and status
 * (`pulse_grpc_requests_total`, `pulse_grpc_request_duration_seconds`).
 */
import type * as grpc from "@grpc/grpc-js";
import { grpcRequestDurationSeconds, grpcRequestsTotal } from "../metrics.ts";
import { statusName } from "./status.ts";

/** Starts counting and timing a call; the returned function records its end. */
export function track(method: string): (code: grpc.status) => void {
  const end = grpcRequestDurationSeconds.startTimer({ method });
  return (code) => {
    end();
    grpcRequestsTotal.inc({ method, code: statusName(code) });
  };
}
