/**
 * Both hashers give the digests of node:crypto: the inline one lets other
 * calls run between slices, and the pool of Web Workers hashes without
 * holding this thread (a timer keeps firing while it works), keeps each
 * stream's updates in order across workers, copies only a view's bytes into a
 * few buffers lent in turn, and
 * fails what is pending when it closes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type Hasher, INLINE_HASHER, WorkerHasher } from "../../src/checkpoints/hasher.ts";
import { HASH_SLICE_BYTES } from "../../src/limits.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const bytesOf = (size: number, seed: number) =>
  new Uint8Array(size).map((_, i) => (i * 7 + seed) & 0xff);

async function assertDigests(hasher: Hasher): Promise<void> {
  const pieces = [
    bytesOf(3 * HASH_SLICE_BYTES + 5, 1),
    bytesOf(17, 2),
    bytesOf(HASH_SLICE_BYTES, 3),
  ];
  assert.deepEqual(await Promise.all(pieces.map((p) => hasher.sha256(p))), pieces.map(sha256));
  // Two streams fed at once, each in its own order.
  const [a, b] = [hasher.stream(), hasher.stream()];
  await Promise.all([
    ...pieces.map((p) => a.update(p)),
    ...[...pieces].reverse().map((p) => b.update(p)),
  ]);
  const joined = (list: Uint8Array[]) => new Uint8Array(list.flatMap((p) => [...p]));
  assert.equal(await a.digest(), sha256(joined(pieces)));
  assert.equal(await b.digest(), sha256(joined([...pieces].reverse())));
  // A view into a larger buffer: only its bytes count.
  const whole = bytesOf(1000, 4);
  assert.equal(await hasher.sha256(whole.subarray(100, 300)), sha256(whole.subarray(100, 300)));
}

Deno.test("INLINE_HASHER gives node:crypto's digests and lets other work run between slices", async () => {
  let ranBetween = 0;
  const other = setInterval(() => ranBetween++, 0);
  try {
    await assertDigests(INLINE_HASHER);
  } finally {
    clearInterval(other);
  }
  assert.ok(ranBetween >= 1, "nothing else ran while slices were hashed");
});

Deno.test("WorkerHasher gives the same digests from two workers, holding this thread no longer than a timer tick", async () => {
  const hasher = new WorkerHasher(2);
  try {
    await assertDigests(hasher);
    // 64 MiB hashed off this thread: the event loop keeps turning meanwhile.
    const big = bytesOf(8 * 1024 * 1024, 5);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const digests = await Promise.all(Array.from({ length: 8 }, () => hasher.sha256(big)));
    clearInterval(timer);
    assert.ok(digests.every((d) => d === sha256(big)));
    assert.ok(ticks >= 2, `the timer fired ${ticks} times while 64 MiB were hashed`);
  } finally {
    hasher.close();
  }
});

Deno.test("WorkerHasher.close() fails the hashes still pending", async () => {
  const hasher = new WorkerHasher(1);
  const pending = hasher.sha256(bytesOf(8 * 1024 * 1024, 6));
  hasher.close();
  await assert.rejects(pending, /Hash worker terminated/);
});

Deno.test("WorkerHasher lends its few chunk-sized buffers in turn, and refuses more than a chunk at once", async () => {
  const hasher = new WorkerHasher(1); // two buffers
  try {
    const many = Array.from({ length: 6 }, (_, i) => bytesOf(8 * 1024 * 1024 - i, i));
    assert.deepEqual(await Promise.all(many.map((b) => hasher.sha256(b))), many.map(sha256));
    await assert.rejects(hasher.sha256(new Uint8Array(8 * 1024 * 1024 + 1)), /a chunk is at most/);
  } finally {
    hasher.close();
  }
});
