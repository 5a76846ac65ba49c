/**
 * Locks in the store on a real fs store in a temporary directory (whose
 * `putIfAbsent` is exact, as conditional writes are on S3): one of several
 * contenders takes a lock at once, the others learn who holds it; a released
 * lock is taken at once, an expired one after its expiry; a holder that was
 * replaced learns that it lost the lock and `check` then throws ABORTED. The
 * clock is a variable, so expiry needs no sleeping; renewal runs on real
 * timers with a short lease.
 */
import assert from "node:assert/strict";
import { PulseError } from "../../src/errors.ts";
import { type HeldLock, lockKeyOf, StoreLock } from "../../src/storage/store_lock.ts";
import type { ObjectStore } from "../../src/storage/store.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

const PREFIX = "locks/test/";

Deno.test("of three contenders at once exactly one takes a lock, and the others are told its holder", async () => {
  await using temp = await tempFsStore("pulse-lock-");
  const locks = ["a", "b", "c"].map((holder) =>
    new StoreLock(temp.store, PREFIX, { holder, ttlMs: 60_000 })
  );
  const attempts = await Promise.all(locks.map((lock) => lock.tryAcquire()));
  const won = attempts.flatMap((attempt, index) => attempt.acquired ? [index] : []);
  assert.equal(won.length, 1);
  const holder = ["a", "b", "c"][won[0]!]!;
  for (const attempt of attempts) {
    if (!attempt.acquired) assert.equal(attempt.holder, holder);
  }
  const held = attempts[won[0]!] as { acquired: true; lock: HeldLock };
  assert.equal(held.lock.held, true);
  await held.lock.release();
  // Released: the next contender takes it at once, as generation 2.
  const next = await locks[(won[0]! + 1) % 3]!.tryAcquire();
  assert.equal(next.acquired, true);
  if (next.acquired) {
    assert.equal(next.lock.generation, 2);
    await next.lock.release();
  }
  // Older generations are deleted by the one who took a newer.
  assert.deepEqual(
    (await temp.store.list(PREFIX)).map((info) => info.key),
    [lockKeyOf(PREFIX, 2)],
  );
});

Deno.test("a lock whose holder stopped renewing is taken after its expiry, and the old holder then fails check() with ABORTED", async () => {
  await using temp = await tempFsStore("pulse-lock-");
  let now = Date.parse("2026-01-01T00:00:00Z");
  const clock = () => now;
  const ttlMs = 60_000;
  const a = new StoreLock(temp.store, PREFIX, { holder: "a", ttlMs, now: clock });
  const b = new StoreLock(temp.store, PREFIX, { holder: "b", ttlMs, now: clock });
  const first = await a.tryAcquire();
  assert.ok(first.acquired);
  now += ttlMs - 1;
  const early = await b.tryAcquire();
  assert.equal(early.acquired, false);
  if (!early.acquired) assert.equal(early.holder, "a");
  // Unrenewed, the holder stops acting as one a quarter of the lease early.
  assert.equal(first.lock.held, false);
  assert.throws(
    () => first.lock.check("collect garbage"),
    (error) => error instanceof PulseError && error.code === "ABORTED",
  );
  now += 2;
  const second = await b.tryAcquire();
  assert.ok(second.acquired);
  assert.equal(second.lock.generation, 2);
  await first.lock.release(); // a stale holder's release leaves the new holder alone
  const third = await a.tryAcquire();
  assert.equal(third.acquired, false);
  if (!third.acquired) assert.equal(third.holder, "b");
  await second.lock.release();
});

Deno.test("a holder renews its lock while it holds it, and learns when another took a newer generation", async () => {
  await using temp = await tempFsStore("pulse-lock-");
  const ttlMs = 1200;
  const a = new StoreLock(temp.store, PREFIX, { holder: "a", ttlMs });
  const attempt = await a.tryAcquire();
  assert.ok(attempt.acquired);
  // Three leases long: still held, because it was renewed.
  await new Promise((resolve) => setTimeout(resolve, 3 * ttlMs));
  assert.equal(attempt.lock.held, true);
  const b = new StoreLock(temp.store, PREFIX, { holder: "b", ttlMs });
  assert.equal((await b.tryAcquire()).acquired, false);
  // A newer generation written by hand, as a replica that wrongly took over would.
  const newer = {
    holder: "z",
    token: "t",
    generation: 2,
    acquired_at: new Date().toISOString(),
    expires_at: new Date(Date.now() + 60_000).toISOString(),
    released: false,
  };
  await temp.store.put(lockKeyOf(PREFIX, 2), new TextEncoder().encode(JSON.stringify(newer)));
  await new Promise((resolve) => setTimeout(resolve, ttlMs));
  assert.equal(attempt.lock.held, false);
  await attempt.lock.release();
});

Deno.test("a contender whose listing names a generation deleted meanwhile does not take the lock by writing that generation again", async () => {
  await using temp = await tempFsStore("pulse-lock-");
  const a = new StoreLock(temp.store, PREFIX, { holder: "a", ttlMs: 60_000 });
  const first = await a.tryAcquire();
  assert.ok(first.acquired);
  await first.lock.release();
  const b = new StoreLock(temp.store, PREFIX, { holder: "b", ttlMs: 60_000 });
  const second = await b.tryAcquire(); // generation 2; generation 1 is deleted
  assert.ok(second.acquired);
  // A listing made before b's write, read after b deleted generation 1.
  const stale: ObjectStore = Object.assign(Object.create(temp.store), {
    list: () => Promise.resolve([{ key: lockKeyOf(PREFIX, 1), size: 1, lastModified: new Date() }]),
    putIfAbsent: (key: string, data: Uint8Array) => temp.store.putIfAbsent(key, data),
    get: (key: string) => temp.store.get(key),
  });
  const c = new StoreLock(stale, PREFIX, { holder: "c", ttlMs: 60_000 });
  const attempt = await c.tryAcquire();
  assert.equal(attempt.acquired, false);
  assert.deepEqual((await temp.store.list(PREFIX)).map((info) => info.key), [lockKeyOf(PREFIX, 2)]);
  await second.lock.release();
});
