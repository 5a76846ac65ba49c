/**
 * The product description's flow through the SDK built for Node, run by
 * `node` against a real runtime (see ../node_test.ts): register a worker
 * (with automatic heartbeats) and a dataset, save checkpoints from bytes, a
 * ReadableStream, an async iterable and a file, load them back (whole,
 * streamed, to a file), list them, heartbeat, fail with a typed error,
 * deregister, and close through `await using`.
 *
 * Usage: node seed_flow.js <address>. Prints one JSON line of results.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";

const MIB = 1024 * 1024;
const address = process.argv[2];
if (address === undefined) throw new Error("usage: seed_flow.js <address>");

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const random = (size: number) => {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
};

await using rt = new Runtime(address, { token: "node-token" });
const worker = await rt.registerWorker("worker-1", {
  metadata: { gpu: "A100", memory: "80GB" },
  heartbeat: true,
});
assert.equal(worker.state, "ACTIVE");
assert.deepEqual(worker.metadata, { gpu: "A100", memory: "80GB" });

const dataset = await rt.registerDataset("training-data", {
  path: "s3://bucket/data",
});
assert.equal(dataset.path, "s3://bucket/data");

const bytes = new TextEncoder().encode("model-state-bytes");
const saved = await rt.saveCheckpoint({
  workerId: "worker-1",
  data: bytes,
  metadata: { epoch: 10, loss: 0.001 },
});
assert.match(saved.checkpointId, /^chk_[0-9A-Z]{26}$/);
assert.equal(saved.sha256, sha256(bytes));

const beat = await rt.heartbeat("worker-1");
assert.ok(beat.heartbeatIntervalMs > 0);

const loaded = await rt.loadCheckpoint("worker-1");
assert.deepEqual(loaded.checkpoint, saved);
assert.deepEqual(loaded.data, bytes);

const big = random(12 * MIB + 3);
const fromStream = await rt.saveCheckpoint({
  workerId: "worker-1",
  data: ReadableStream.from([big.subarray(0, 5 * MIB), big.subarray(5 * MIB)]),
});
assert.equal(fromStream.sha256, sha256(big));
const fromIterable = await rt.saveCheckpoint({
  workerId: "worker-1",
  data: (async function* () {
    yield big.subarray(0, 1);
    yield big.subarray(1);
  })(),
});
assert.equal(fromIterable.sha256, sha256(big));

const streamed = await rt.loadCheckpointStream("worker-1", {
  checkpointId: fromStream.checkpointId,
});
const hash = createHash("sha256");
for await (const piece of streamed.stream) hash.update(piece);
assert.equal(hash.digest("hex"), sha256(big));

const dir = await mkdtemp(join(tmpdir(), "pulse-node-"));
try {
  await writeFile(join(dir, "model.bin"), big);
  const fromFile = await rt.saveCheckpointFile(join(dir, "model.bin"), {
    workerId: "worker-1",
    metadata: { step: 3 },
  });
  assert.equal(fromFile.sha256, sha256(big));
  const toFile = await rt.loadCheckpointToFile(
    "worker-1",
    join(dir, "restored.bin"),
  );
  assert.equal(toFile.checkpointId, fromFile.checkpointId);
  assert.equal(sha256(await readFile(join(dir, "restored.bin"))), sha256(big));
} finally {
  await rm(dir, { recursive: true });
}

const listed: string[] = [];
for await (const c of rt.checkpoints("worker-1", { pageSize: 2 })) {
  listed.push(c.checkpointId);
}
assert.equal(listed.length, 4);
assert.equal(listed.at(-1), saved.checkpointId);
const page = await rt.listCheckpoints("worker-1", { pageSize: 3 });
assert.equal(page.items.length, 3);
assert.notEqual(page.nextPageToken, "");

await assert.rejects(rt.getWorker("nobody"), (error) => {
  assert.ok(error instanceof PulseError);
  assert.equal(error.code, "NOT_FOUND");
  return true;
});

await rt.deregisterWorker("worker-1");
console.log(JSON.stringify({
  checkpointId: saved.checkpointId,
  checkpoints: listed.length,
  node: process.version,
}));
