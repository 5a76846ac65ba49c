/**
 * The runtime advertises wide HTTP/2 receive windows: a plain HTTP/2 client
 * reads the SETTINGS and WINDOW_UPDATE the runtime sends on a new connection.
 * (What the windows are for, save throughput over a link with latency, is
 * measured by `deno task bench`, section 7.)
 */
import assert from "node:assert/strict";
import { connect } from "node:http2";
import { once } from "node:events";
import { CONNECTION_RECEIVE_WINDOW_BYTES, STREAM_RECEIVE_WINDOW_BYTES } from "../../src/limits.ts";
import { startRuntime } from "../support/runtime.ts";

Deno.test("a new connection gets the runtime's stream and connection receive windows, not HTTP/2's 64 KiB", async () => {
  const runtime = await startRuntime();
  const session = connect(`http://${runtime.grpcAddress}`);
  try {
    await once(session, "remoteSettings");
    assert.equal(session.remoteSettings.initialWindowSize, STREAM_RECEIVE_WINDOW_BYTES);
    // The connection window's WINDOW_UPDATE follows the SETTINGS frame.
    const deadline = Date.now() + 5000;
    while (session.state.remoteWindowSize !== CONNECTION_RECEIVE_WINDOW_BYTES) {
      assert.ok(Date.now() < deadline, `remote window ${session.state.remoteWindowSize}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    session.destroy();
    await runtime.stop();
  }
});
