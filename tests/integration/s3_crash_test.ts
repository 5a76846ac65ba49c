/**
 * The runtime process killed with SIGKILL in the middle of an upload to S3,
 * then started again (in a new directory: all state is in the bucket).
 *
 * A TCP relay slows what the runtime sends to S3 during the doomed save, so
 * that it is still uploading when the first of its chunks is seen in the
 * bucket; the kill comes then, cutting chunk PUTs in the middle of their
 * bodies. Afterwards: no partial checkpoint is listed or stored, the same
 * save retried with the same idempotency key completes (sending again only
 * the chunks that were durable whole) and makes one checkpoint for that key,
 * and saves repeated with a key that already succeeded return the same
 * checkpoint across restarts.
 *
 * Known deviation: s3rver keeps the body of a PUT whose connection was cut
 * (a torn object, shorter than sent); S3, moto and SeaweedFS discard it. The
 * runtime compares a chunk that exists with the bytes it was sent before
 * reusing it, so the retry would rewrite a torn chunk (counted as
 * `rewritten`, not `deduplicated`). On s3rver only, torn chunks are deleted
 * before the restart, so that the counts below are the same on every server.
 *
 * Each case runs against s3rver (started here) and every server named in
 * PULSE_TEST_S3_SERVERS (see `tests/support/s3_targets.ts`).
 */
