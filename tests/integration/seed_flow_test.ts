/**
 * The product description's flow, end to end: a real runtime process on the
 * embedded store, driven through the SDK.
 */
import assert from "node:assert/strict";
import { startRuntime } from "../support/runtime.ts";

Deno.test("the seed flow works end to end and survives a restart", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  const worker = await rt.registerWorker("worker-1", {
    metadata: { gpu: "A100", memory: "80GB" },
  });
  assert.equal(worker.state, "ACTIVE");
  assert.deepEqual(worker.metadata, { gpu: "A100", memory: "80GB" });
  const dataset = await rt.registerDataset("training-data", {
    path: "s3://bucket/data",
  });
  assert.equal(dataset.path, "s3://bucket/data");
  const bytes = new TextEncoder().encode("model-state-bytes");
  const saved = await rt.saveCheckpoint({
    workerId: "worker-1",
    data: bytes,
    metadata: { epoch: 10, loss: 0.001 },
  });
  assert.match(saved.checkpointId, /^chk_[0-9A-Z]{26}$/);
  assert.equal(saved.sizeBytes, bytes.length);
  const beat = await rt.heartbeat("worker-1");
  assert.equal(beat.heartbeatIntervalMs, 10_000);
  await rt.deregisterWorker("worker-1");
  rt.close();
  assert.equal(await runtime.stop(), 0);

  const restarted = await startRuntime({ dir: runtime.dir });
  const rt2 = restarted.client();
  try {
    assert.equal((await rt2.getWorker("worker-1")).state, "DEREGISTERED");
    assert.deepEqual(
      (await rt2.getDataset("training-data")).path,
      "s3://bucket/data",
    );
    const loaded = await rt2.loadCheckpoint("worker-1");
    assert.deepEqual(loaded.data, bytes);
    assert.deepEqual(loaded.checkpoint, saved);
  } finally {
    rt2.close();
    await restarted.stop();
  }
});
