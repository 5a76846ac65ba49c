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
import { Runtime } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { startRuntime } from "../support/runtime.ts";

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
