/** The storage layout: keys are what DESIGN.md says, and parse back to what built them. */
import assert from "node:assert/strict";
import { newCheckpointId } from "../src/checkpoints/checkpoint_id.ts";
import {
  checkpointIdOfKey,
  CHUNK_FAN_OUT_PREFIXES,
  chunkHashOfKey,
  chunkKeyOf,
  datasetKeyOf,
  idempotencyRecordKeyOf,
  isManifestKey,
  ledgerKeyOf,
  manifestKeyOf,
  manifestPrefixOf,
  workerKeyOf,
} from "../src/keys.ts";

const SHA256 = "ab" + "0".repeat(62);

Deno.test("chunk keys fan out by the first byte of the hash, and only well-formed ones parse back", () => {
  assert.equal(chunkKeyOf(SHA256), `chunks/ab/${SHA256}`);
  assert.equal(chunkHashOfKey(chunkKeyOf(SHA256)), SHA256);
  assert.equal(chunkHashOfKey(`chunks/cd/${SHA256}`), undefined, "under the wrong fan-out");
  assert.equal(chunkHashOfKey(`chunks/ab/${SHA256.toUpperCase()}`), undefined);
  assert.equal(chunkHashOfKey(`chunks/ab/${SHA256}.tmp`), undefined);
  assert.equal(CHUNK_FAN_OUT_PREFIXES.length, 256);
  assert.deepEqual(
    [CHUNK_FAN_OUT_PREFIXES[0], CHUNK_FAN_OUT_PREFIXES[171], CHUNK_FAN_OUT_PREFIXES[255]],
    ["chunks/00/", "chunks/ab/", "chunks/ff/"],
  );
  assert.deepEqual([...CHUNK_FAN_OUT_PREFIXES].sort(), CHUNK_FAN_OUT_PREFIXES);
});

Deno.test("manifest keys sort newest first and give back their checkpoint id", () => {
  const older = newCheckpointId(1_000);
  const newer = newCheckpointId(2_000);
  const keys = [manifestKeyOf("w1", older), manifestKeyOf("w1", newer)];
  assert.ok(keys.every((key) => key.startsWith(manifestPrefixOf("w1")) && isManifestKey(key)));
  assert.deepEqual([...keys].sort(), [keys[1], keys[0]]);
  assert.deepEqual(keys.map(checkpointIdOfKey), [older, newer]);
  assert.equal(isManifestKey("checkpoints/w1/notes.txt"), false);
});

Deno.test("records of workers, datasets, idempotency keys and retention have one key each", () => {
  assert.equal(workerKeyOf("w1"), "workers/w1.json");
  assert.equal(datasetKeyOf("d.1"), "datasets/d.1.json");
  assert.equal(ledgerKeyOf("w1"), "retention/w1.json");
  // Idempotency keys are free text: the key holds their SHA-256.
  assert.match(idempotencyRecordKeyOf("w1", "step 10/x"), /^idempotency\/w1\/[0-9a-f]{64}\.json$/);
  assert.notEqual(idempotencyRecordKeyOf("w1", "a"), idempotencyRecordKeyOf("w1", "b"));
});
