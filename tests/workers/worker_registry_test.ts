/**
 * WorkerRegistry on a real fs store in a temporary directory, with a fake
 * clock, without a runtime: registration, heartbeats and the states they
 * lead to, deregistration, paging, what survives a reopen, and damaged
 * records.
 */
import assert from "node:assert/strict";
import { workerKeyOf } from "../../src/keys.ts";
import type { ObjectStore } from "../../src/storage/store.ts";
import { WorkerRegistry } from "../../src/workers/worker_registry.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

const setup = () => tempFsStore("pulse-workers-");

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

const TIMEOUT_MS = 1000;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

/** A registry on `store` whose clock is `clock.ms`. */
function open(store: ObjectStore, clock: { ms: number }) {
  return WorkerRegistry.open(store, { heartbeatTimeoutMs: TIMEOUT_MS, now: () => clock.ms });
}

Deno.test("register() makes an ACTIVE worker; registering again keeps registered_at and takes the new metadata", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = await open(s.store, clock);
  assert.deepEqual(await workers.register("w1", { gpu: "A100" }), {
    workerId: "w1",
    metadata: { gpu: "A100" },
    registeredAt: new Date(T0),
    lastHeartbeat: new Date(T0),
    state: "ACTIVE",
  });
  clock.ms += 5000;
  await workers.deregister("w1");
  const again = await workers.register("w1", { gpu: "H100" });
  assert.deepEqual(again, {
    workerId: "w1",
    metadata: { gpu: "H100" },
    registeredAt: new Date(T0),
    lastHeartbeat: new Date(T0 + 5000),
    state: "ACTIVE",
  });
  assert.deepEqual(workers.get("w1"), again);
});

Deno.test("a worker is STALE once silent for longer than the heartbeat timeout, and ACTIVE again after a heartbeat", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = await open(s.store, clock);
  assert.equal(workers.heartbeatIntervalMs, Math.floor(TIMEOUT_MS / 3));
  await workers.register("w1", {});
  await workers.register("w2", {});
  clock.ms += TIMEOUT_MS;
  assert.equal(workers.get("w1").state, "ACTIVE", "exactly the timeout is not beyond it");
  assert.deepEqual(await workers.heartbeat("w2"), new Date(clock.ms));
  clock.ms += 1;
  assert.equal(workers.get("w1").state, "STALE");
  assert.equal(workers.get("w2").state, "ACTIVE");
  assert.equal(workers.activeCount(), 1);
  await workers.heartbeat("w1");
  assert.deepEqual(workers.get("w1").lastHeartbeat, new Date(clock.ms));
  assert.equal(workers.get("w1").state, "ACTIVE");
  assert.equal(workers.activeCount(), 2);
});

Deno.test("deregister() makes a worker DEREGISTERED, twice is no error, and its heartbeats are refused", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = await open(s.store, clock);
  await workers.register("w1", {});
  await workers.deregister("w1");
  await workers.deregister("w1");
  assert.equal(workers.get("w1").state, "DEREGISTERED");
  assert.equal(workers.activeCount(), 0);
  await assert.rejects(workers.heartbeat("w1"), {
    code: "FAILED_PRECONDITION",
    message: "Cannot record heartbeat: worker w1 is deregistered; register it again",
  });
  // Deregistered workers are still registered: their checkpoints stay theirs.
  workers.requireRegistered("save checkpoint", "w1");
});

Deno.test("calls about an unknown worker fail with NOT_FOUND naming the action and the worker", async () => {
  await using s = await setup();
  const workers = await open(s.store, { ms: T0 });
  const notFound = (action: string) => ({
    code: "NOT_FOUND",
    message: `Cannot ${action}: worker nobody is not registered`,
  });
  assert.throws(() => workers.get("nobody"), notFound("get worker"));
  assert.throws(
    () => workers.requireRegistered("save checkpoint", "nobody"),
    notFound("save checkpoint"),
  );
  await assert.rejects(workers.heartbeat("nobody"), notFound("record heartbeat"));
  await assert.rejects(workers.deregister("nobody"), notFound("deregister worker"));
  assert.throws(() => workers.get("../x"), { code: "INVALID_ARGUMENT" });
});

Deno.test("list() pages through workers by id", async () => {
  await using s = await setup();
  const workers = await open(s.store, { ms: T0 });
  for (const id of ["w3", "w1", "w5", "w2", "w4"]) await workers.register(id, {});
  const first = workers.list(2, "");
  const second = workers.list(2, first.nextPageToken);
  const third = workers.list(2, second.nextPageToken);
  assert.deepEqual(
    [first, second, third].map((page) => page.workers.map((w) => w.workerId)),
    [["w1", "w2"], ["w3", "w4"], ["w5"]],
  );
  assert.equal(third.nextPageToken, "");
  assert.equal(workers.list(5, "").nextPageToken, "");
  assert.equal(workers.list(0, "").workers.length, 5);
  assert.throws(() => workers.list(2, "not-a-token"), {
    code: "INVALID_ARGUMENT",
    message: "Cannot list workers: page_token is not valid here",
  });
});

Deno.test("a reopened registry has every worker as written; heartbeats are written at most every quarter timeout, and all by flush()", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = await open(s.store, clock);
  await workers.register("w1", { rank: 0 });
  await workers.register("w2", { rank: 1 });
  await workers.deregister("w2");
  clock.ms += TIMEOUT_MS / 10;
  await workers.heartbeat("w1"); // within a quarter timeout of the last write: not written
  const reopened = async () => (await open(s.store, clock)).get("w1").lastHeartbeat;
  assert.deepEqual(await reopened(), new Date(T0));
  clock.ms += TIMEOUT_MS / 4;
  await workers.heartbeat("w1"); // a quarter timeout after the last write: written
  assert.deepEqual(await reopened(), new Date(clock.ms));
  clock.ms += 1;
  await workers.heartbeat("w1");
  await workers.flush();
  const again = await open(s.store, clock);
  assert.deepEqual(again.list(0, "").workers, workers.list(0, "").workers);
  assert.deepEqual(again.get("w1").lastHeartbeat, new Date(clock.ms));
  assert.deepEqual(again.get("w1").registeredAt, new Date(T0));
  assert.deepEqual(again.get("w1").metadata, { rank: 0 });
  assert.equal(again.get("w2").state, "DEREGISTERED");
});
