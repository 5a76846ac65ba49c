/**
 * ChunkLeases: a leased chunk is never deleted, a hash leased at any time
 * while a collection is open stays protected from it, and a lease taken while
 * a deletion runs waits for that deletion to end.
 */
import assert from "node:assert/strict";
import { ChunkLeases } from "../../src/checkpoints/chunk_leases.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);

Deno.test("deleteIfFree() deletes a free chunk and skips a leased one", async () => {
  const leases = new ChunkLeases();
  await leases.acquire(A);
  const collection = leases.openCollection();
  const removed: string[] = [];
  const remove = (sha256: string) => () => {
    removed.push(sha256);
    return Promise.resolve();
  };
  assert.equal(await leases.deleteIfFree(A, collection, remove(A)), false);
  assert.equal(await leases.deleteIfFree(B, collection, remove(B)), true);
  assert.deepEqual(removed, [B]);
  collection.close();
});

Deno.test("a hash leased and released while a collection is open stays protected from it", async () => {
  const leases = new ChunkLeases();
  const collection = leases.openCollection();
  await leases.acquire(A); // a save that starts after the collector listed manifests...
  leases.release(A); // ...and commits before the sweep reaches its chunk
  assert.equal(leases.size, 0);
  assert.equal(collection.isProtected(A), true);
  assert.equal(await leases.deleteIfFree(A, collection, () => Promise.resolve()), false);
  collection.close();
  const next = leases.openCollection();
  assert.equal(next.isProtected(A), false, "a later run no longer protects it");
  next.close();
});

Deno.test("a lease taken during a deletion waits for the deletion to end", async () => {
  const leases = new ChunkLeases();
  const collection = leases.openCollection();
  let finishDeletion!: () => void;
  const events: string[] = [];
  const deletion = leases.deleteIfFree(
    A,
    collection,
    () => new Promise<void>((resolve) => (finishDeletion = resolve)),
  );
  const lease = leases.acquire(A).then(() => events.push("leased"));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(events.length, 0, "the lease waits while the chunk is being deleted");
  events.push("deleted");
  finishDeletion();
  await Promise.all([deletion, lease]);
  assert.deepEqual(events, ["deleted", "leased"]);
  collection.close();
});

Deno.test("leases are counted: a hash stays leased until every holder releases it", async () => {
  const leases = new ChunkLeases();
  await leases.acquire(A);
  await leases.acquire(A);
  leases.release(A);
  const collection = leases.openCollection();
  assert.equal(collection.isProtected(A), true);
  leases.release(A);
  collection.close();
  const later = leases.openCollection();
  assert.equal(later.isProtected(A), false);
  later.close();
});
