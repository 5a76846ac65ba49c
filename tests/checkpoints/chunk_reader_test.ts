/** Range selection: which slice of which chunk holds each byte of a range. */
import assert from "node:assert/strict";
import { slicesInRange } from "../../src/checkpoints/chunk_reader.ts";

const CHUNKS = [10, 10, 5].map((size, i) => ({ sha256: String(i).repeat(64), size }));

Deno.test("slicesInRange() takes only the chunks a range touches, cut to the range", () => {
  assert.deepEqual(slicesInRange(CHUNKS, 0, 25), [
    { index: 0, from: 0, to: 10 },
    { index: 1, from: 0, to: 10 },
    { index: 2, from: 0, to: 5 },
  ]);
  assert.deepEqual(slicesInRange(CHUNKS, 8, 12), [
    { index: 0, from: 8, to: 10 },
    { index: 1, from: 0, to: 2 },
  ]);
  assert.deepEqual(slicesInRange(CHUNKS, 10, 20), [{ index: 1, from: 0, to: 10 }]);
  assert.deepEqual(slicesInRange(CHUNKS, 24, 25), [{ index: 2, from: 4, to: 5 }]);
});

Deno.test("slicesInRange() of an empty range, or of no chunks, is empty", () => {
  assert.deepEqual(slicesInRange(CHUNKS, 25, 25), []);
  assert.deepEqual(slicesInRange(CHUNKS, 10, 10), []);
  assert.deepEqual(slicesInRange([], 0, 0), []);
});
