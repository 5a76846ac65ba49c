/** Checkpoint ids sort by time; manifest sort keys sort newest first. */
import assert from "node:assert/strict";
import {
  canonicalCheckpointId,
  checkpointIdOf,
  isCheckpointId,
  newCheckpointId,
  sortKeyOf,
} from "../../src/checkpoints/checkpoint_id.ts";

Deno.test("newCheckpointId() makes ids that increase, even within one millisecond", () => {
  const ids = [
    newCheckpointId(1_000),
    newCheckpointId(1_000),
    newCheckpointId(1_001),
  ];
  const later = newCheckpointId(2_000_000_000_000);
  for (const id of [...ids, later]) assert.ok(isCheckpointId(id), id);
  assert.deepEqual([...ids].sort(), ids);
  assert.ok(ids[2]! < later);
});

Deno.test("sortKeyOf() reverses the order of ids and checkpointIdOf() inverts it", () => {
  const ids = Array.from(
    { length: 50 },
    (_, i) => newCheckpointId(Date.now() + i * 7),
  );
  const keys = ids.map(sortKeyOf);
  assert.deepEqual([...keys].sort(), [...keys].reverse());
  assert.deepEqual(keys.map(checkpointIdOf), ids);
});

Deno.test("isCheckpointId() refuses what is not chk_ + a ULID", () => {
  for (
    const value of [
      "",
      "chk_",
      "chk_0123",
      "CHK_01ARZ3NDEKTSV4RRFFQ69G5FAV",
      "chk_01ARZ3NDEKTSV4RRFFQ69G5FAI",
    ]
  ) {
    assert.equal(isCheckpointId(value), false, value);
  }
  assert.equal(isCheckpointId("chk_01ARZ3NDEKTSV4RRFFQ69G5FAV"), true);
});

Deno.test("canonicalCheckpointId() takes a ULID in any case, as Crockford base32 does, and refuses what is no id", () => {
  const id = newCheckpointId();
  assert.equal(canonicalCheckpointId(id), id);
  assert.equal(canonicalCheckpointId(`chk_${id.slice(4).toLowerCase()}`), id);
  assert.equal(canonicalCheckpointId(id.toUpperCase()), undefined, "the prefix is chk_");
  assert.equal(
    canonicalCheckpointId("chk_01jd3y0c8zb4q1z6w8kzv2n9xu"),
    undefined,
    "U is not base32",
  );
});
