/**
 * Graceful shutdown: on SIGTERM the runtime stops accepting calls, lets a
 * save in flight finish, and exits 0; the checkpoint is there after a restart.
 */
import assert from "node:assert/strict";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { startRuntime } from "../support/runtime.ts";

const MIB = 1024 * 1024;

Deno.test("SIGTERM lets a save in flight finish, refuses new calls, and exits 0", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  await rt.registerWorker("w1");
  const payload = randomBytes(48 * MIB);
  let signalled = false;
  const metrics = async () => await (await fetch(`${runtime.metricsUrl}/metrics`)).text();
  // The data arrives slowly; SIGTERM is sent once the runtime has the save
  // under way (its gauge says so), so the save is in flight, not refused.
  async function* slowly(): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < payload.length; offset += 4 * MIB) {
      yield payload.subarray(offset, offset + 4 * MIB);
      if (!signalled) {
        signalled = true;
        while (!/^pulse_checkpoint_saves_in_progress 1$/m.test(await metrics())) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        runtime.process.kill("SIGTERM");
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const saved = await rt.saveCheckpoint({ workerId: "w1", data: slowly() });
  assert.equal(saved.sha256, sha256Hex(payload));
  const late = await rt.heartbeat("w1").then(() => "served", (error) => error.code);
  assert.equal(late, "UNAVAILABLE");
  rt.close();
  assert.equal((await runtime.process.status).code, 0);
  assert.ok(runtime.logs.some((line) => line.includes('"Runtime stopped"')));

  const restarted = await startRuntime({ dir: runtime.dir });
  const rt2 = restarted.client();
  try {
    assert.equal(sha256Hex((await rt2.loadCheckpoint("w1")).data), saved.sha256);
  } finally {
    rt2.close();
    await restarted.stop();
  }
});
