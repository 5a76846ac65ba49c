/**
 * WorkerRegistry on a real fs store in a temporary directory, with a fake
 * clock, without a runtime: registration, heartbeats and the states they
 * lead to, deregistration, paging, two registries on one store (as two
 * runtimes on one bucket) agreeing within the cache time, the background
 * count, and damaged records.
 */
import assert from "node:assert/strict";
import { workerKeyOf } from "../../src/keys.ts";
import type { ObjectStore } from "../../src/storage/store.ts";
import { WorkerRegistry } from "../../src/workers/worker_registry.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

const setup = () => tempFsStore("pulse-workers-");

const TIMEOUT_MS = 1000;
const CACHE_MS = 100;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

/** A registry on `store` whose clock is `clock.ms`. */
function open(store: ObjectStore, clock: { ms: number }) {
  return new WorkerRegistry(store, {
    heartbeatTimeoutMs: TIMEOUT_MS,
    cacheMs: CACHE_MS,
    now: () => clock.ms,
  });
}

Deno.test("a damaged worker record fails the calls that read it with DATA_LOSS naming its key", async (t) => {
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
      const workers = open(s.store, { ms: T0 });
      await assert.rejects(workers.get("w1"), {
        name: "PulseError",
        code: "DATA_LOSS",
        message: `Cannot read worker record ${key}: ${problem}`,
      });
    });
  }
});

Deno.test("register() makes an ACTIVE worker; registering again keeps registered_at and takes the new metadata", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = open(s.store, clock);
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
  assert.deepEqual(await workers.get("w1"), again);
});

Deno.test("a worker is STALE once silent for longer than the heartbeat timeout, and ACTIVE again after a heartbeat", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = open(s.store, clock);
  assert.equal(workers.heartbeatIntervalMs, Math.floor(TIMEOUT_MS / 3));
  await workers.register("w1", {});
  await workers.register("w2", {});
  clock.ms += TIMEOUT_MS;
  assert.equal((await workers.get("w1")).state, "ACTIVE", "exactly the timeout is not beyond it");
  assert.deepEqual(await workers.heartbeat("w2"), new Date(clock.ms));
  clock.ms += 1;
  assert.equal((await workers.get("w1")).state, "STALE");
  assert.equal((await workers.get("w2")).state, "ACTIVE");
  await workers.heartbeat("w1");
  assert.deepEqual((await workers.get("w1")).lastHeartbeat, new Date(clock.ms));
  assert.equal((await workers.get("w1")).state, "ACTIVE");
});

Deno.test("deregister() makes a worker DEREGISTERED, twice is no error, and its heartbeats are refused", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = open(s.store, clock);
  await workers.register("w1", {});
  await workers.deregister("w1");
  await workers.deregister("w1");
  assert.equal((await workers.get("w1")).state, "DEREGISTERED");
  await assert.rejects(workers.heartbeat("w1"), {
    code: "FAILED_PRECONDITION",
    message: "Cannot record heartbeat: worker w1 is deregistered; register it again",
  });
  // Deregistered workers are still registered: their checkpoints stay theirs.
  await workers.requireRegistered("save checkpoint", "w1");
});

Deno.test("calls about an unknown worker fail with NOT_FOUND naming the action and the worker", async () => {
  await using s = await setup();
  const workers = open(s.store, { ms: T0 });
  const notFound = (action: string) => ({
    code: "NOT_FOUND",
    message: `Cannot ${action}: worker nobody is not registered`,
  });
  await assert.rejects(workers.get("nobody"), notFound("get worker"));
  await assert.rejects(
    workers.requireRegistered("save checkpoint", "nobody"),
    notFound("save checkpoint"),
  );
  await assert.rejects(workers.heartbeat("nobody"), notFound("record heartbeat"));
  await assert.rejects(workers.deregister("nobody"), notFound("deregister worker"));
  await assert.rejects(workers.get("../x"), { code: "INVALID_ARGUMENT" });
});

