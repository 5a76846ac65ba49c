/** Hashing in slices gives the digest of one update, and lets other calls run between slices. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { hashInSlices, sha256InSlices } from "../../src/checkpoints/hash_in_slices.ts";
import { HASH_SLICE_BYTES } from "../../src/limits.ts";

Deno.test("hashInSlices() gives the same digest as one update, and lets other work run between slices", async () => {
  const bytes = new Uint8Array(3 * HASH_SLICE_BYTES + 5).map((_, i) => i * 7);
  let ranBetween = 0;
  const other = setInterval(() => ranBetween++, 0);
  const sliced = (await hashInSlices(createHash("sha256"), bytes)).digest("hex");
  clearInterval(other);
  assert.equal(sliced, createHash("sha256").update(bytes).digest("hex"));
  assert.equal(await sha256InSlices(bytes), sliced);
  assert.ok(ranBetween >= 1, "nothing else ran while 4 slices were hashed");
});
