/**
 * Workers and datasets through a real runtime: idempotent registration,
 * ACTIVE -> STALE after the heartbeat timeout -> ACTIVE on a heartbeat,
 * DEREGISTERED after leaving, pagination, and `pulse_active_workers`.
 */
import assert from "node:assert/strict";
import { startRuntime } from "../support/runtime.ts";

// pulse_active_workers once the background count shows `expected` (it
// counts every SCAN_MS here), or what it shows after 5 s.
async function activeWorkersMetric(metricsUrl: string, expected: number): Promise<number> {
  let value = NaN;
  for (const started = Date.now(); Date.now() - started < 5000;) {
    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    value = Number(/^pulse_active_workers (\d+)$/m.exec(text)?.[1]);
    if (value === expected) break;
    await new Promise((resolve) => setTimeout(resolve, SCAN_MS));
  }
  return value;
}

const SCAN_MS = 50;

Deno.test("a worker goes STALE after the heartbeat timeout and ACTIVE again on a heartbeat", async () => {
  const runtime = await startRuntime({
    env: { PULSE_HEARTBEAT_TIMEOUT_MS: "1000", PULSE_REGISTRY_SCAN_INTERVAL_MS: String(SCAN_MS) },
  });
  const rt = runtime.client();
  try {
    const registered = await rt.registerWorker("w1", { metadata: { rank: 0 } });
    assert.equal(registered.state, "ACTIVE");
    assert.equal((await rt.heartbeat("w1")).heartbeatIntervalMs, 333);
    assert.equal(await activeWorkersMetric(runtime.metricsUrl, 1), 1);

    await new Promise((resolve) => setTimeout(resolve, 1300));
    assert.equal((await rt.getWorker("w1")).state, "STALE");
    assert.equal(await activeWorkersMetric(runtime.metricsUrl, 0), 0);

    const beat = await rt.heartbeat("w1");
    const worker = await rt.getWorker("w1");
    assert.equal(worker.state, "ACTIVE");
    assert.equal(worker.lastHeartbeat.getTime(), beat.serverTime.getTime());
    assert.equal(await activeWorkersMetric(runtime.metricsUrl, 1), 1);

    await rt.deregisterWorker("w1");
    assert.equal((await rt.getWorker("w1")).state, "DEREGISTERED");
    assert.equal(await activeWorkersMetric(runtime.metricsUrl, 0), 0);
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("registering again is idempotent: it keeps registered_at and replaces metadata", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  try {
    const first = await rt.registerWorker("w1", { metadata: { gpu: "A100" } });
    await rt.deregisterWorker("w1");
    const again = await rt.registerWorker("w1", { metadata: { gpu: "H100" } });
    assert.equal(again.registeredAt.getTime(), first.registeredAt.getTime());
    assert.deepEqual(again.metadata, { gpu: "H100" });
    assert.equal(again.state, "ACTIVE");
    assert.equal((await rt.listWorkers()).items.length, 1);
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("workers and datasets list in pages, sorted, and survive a restart", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  const ids = Array.from({ length: 12 }, (_, i) => `worker-${String(i).padStart(2, "0")}`);
  for (const id of [...ids].reverse()) await rt.registerWorker(id, { metadata: { id } });
  for (const name of ["imagenet", "c4", "laion"]) {
    await rt.registerDataset(name, { path: `s3://data/${name}`, metadata: { name } });
  }
  rt.close();
  await runtime.stop();

  const restarted = await startRuntime({ dir: runtime.dir });
  const rt2 = restarted.client();
  try {
    const listed: string[] = [];
    let pageToken = "";
    do {
      const page = await rt2.listWorkers({ pageSize: 5, pageToken });
      listed.push(...page.items.map((w) => w.workerId));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    assert.deepEqual(listed, ids);
    assert.deepEqual((await rt2.getWorker("worker-03")).metadata, { id: "worker-03" });

    const first = await rt2.listDatasets({ pageSize: 2 });
    const second = await rt2.listDatasets({ pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual([...first.items, ...second.items].map((d) => d.name), [
      "c4",
      "imagenet",
      "laion",
    ]);
    assert.equal(second.nextPageToken, "");
    const dataset = await rt2.getDataset("laion");
    assert.equal(dataset.path, "s3://data/laion");
    assert.deepEqual(dataset.metadata, { name: "laion" });
  } finally {
    rt2.close();
    await restarted.stop();
  }
});
