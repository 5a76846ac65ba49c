/**
 * Retention in a real runtime process: after concurrent saves a worker keeps
 * exactly its newest checkpoints plus every K-th one, every one of them
 * loads, the saves all succeed, and garbage collection then reclaims the
 * chunks of the deleted ones. Retention runs in the background after each
 * save, so the tests wait for it to settle.
 */
import assert from "node:assert/strict";
import type { Checkpoint, Runtime } from "@pulsecheckpoint/sdk";
import { ledgerKeyOf } from "../../src/keys.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { tempDir } from "../support/temp_dirs.ts";

const SAVES = 10;

async function listIds(rt: Runtime, workerId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const checkpoint of rt.checkpoints(workerId)) ids.push(checkpoint.checkpointId);
  return ids;
}

/** Waits until `done` holds, or fails after 15 s. */
async function settle(what: string, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!await done()) {
    assert.ok(Date.now() < deadline, `${what} did not happen in 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function saveConcurrently(
  rt: Runtime,
): Promise<{ saved: Checkpoint[]; hashes: Map<string, string> }> {
  const payloads = Array.from({ length: SAVES }, (_, i) => randomBytes(100_000 + i));
  const saved = await Promise.all(
    payloads.map((data, step) => rt.saveCheckpoint({ workerId: "w1", data, metadata: { step } })),
  );
  const hashes = new Map(saved.map((c, i) => [c.checkpointId, sha256Hex(payloads[i]!)]));
  return { saved, hashes };
}

async function readLedger(runtime: RuntimeProcess) {
  try {
    return JSON.parse(await Deno.readTextFile(`${runtime.dir}/data/${ledgerKeyOf("w1")}`));
  } catch {
    return undefined;
  }
}

async function assertAllLoad(rt: Runtime, ids: string[], hashes: Map<string, string>) {
  for (const checkpointId of ids) {
    const { data } = await rt.loadCheckpoint("w1", { checkpointId });
    assert.equal(sha256Hex(data), hashes.get(checkpointId), checkpointId);
  }
}

Deno.test("keep_last=3: after 10 concurrent saves exactly the 3 newest remain, all loadable", async () => {
  const runtime = await startRuntime({
    env: {
      PULSE_RETENTION_KEEP_LAST: "3",
      PULSE_SAVES_PER_WORKER_MAX: "16",
      PULSE_GC_INTERVAL_MS: "0",
    },
  });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const { saved, hashes } = await saveConcurrently(rt);
    const newest = saved.map((c) => c.checkpointId).sort().reverse().slice(0, 3);
    await settle("retention down to 3", async () => (await listIds(rt, "w1")).length === 3);
    assert.deepEqual(await listIds(rt, "w1"), newest);
    await assertAllLoad(rt, newest, hashes);

    // The deleted checkpoints' chunks go at the next collection; the rest stay whole.
    const report = await rt.runGc({ graceMs: 0 });
    assert.equal(report.chunksDeleted, SAVES - 3);
    await assertAllLoad(rt, newest, hashes);

    const metrics = await (await fetch(`${runtime.metricsUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`^pulse_retention_deleted_total ${SAVES - 3}$`, "m"));
    assert.match(
      metrics,
      new RegExp(`^pulse_checkpoints_total\\{outcome="ok",path="stream"\\} ${SAVES}$`, "m"),
    );
    const deletions = runtime.logs.filter((line) =>
      line.includes("Checkpoint deleted by retention")
    );
    assert.equal(deletions.length, SAVES - 3);
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("keep_last=3, keep_every=4: the 3 newest and positions 4 and 8 remain, all loadable", async () => {
  const runtime = await startRuntime({
    env: {
      PULSE_RETENTION_KEEP_LAST: "3",
      PULSE_RETENTION_KEEP_EVERY: "4",
      PULSE_SAVES_PER_WORKER_MAX: "16",
    },
  });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const { saved, hashes } = await saveConcurrently(rt);
    const newest = saved.map((c) => c.checkpointId).sort().reverse().slice(0, 3);
    // Concurrent saves commit in any order, so which checkpoints hold
    // positions 4 and 8 is read from the worker's retention ledger.
    let expected: string[] = [];
    await settle("retention", async () => {
      const ledger = await readLedger(runtime);
      if (ledger?.count !== SAVES) return false;
      const longTerm = Object.entries(ledger.positions as Record<string, number>)
        .filter(([, position]) => position % 4 === 0).map(([id]) => id);
      expected = [...new Set([...newest, ...longTerm])].sort().reverse();
      return JSON.stringify(await listIds(rt, "w1")) === JSON.stringify(expected);
    });
    const ledger = await readLedger(runtime);
    const positions = expected.map((id) => ledger.positions[id]).filter((p) => p % 4 === 0);
    assert.deepEqual(positions.sort((a: number, b: number) => a - b), [4, 8]);
    assert.ok(expected.length >= 3 && expected.length <= 5);
    await assertAllLoad(rt, expected, hashes);
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("sequential saves with keep_last=2, keep_every=3 keep positions 3, 6, 9 and the 2 newest", async () => {
  const runtime = await startRuntime({
    env: { PULSE_RETENTION_KEEP_LAST: "2", PULSE_RETENTION_KEEP_EVERY: "3" },
  });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const ids: string[] = [];
    const hashes = new Map<string, string>();
    for (let step = 1; step <= 10; step++) {
      const data = randomBytes(1000);
      const saved = await rt.saveCheckpoint({ workerId: "w1", data, metadata: { step } });
      ids.push(saved.checkpointId);
      hashes.set(saved.checkpointId, sha256Hex(data));
    }
    // Steps 10 and 9 are the newest; 9, 6 and 3 are every third.
    const expected = [ids[9]!, ids[8]!, ids[5]!, ids[2]!];
    await settle("retention", async () => {
      const listed = await listIds(rt, "w1");
      return JSON.stringify(listed) === JSON.stringify(expected);
    });
    await assertAllLoad(rt, expected, hashes);
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("a retention failure is logged and never fails a save", async () => {
  const dir = await tempDir("pulse-retention-");
  await Deno.mkdir(`${dir}/data/retention`, { recursive: true });
  await Deno.writeTextFile(`${dir}/data/${ledgerKeyOf("w1")}`, "not a ledger");
  const runtime = await startRuntime({ dir, env: { PULSE_RETENTION_KEEP_LAST: "1" } });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    for (let step = 0; step < 3; step++) {
      await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(10) });
    }
    await settle(
      "the failure's log line",
      () => Promise.resolve(runtime.logs.some((line) => line.includes("Retention pass failed"))),
    );
    assert.equal((await listIds(rt, "w1")).length, 3, "nothing was deleted");
  } finally {
    rt.close();
    await runtime.stop();
  }
});
