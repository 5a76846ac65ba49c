/**
 * The runtime advertises the HTTP/2 receive windows of `server.receive_window_bytes`
 * instead of the protocol's 64 KiB: a plain HTTP/2 client reads the SETTINGS
 * and WINDOW_UPDATE the runtime sends on a new connection. (What the windows
 * are for, save throughput over a link with latency, is measured by
 * `deno task bench`, section 7.)
 */
import assert from "node:assert/strict";
import { connect } from "node:http2";
import { once } from "node:events";
import { CONNECTION_WINDOW_STREAMS } from "../../src/limits.ts";
import { startRuntime } from "../support/runtime.ts";

const MIB = 1024 * 1024;

async function advertisedWindows(env: Record<string, string>) {
  const runtime = await startRuntime({ env });
  const session = connect(`http://${runtime.grpcAddress}`);
  try {
    await once(session, "remoteSettings");
    // The runtime's SETTINGS and WINDOW_UPDATE may follow the first SETTINGS frame.
    const read = () => ({
      stream: session.remoteSettings.initialWindowSize,
      connection: session.state.remoteWindowSize,
    });
    const deadline = Date.now() + 5000;
    while (Object.values(read()).includes(65_535) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const { stream, connection } = read();
    return { stream, connection };
  } finally {
    session.destroy();
    await runtime.stop();
  }
}

Deno.test("a new connection gets 1 MiB stream windows and a connection window of several, not HTTP/2's 64 KiB", async () => {
  assert.deepEqual(await advertisedWindows({}), {
    stream: MIB,
    connection: MIB * CONNECTION_WINDOW_STREAMS,
  });
});

Deno.test("PULSE_RECEIVE_WINDOW_BYTES sets the windows a connection gets", async () => {
  assert.deepEqual(await advertisedWindows({ PULSE_RECEIVE_WINDOW_BYTES: String(8 * MIB) }), {
    stream: 8 * MIB,
    connection: 8 * MIB * CONNECTION_WINDOW_STREAMS,
  });
});
