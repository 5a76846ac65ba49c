/**
 * WorkerRegistry on a real fs store in a temporary directory, with a fake
 * clock, without a runtime: registration, heartbeats and the states they
 * lead to, deregistration, paging, what survives a reopen, and damaged
 * records.
 */
import assert from "node:assert/strict";
import { workerKeyOf } from "../../src/keys.ts";
import { FsStore } from "../../src/storage/fs_store.ts";
import { WorkerRegistry } from "../../src/workers/worker_registry.ts";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "pulse-workers-" });
  const store = await FsStore.open(dir);
  return {
    store,
    [Symbol.asyncDispose]: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("open() of a damaged worker record fails with DATA_LOSS naming its key", async (t) => {
  await using s = await setup();
  const key = workerKeyOf("w1");
  const record = {
    worker_id: "w1",
    metadata: {},
    registered_at: "2026-01-01T00:00:00.000Z",
    last_heartbeat: "2026-01-01T00:00:00.000Z",
    deregistered: false,
  };
  const damaged: [string, string, string][] = [
    ["not JSON", "{not json", "not a JSON object"],
    [
      "a field missing",
      JSON.stringify({ ...record, deregistered: undefined }),
      "deregistered is not a boolean",
    ],
    [
      "a bad date",
      JSON.stringify({ ...record, last_heartbeat: "later" }),
      "last_heartbeat is not a date",
    ],
  ];
  for (const [name, text, problem] of damaged) {
    await t.step(name, async () => {
      await s.store.put(key, new TextEncoder().encode(text));
      await assert.rejects(WorkerRegistry.open(s.store, { heartbeatTimeoutMs: 1000 }), {
        name: "PulseError",
        code: "DATA_LOSS",
        message: `Cannot read worker record ${key}: ${problem}`,
      });
    });
  }
});
