/** Bearer tokens never survive into grpc-js's output, whatever form it prints them in. */
import assert from "node:assert/strict";
import { redactSecrets } from "../src/grpc_log.ts";

Deno.test("redactSecrets() hides authorization values and bearer tokens, and nothing else", () => {
  const token = "s3cr3t-T0ken_value";
  const lines = [
    `received headers {"authorization":["Bearer ${token}"],"user-agent":["grpc-node-js/1.14.7"]}`,
    `received headers {"authorization":["${token}"]}`,
    `authorization: Bearer ${token}`,
    `Authorization=bearer ${token} more`,
    `sending Bearer ${token}`,
  ];
  for (const line of lines) {
    const redacted = redactSecrets(line);
    assert.ok(!redacted.includes(token), redacted);
    assert.ok(redacted.includes("[redacted]"), redacted);
  }
  assert.equal(
    redactSecrets(`{"authorization":["Bearer ${token}"],"user-agent":["grpc-node-js/1.14.7"]}`),
    `{"authorization":["[redacted]"],"user-agent":["grpc-node-js/1.14.7"]}`,
  );
  const plain = "Request to /pulse.v1.PulseRuntime/Heartbeat received headers {}";
  assert.equal(redactSecrets(plain), plain);
});
