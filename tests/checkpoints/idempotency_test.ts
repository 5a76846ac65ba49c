/**
 * Idempotency records on a real fs store in a temporary directory: a claim is
 * found until deleted, a damaged one is DATA_LOSS naming its key, and saves
 * with one key run one after the other.
 */
import assert from "node:assert/strict";
import { newCheckpointId } from "../../src/checkpoints/checkpoint_id.ts";
import { Idempotency } from "../../src/checkpoints/idempotency.ts";
import { idempotencyRecordKeyOf } from "../../src/keys.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

async function setup() {
  const temp = await tempFsStore("pulse-idempotency-");
  return Object.assign(temp, { idempotency: new Idempotency(temp.store) });
}

Deno.test("claim() is found by find() for its worker and key until delete() of the checkpoint it names", async () => {
  await using s = await setup();
  const checkpointId = newCheckpointId();
  assert.equal(await s.idempotency.find("w1", "step-1"), undefined);
  await s.idempotency.claim("w1", "step-1", checkpointId);
  assert.equal(await s.idempotency.find("w1", "step-1"), checkpointId);
  assert.equal(await s.idempotency.find("w2", "step-1"), undefined);
  assert.equal(await s.idempotency.find("w1", "step-2"), undefined);
  // Only the claim of the checkpoint deleted goes.
  assert.equal(await s.idempotency.delete("w1", "step-1", newCheckpointId()), false);
  assert.equal(await s.idempotency.find("w1", "step-1"), checkpointId);
  assert.equal(await s.idempotency.delete("w1", "step-1", checkpointId), true);
  assert.equal(await s.idempotency.find("w1", "step-1"), undefined);
});

Deno.test("a damaged idempotency record is DATA_LOSS naming its key", async (t) => {
  await using s = await setup();
  const key = idempotencyRecordKeyOf("w1", "step-1");
  const damaged: [string, string, string][] = [
    ["not JSON", "{not json", "not a JSON object"],
    ["no checkpoint id", "{}", "checkpoint_id is not a string"],
    [
      "not a checkpoint id",
      JSON.stringify({ checkpoint_id: "../x" }),
      "checkpoint_id is not a checkpoint id",
    ],
  ];
  for (const [name, text, problem] of damaged) {
    await t.step(name, async () => {
      await s.store.put(key, new TextEncoder().encode(text));
      await assert.rejects(s.idempotency.find("w1", "step-1"), {
        name: "PulseError",
        code: "DATA_LOSS",
        message: `Cannot read idempotency record ${key}: ${problem}`,
      });
    });
  }
});

Deno.test("serialized() runs calls with one key one after the other, even after a failure, and others at once", async () => {
  await using s = await setup();
  const events: string[] = [];
  let releaseFirst!: () => void;
  const first = s.idempotency.serialized("w1", "k", async () => {
    events.push("first started");
    await new Promise<void>((resolve) => releaseFirst = resolve);
    events.push("first failed");
    throw new Error("first failed");
  });
  const second = s.idempotency.serialized("w1", "k", () => {
    events.push("second ran");
    return Promise.resolve(2);
  });
  const other = s.idempotency.serialized("w1", "other", () => {
    events.push("other ran");
    return Promise.resolve(3);
  });
  assert.equal(await other, 3);
  releaseFirst();
  await assert.rejects(first, /first failed/);
  assert.equal(await second, 2);
  assert.deepEqual(events, ["first started", "other ran", "first failed", "second ran"]);
});
