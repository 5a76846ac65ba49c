/**
 * toPulseError(): how grpc-js's errors become PulseErrors. The errors are
 * built in the shape grpc-js's callErrorFromStatus gives (an Error with
 * `code`, `details`, `metadata`), because the broken-pipe race of a runtime
 * killed mid-upload cannot be forced on demand; the replica tests meet it
 * for real when it happens.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { PulseError } from "@pulsecheckpoint/sdk";
import { toPulseError } from "../../sdk/pulse_error.ts";
import { isUnavailable } from "../../sdk/retry.ts";

function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: new grpc.Metadata(),
  });
}

Deno.test("toPulseError() keeps the gRPC status name as the code and the details as the message", () => {
  const converted = toPulseError(
    grpcError(grpc.status.NOT_FOUND, "Cannot get worker: w1 is not registered"),
  );
  assert.ok(converted instanceof PulseError);
  assert.equal(converted.code, "NOT_FOUND");
  assert.equal(converted.message, "Cannot get worker: w1 is not registered");
});

Deno.test("toPulseError() takes a stream reset by a broken pipe (EPIPE) as UNAVAILABLE, so it is retried like ECONNRESET", () => {
  const reset = grpcError(
    grpc.status.INTERNAL,
    "Received RST_STREAM with code 2 triggered by internal client error: write EPIPE",
  );
  const converted = toPulseError(reset);
  assert.ok(converted instanceof PulseError);
  assert.equal(converted.code, "UNAVAILABLE");
  assert.equal(converted.cause, reset);
  assert.ok(isUnavailable(converted));
});

Deno.test("toPulseError() leaves other INTERNAL errors INTERNAL, EPIPE in the runtime's own words included", () => {
  for (
    const details of [
      "Received RST_STREAM with code 2 (Internal server error)",
      "Cannot save checkpoint: the store failed: write EPIPE",
    ]
  ) {
    const converted = toPulseError(grpcError(grpc.status.INTERNAL, details));
    assert.ok(converted instanceof PulseError);
    assert.equal(converted.code, "INTERNAL", details);
  }
});

Deno.test("toPulseError() returns what is not a gRPC status as is", () => {
  const own = new TypeError("not a gRPC error");
  assert.equal(toPulseError(own), own);
  const pulse = new PulseError("ABORTED", "already");
  assert.equal(toPulseError(pulse), pulse);
});
