/**
 * Retention: the numbering of a worker's history and the choice of victims
 * (pure functions), then passes over a real fs store in a temporary
 * directory: positions stay put when older checkpoints go, concurrent saves
 * leave exactly the newest plus the long-term ones, and a broken ledger
 * stops deletions without failing saves.
 */
import { INLINE_HASHER } from "../../src/checkpoints/hasher.ts";
import assert from "node:assert/strict";
import { Checkpoints } from "../../src/checkpoints/checkpoints.ts";
import {
  numberCheckpoints,
  Retention,
  type RetentionOptions,
  retentionVictims,
} from "../../src/checkpoints/retention.ts";
import { PulseError } from "../../src/errors.ts";
import { ledgerKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { FsStore } from "../../src/storage/fs_store.ts";
import { StoreLock } from "../../src/storage/store_lock.ts";
import { retentionLockPrefixOf } from "../../src/keys.ts";

/** What a client that stays and sends no trailer gives a save. */
const NO_TRAILER = { signal: new AbortController().signal, expected: Promise.resolve(undefined) };

Deno.test("numberCheckpoints() numbers new checkpoints oldest first and forgets gone ones", () => {
  const ledger = { count: 5, positions: { c4: 4, c5: 5, c2: 2 } };
  // Newest first, as listings are: c7 and c6 are new, c2 was deleted.
  const numbered = numberCheckpoints(ledger, ["c7", "c6", "c5", "c4"]);
  assert.deepEqual(numbered, { count: 7, positions: { c4: 4, c5: 5, c6: 6, c7: 7 } });
  assert.deepEqual(numberCheckpoints({ count: 0, positions: {} }, []), { count: 0, positions: {} });
});

Deno.test("retentionVictims() keeps the keepLast newest and every keepEvery-th position", async (t) => {
  const ids = ["c10", "c9", "c8", "c7", "c6", "c5", "c4", "c3", "c2", "c1"];
  const positions = Object.fromEntries(ids.map((id) => [id, Number(id.slice(1))]));
  const victims = (options: RetentionOptions) => retentionVictims(ids, positions, options);
  await t.step("keep_last 0 keeps everything", () => {
    assert.deepEqual(victims({ keepLast: 0, keepEvery: 0 }), []);
    assert.deepEqual(victims({ keepLast: 0, keepEvery: 3 }), []);
  });
  await t.step("keep_last 3", () => {
    assert.deepEqual(victims({ keepLast: 3, keepEvery: 0 }), [
      "c7",
      "c6",
      "c5",
      "c4",
      "c3",
      "c2",
      "c1",
    ]);
  });
  await t.step("keep_last 3, keep_every 4", () => {
    assert.deepEqual(victims({ keepLast: 3, keepEvery: 4 }), ["c7", "c6", "c5", "c3", "c2", "c1"]);
  });
  await t.step("keep_last 1 never deletes the newest", () => {
    assert.ok(!victims({ keepLast: 1, keepEvery: 0 }).includes("c10"));
  });
});

async function setup(options: RetentionOptions) {
  const dir = await Deno.makeTempDir({ prefix: "pulse-retention-" });
  const store = await FsStore.open(dir);
  // The hook is set before the first save, as in the runtime.
  const hook: { retention?: Retention } = {};
  const checkpoints = new Checkpoints(store, {
    hasher: INLINE_HASHER,
    writesInFlight: 2,
    chunkBuffers: 16,
    chunkBufferWaitMs: 30_000,
    readsAhead: 2,
    checkpointBytesMax: CHUNK_BYTES,
    savesPerWorkerMax: 32,
    savesMax: 32,
    requireWorker: () => Promise.resolve(),
    onSaved: (checkpoint) => hook.retention?.schedule(checkpoint.workerId),
  });
  const r = new Retention(store, checkpoints, options);
  hook.retention = r;
  return {
    store,
    checkpoints,
    retention: r,
    /** The steps of the checkpoints left, oldest first. */
    steps: async () => {
      const page = await checkpoints.list("w1", 500, "");
      return page.checkpoints.map((c) => c.metadata.step as number).reverse();
    },
    [Symbol.asyncDispose]: async () => {
      await r.idle();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

Deno.test("a worker keeps its newest checkpoints and every K-th one as older ones go", async () => {
  await using s = await setup({ keepLast: 3, keepEvery: 4 });
  for (let step = 1; step <= 10; step++) {
    await s.checkpoints.save(
      { workerId: "w1", metadata: { step }, idempotencyKey: "" },
      bytesOf(`state ${step}`),
      NO_TRAILER,
    );
    await s.retention.idle();
  }
  assert.deepEqual(await s.steps(), [4, 8, 9, 10]);
  // Positions do not shift when older checkpoints are deleted: 12 and 16 are next.
  for (let step = 11; step <= 20; step++) {
    await s.checkpoints.save(
      { workerId: "w1", metadata: { step }, idempotencyKey: "" },
      bytesOf(`state ${step}`),
      NO_TRAILER,
    );
    await s.retention.idle();
  }
  assert.deepEqual(await s.steps(), [4, 8, 12, 16, 18, 19, 20]);
  const ledger = JSON.parse(new TextDecoder().decode(await s.store.get(ledgerKeyOf("w1"))));
  assert.equal(ledger.count, 20);
  // Saved one after the other, each checkpoint's position is its step.
  for (const checkpoint of (await s.checkpoints.list("w1", 500, "")).checkpoints) {
    assert.equal(ledger.positions[checkpoint.checkpointId], checkpoint.metadata.step);
  }
});

Deno.test("concurrent saves leave exactly the newest plus the long-term ones, all loadable", async () => {
  await using s = await setup({ keepLast: 3, keepEvery: 4 });
  const saved = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      s.checkpoints.save(
        { workerId: "w1", metadata: { step: i + 1 }, idempotencyKey: "" },
        bytesOf(`state ${i + 1}`),
        NO_TRAILER,
      )),
  );
  await s.retention.idle();
  const newest = saved.map((c) => c.checkpointId).sort().reverse().slice(0, 3);
  const ledger = JSON.parse(new TextDecoder().decode(await s.store.get(ledgerKeyOf("w1"))));
  assert.equal(ledger.count, 10, "each checkpoint was numbered once");
  const longTerm = Object.entries(ledger.positions as Record<string, number>)
    .filter(([, position]) => position % 4 === 0).map(([id]) => id);
  assert.equal(longTerm.length, 2, "positions 4 and 8 are kept");
  const left = (await s.checkpoints.list("w1", 500, "")).checkpoints.map((c) => c.checkpointId);
  assert.deepEqual(left.sort(), [...new Set([...newest, ...longTerm])].sort());
  for (const checkpointId of left) {
    const { data } = await s.checkpoints.load("w1", checkpointId);
    for await (const _ of data) { /* verified chunk by chunk */ }
  }
});

Deno.test("a broken ledger stops retention for the worker without failing its saves", async () => {
  await using s = await setup({ keepLast: 1, keepEvery: 0 });
  await s.store.put(ledgerKeyOf("w1"), new TextEncoder().encode("{broken"));
  for (let step = 1; step <= 3; step++) {
    await s.checkpoints.save(
      { workerId: "w1", metadata: { step }, idempotencyKey: "" },
      bytesOf(`state ${step}`),
      NO_TRAILER,
    );
  }
  await s.retention.idle();
  assert.deepEqual(await s.steps(), [1, 2, 3], "nothing deleted");
  await assert.rejects(
    s.retention.apply("w1"),
    (error) =>
      error instanceof PulseError && error.code === "DATA_LOSS" &&
      error.message ===
        "Cannot apply retention to worker w1: retention/w1.json is not a valid ledger",
  );
  await s.store.delete(ledgerKeyOf("w1")); // what an operator does to reset it
  assert.deepEqual((await s.retention.apply("w1")).kept, 1);
  assert.deepEqual(await s.steps(), [3]);
});

Deno.test("keep_last 0 deletes nothing and writes no ledger", async () => {
  await using s = await setup({ keepLast: 0, keepEvery: 2 });
  assert.equal(s.retention.enabled, false);
  for (let step = 1; step <= 5; step++) {
    await s.checkpoints.save(
      { workerId: "w1", metadata: { step }, idempotencyKey: "" },
      bytesOf(`state ${step}`),
      NO_TRAILER,
    );
  }
  await s.retention.idle();
  assert.deepEqual(await s.steps(), [1, 2, 3, 4, 5]);
  assert.equal(await s.store.get(ledgerKeyOf("w1")), undefined);
});

Deno.test("a retention pass skips a worker whose retention lease another replica holds, and runs once it is released", async () => {
  // The setup's own Retention is off (keep_last 0): only the replica's deletes.
  await using s = await setup({ keepLast: 0, keepEvery: 0 });
  const lockOf = (holder: string) =>
    new StoreLock(s.store, retentionLockPrefixOf("w1"), { holder, ttlMs: 60_000 });
  const replica = new Retention(s.store, s.checkpoints, {
    keepLast: 1,
    keepEvery: 0,
    lockOf: () => lockOf("this-replica"),
  });
  for (let step = 1; step <= 3; step++) {
    await s.checkpoints.save(
      { workerId: "w1", metadata: { step }, idempotencyKey: "" },
      bytesOf(`state ${step}`),
      NO_TRAILER,
    );
  }
  const other = await lockOf("other-replica").tryAcquire();
  assert.ok(other.acquired);
  assert.deepEqual(await replica.apply("w1"), {
    kept: 0,
    deleted: [],
    skippedFor: "other-replica",
  });
  assert.deepEqual(await s.steps(), [1, 2, 3]);
  await other.lock.release();
  const ran = await replica.apply("w1");
  assert.equal(ran.skippedFor, undefined);
  assert.equal(ran.deleted.length, 2);
  assert.deepEqual(await s.steps(), [3]);
});