import assert from "node:assert/strict";
import { type Checkpoint, PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import type { RuntimeProcess } from "../support/runtime.ts";
import {
  assertSameBytes,
  deleteObject,
  listKeys,
  listSizes,
  loadBytes,
  metricSum,
  type S3Target,
  s3TestServers,
  startS3Runtime,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";
import { startTcpRelay } from "../support/tcp_relay.ts";

const MIB = 1024 * 1024;
const CHUNK_BYTES = 8 * MIB;
// Twelve chunks, sent slowly: the upload takes seconds, the kill comes early.
const DOOMED_BYTES = 96 * MIB;
const DOOMED_UPLOAD_BYTES_PER_SECOND = 16 * MIB;
// How long the chunks in the bucket must stay the same after the kill before
// they are counted: PUTs whose last byte left before the kill may still land.
const SETTLED_MS = 1000;
// Servers known to keep the body of a PUT cut in the middle (see above).
const KEEPS_CUT_UPLOADS = new Set(["s3rver"]);

function clientWithoutRetries(runtime: RuntimeProcess): Runtime {
  // The stream path: the bytes go through the runtime and its S3 client, which this test follows.
  return new Runtime(`grpc://${runtime.grpcAddress}`, { retry: false, directTransfer: false });
}

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] SIGKILL during an upload leaves no partial checkpoint, and the save retried with its key completes once`, async () => {
    await withTarget(server, "crash", async (target) => {
      const acked = randomBytes(3 * MIB);
      const doomed = randomBytes(DOOMED_BYTES);
      const doomedChunks = chunkKeysOf(doomed);

      // First life: one acknowledged save, then one killed mid-upload.
      const relay = await startTcpRelay(target.endpoint);
      const first = await startS3Runtime(target, { endpoint: relay.endpoint });
      const rt = clientWithoutRetries(first);
      let ackedCheckpoint: Checkpoint;
      try {
        await rt.registerWorker("w1");
        ackedCheckpoint = await rt.saveCheckpoint({
          workerId: "w1",
          data: acked,
          idempotencyKey: "step-1",
        });
        relay.uploadBytesPerSecond = DOOMED_UPLOAD_BYTES_PER_SECOND;
        const cut = rt.saveCheckpoint({ workerId: "w1", data: doomed, idempotencyKey: "step-2" })
          .then(() => undefined, (error: unknown) => error);
        await waitFor(async () => (await durable(target, doomedChunks)).length > 0);
        await first.kill();
        const error = await cut;
        assert.ok(error instanceof PulseError, `the save was not cut by the kill: ${error}`);
        console.log(`  ${server.name}: the client saw ${error.code}: ${error.message}`);
      } finally {
        rt.close();
        await first.kill();
        await Deno.remove(first.dir, { recursive: true });
        await relay.close();
      }
      // PUTs whose last byte left before the kill may still complete.
      await settle(target);
      await removeTornChunks(target, server.name, doomedChunks);
      const survivingChunks = await durable(target, doomedChunks);
      console.log(
        `  ${server.name}: ${survivingChunks.length} of ${doomedChunks.length} chunks were durable at the kill`,
      );
      assert.ok(survivingChunks.length > 0 && survivingChunks.length < doomedChunks.length);
      assert.equal((await listKeys(target, "checkpoints/w1/")).length, 1, "one manifest: step-1");

      // Second life, straight to the server.
      const second = await startS3Runtime(target);
      const rt2 = clientWithoutRetries(second);
      let retried: Checkpoint;
      try {
        const listed = (await rt2.listCheckpoints("w1")).items;
        assert.deepEqual(listed, [ackedCheckpoint]);

        retried = await rt2.saveCheckpoint({
          workerId: "w1",
          data: doomed,
          idempotencyKey: "step-2",
        });
        assert.equal(retried.sha256, sha256Hex(doomed));
        assert.equal(retried.idempotencyKey, "step-2");
        // What was durable was not sent again.
        assert.equal(
          await metricSum(second, "pulse_chunks_total", { result: "deduplicated" }),
          survivingChunks.length,
        );
        assertSameBytes(await loadBytes(rt2, "w1", retried.checkpointId), doomed, "retried save");
        assert.deepEqual(
          await rt2.saveCheckpoint({ workerId: "w1", data: doomed, idempotencyKey: "step-2" }),
          retried,
        );
        // Acknowledged before the kill: the same checkpoint, not a second one.
        assert.deepEqual(
          await rt2.saveCheckpoint({ workerId: "w1", data: acked, idempotencyKey: "step-1" }),
          ackedCheckpoint,
        );
        await assertOneCheckpointPerKey(rt2, ["step-2", "step-1"]);
      } finally {
        rt2.close();
        assert.equal(await stopRuntime(second), 0);
      }

      // Third life: both keys still answer with their checkpoints.
      const third = await startS3Runtime(target);
      const rt3 = clientWithoutRetries(third);
      try {
        assert.deepEqual(
          await rt3.saveCheckpoint({ workerId: "w1", data: doomed, idempotencyKey: "step-2" }),
          retried,
        );
        assert.deepEqual(
          await rt3.saveCheckpoint({ workerId: "w1", data: acked, idempotencyKey: "step-1" }),
          ackedCheckpoint,
        );
        await assertOneCheckpointPerKey(rt3, ["step-2", "step-1"]);
        assertSameBytes(await loadBytes(rt3, "w1", ackedCheckpoint.checkpointId), acked, "step-1");
        assert.equal((await listKeys(target, "checkpoints/w1/")).length, 2);
      } finally {
        rt3.close();
        assert.equal(await stopRuntime(third), 0);
      }
    });
  });
}

// The keys of the chunks `bytes` is cut into (see the storage layout).
function chunkKeysOf(bytes: Uint8Array): string[] {
  const keys: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    const sha256 = sha256Hex(bytes.subarray(offset, offset + CHUNK_BYTES));
    keys.push(`chunks/${sha256.slice(0, 2)}/${sha256}`);
  }
  return keys;
}

// Which of the chunks `keys` (all of CHUNK_BYTES) are stored whole in the bucket.
async function durable(target: S3Target, keys: string[]): Promise<string[]> {
  const sizes = await listSizes(target, "chunks/");
  return keys.filter((key) => sizes.get(key) === CHUNK_BYTES);
}

// Waits until the bucket's chunks stay the same for SETTLED_MS.
async function settle(target: S3Target): Promise<void> {
  const snapshot = async () => JSON.stringify([...(await listSizes(target, "chunks/"))].sort());
  const deadline = Date.now() + 30_000;
  let last = await snapshot();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SETTLED_MS));
    const now = await snapshot();
    if (now === last) return;
    if (Date.now() > deadline) throw new Error("the bucket's chunks did not settle in 30 s");
    last = now;
  }
}

// Deletes the chunks of `keys` stored shorter than CHUNK_BYTES, on servers
// known to keep cut uploads; anywhere else, a torn chunk fails the test.
async function removeTornChunks(target: S3Target, server: string, keys: string[]): Promise<void> {
  const sizes = await listSizes(target, "chunks/");
  const torn = keys.filter((key) => sizes.has(key) && sizes.get(key) !== CHUNK_BYTES);
  if (torn.length === 0) return;
  const described = torn.map((key) => `${key}: ${sizes.get(key)} bytes`).join(", ");
  assert.ok(KEEPS_CUT_UPLOADS.has(server), `${server} stored torn chunks: ${described}`);
  console.log(`  ${server}: keeps cut uploads; deleting torn chunks ${described}`);
  for (const key of torn) await deleteObject(target, key);
}

// The worker's checkpoints, newest first, are one per key of `keys`, in that order.
async function assertOneCheckpointPerKey(rt: Runtime, keys: string[]): Promise<void> {
  const listed = (await rt.listCheckpoints("w1", { pageSize: 100 })).items;
  assert.deepEqual(listed.map((c) => c.idempotencyKey), keys);
}

// Polls `condition` every 20 ms for up to 30 s.
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in 30 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
