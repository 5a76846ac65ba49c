/**
 * Regression test for denoland/deno issue 36788: under Deno 2.9.6 a grpc-js
 * server aborts (SIGABRT, an nghttp2 assertion in node:http2) when grpc-js
 * clients close their channel right after a large client-streaming upload, or
 * in the middle of one. Deno is pinned to 2.8.3 until this passes on a newer one.
 *
 * Twenty rounds of SDK clients (grpc-js) that upload 64 MiB and close at once,
 * alternating with clients that close mid-upload; then the runtime must still
 * be running, still serve, and still hold every committed checkpoint.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { Runtime } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { startRuntime } from "../support/runtime.ts";
import { startTcpRelay } from "../support/tcp_relay.ts";

const MIB = 1024 * 1024;
const ROUNDS = 20;

Deno.test("grpc-js clients closing right after or during 64 MiB uploads do not crash the runtime", async () => {
  const runtime = await startRuntime();
  let exited = false;
  runtime.process.status.then(() => exited = true);
  const setup = runtime.client();
  await setup.registerWorker("w1");
  setup.close();
  const payload = randomBytes(64 * MIB);
  const committed = new Map<string, string>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const rt = new Runtime(`grpc://${runtime.grpcAddress}`);
      if (round % 2 === 0) {
        const saved = await rt.saveCheckpoint({
          workerId: "w1",
          data: payload,
        });
        rt.close(); // at once, right after the upload
        committed.set(saved.checkpointId, saved.sha256);
      } else {
        const save = rt.saveCheckpoint({ workerId: "w1", data: payload });
        save.catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 50 + round * 10));
        rt.close(); // in the middle of the upload
        const saved = await save.catch(() => undefined);
        if (saved) committed.set(saved.checkpointId, saved.sha256);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(
      exited,
      false,
      `runtime exited:\n${runtime.logs.slice(-20).join("\n")}`,
    );
    const rt = runtime.client();
    try {
      await rt.heartbeat("w1");
      assert.ok(committed.size >= ROUNDS / 2);
      for (const [id, sha] of committed) {
        const { data } = await rt.loadCheckpoint("w1", { checkpointId: id });
        assert.equal(sha256Hex(data), sha);
      }
      assert.equal(sha256Hex(payload), [...committed.values()][0]);
    } finally {
      rt.close();
    }
  } finally {
    assert.equal(await runtime.stop(), 0);
  }
});

/**
 * The rest of the class (denoland/deno issue 36788: a GOAWAY closing a
 * long-idle session aborts the process under Deno 2.9.5 and 2.9.6): clients
 * that send GOAWAY on idle connections (node:http2's goaway(), and grpc-js
 * closing an idle channel), and loads whose connection is reset or whose
 * client leaves mid-stream. The runtime must keep serving throughout.
 */
Deno.test("GOAWAY on idle connections, and loads cut by resets or departing clients, do not crash the runtime", async () => {
  const runtime = await startRuntime();
  let exited = false;
  runtime.process.status.then(() => exited = true);
  const setup = runtime.client();
  await setup.registerWorker("w1");
  const payload = randomBytes(48 * MIB);
  const saved = await setup.saveCheckpoint({ workerId: "w1", data: payload });
  try {
    for (let round = 0; round < 4; round++) {
      await idleThenGoaway(runtime.grpcAddress);
      const idle = new Runtime(`grpc://${runtime.grpcAddress}`);
      await idle.heartbeat("w1");
      await new Promise((resolve) => setTimeout(resolve, 300)); // idle
      idle.close(); // grpc-js sends GOAWAY as it closes the session
      await loadThenLeave(runtime.grpcAddress);
      await loadThenReset(runtime.grpcAddress);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(exited, false, `runtime exited:\n${runtime.logs.slice(-20).join("\n")}`);
    await setup.heartbeat("w1");
    const { data } = await setup.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
    assert.equal(sha256Hex(data), sha256Hex(payload));
  } finally {
    setup.close();
    assert.equal(await runtime.stop(), 0);
  }
});

// A bare HTTP/2 session that asks for nothing, idles, then says GOAWAY.
async function idleThenGoaway(address: string): Promise<void> {
  const session = http2.connect(`http://${address}`);
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  session.goaway(0);
  await new Promise<void>((resolve) => session.close(() => resolve()));
}

// A load whose client closes after the first piece.
async function loadThenLeave(address: string): Promise<void> {
  const rt = new Runtime(`grpc://${address}`, { retry: false });
  const { stream } = await rt.loadCheckpointStream("w1");
  for await (const _piece of stream) break;
  rt.close();
}

// A load whose TCP connection is reset under it after the first piece.
async function loadThenReset(address: string): Promise<void> {
  const relay = await startTcpRelay(`http://${address}`);
  const rt = new Runtime(`grpc://${new URL(relay.endpoint).host}`, { retry: false });
  try {
    const { stream } = await rt.loadCheckpointStream("w1");
    const reading = (async () => {
      for await (const _piece of stream) relay.setDown(true);
    })();
    await reading.catch(() => {}); // cut: the client sees the reset
  } finally {
    rt.close();
    await relay.close();
  }
}