Deno.test("list() pages through workers by id", async () => {
  await using s = await setup();
  const workers = open(s.store, { ms: T0 });
  for (const id of ["w3", "w1", "w5", "w2", "w4"]) await workers.register(id, {});
  const first = await workers.list(2, "");
  const second = await workers.list(2, first.nextPageToken);
  const third = await workers.list(2, second.nextPageToken);
  assert.deepEqual(
    [first, second, third].map((page) => page.workers.map((w) => w.workerId)),
    [["w1", "w2"], ["w3", "w4"], ["w5"]],
  );
  assert.equal(third.nextPageToken, "");
  assert.equal((await workers.list(5, "")).nextPageToken, "");
  assert.equal((await workers.list(0, "")).workers.length, 5);
  await assert.rejects(workers.list(2, "not-a-token"), {
    code: "INVALID_ARGUMENT",
    message: "Cannot list workers: page_token is not valid here",
  });
});

Deno.test("a heartbeat is written once the stored one is a quarter timeout old (every heartbeat at the interval workers are told); sooner ones count here at once", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const workers = open(s.store, clock);
  await workers.register("w1", { rank: 0 });
  const stored = async () => (await open(s.store, clock).get("w1")).lastHeartbeat;
  clock.ms += TIMEOUT_MS / 10; // within a quarter timeout: not written, but heard here
  await workers.heartbeat("w1");
  assert.deepEqual(await stored(), new Date(T0));
  assert.deepEqual((await workers.get("w1")).lastHeartbeat, new Date(clock.ms));
  clock.ms = T0 + workers.heartbeatIntervalMs; // the interval: written
  await workers.heartbeat("w1");
  assert.deepEqual(await stored(), new Date(clock.ms));
  assert.equal((await open(s.store, clock).get("w1")).state, "ACTIVE");
});

Deno.test("two registries on one store (two runtimes on one bucket) agree within the cache time, and a heartbeat through either keeps the worker ACTIVE on both", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const a = open(s.store, clock);
  const b = open(s.store, clock);
  await a.register("w1", { via: "a" });
  assert.deepEqual((await b.get("w1")).metadata, { via: "a" }, "read through");
  assert.deepEqual((await b.list(0, "")).workers.map((w) => w.workerId), ["w1"]);
  clock.ms += TIMEOUT_MS * 0.9;
  await b.heartbeat("w1");
  clock.ms += TIMEOUT_MS * 0.9; // past the first heartbeat's timeout, within the second's
  assert.equal((await a.get("w1")).state, "ACTIVE");
  assert.equal((await b.get("w1")).state, "ACTIVE");
  await a.deregister("w1");
  assert.equal((await b.get("w1")).state, "ACTIVE", "b's cached record, within the cache time");
  clock.ms += CACHE_MS;
  assert.equal((await b.get("w1")).state, "DEREGISTERED");
  await assert.rejects(b.heartbeat("w1"), { code: "FAILED_PRECONDITION" });
});

Deno.test("the registry reads nothing to open; the background scan counts ACTIVE workers page by page", async () => {
  await using s = await setup();
  const clock = { ms: T0 };
  const writer = open(s.store, clock);
  for (let i = 0; i < 7; i++) await writer.register(`w${i}`, {});
  await writer.deregister("w0");
  let reads = 0;
  const counting = new Proxy(s.store, {
    get(target, name, receiver) {
      if (name === "get") {
        return (...args: Parameters<ObjectStore["get"]>) => {
          reads++;
          return target.get(...args);
        };
      }
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const workers = new WorkerRegistry(counting, {
    heartbeatTimeoutMs: TIMEOUT_MS,
    cacheMs: CACHE_MS,
    scanIntervalMs: 1,
    now: () => clock.ms,
  });
  assert.equal(reads, 0);
  assert.equal(workers.activeCount(), 0, "before the first scan");
  workers.start();
  for (let i = 0; i < 100 && workers.activeCount() !== 6; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await workers.stop();
  assert.equal(workers.activeCount(), 6);
});
