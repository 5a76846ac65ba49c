/**
 * The direct path through the SDK built for Node, run by `node` against a
 * real runtime on S3 (see ../node_test.ts): saves 3 chunks and a bit from a
 * Uint8Array and from a Node Readable, loads both back, and prints their
 * SHA-256s; the test checks on the runtime's metrics that the bytes went
 * straight to the bucket (Node 20's global fetch).
 *
 * Usage: node direct.js <address>; prints one JSON line.
 */
import { createHash } from "node:crypto";
import process from "node:process";
import { Readable } from "node:stream";
import { Runtime } from "@pulsecheckpoint/sdk";

const CHUNK = 8 * 1024 * 1024;
const bytes = new Uint8Array(3 * CHUNK + 1234);
for (let offset = 0; offset < bytes.length; offset += 65536) {
  crypto.getRandomValues(bytes.subarray(offset, Math.min(bytes.length, offset + 65536)));
}
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
await using rt = new Runtime(process.argv[2]!, {
  onFallback: (fallback) => console.error(`fell back: ${fallback.reason}`),
});
await rt.registerWorker("node-direct");
const whole = await rt.saveCheckpoint({ workerId: "node-direct", data: bytes });
const streamed = await rt.saveCheckpoint({
  workerId: "node-direct",
  data: Readable.from([bytes.subarray(0, 5_000_000), bytes.subarray(5_000_000)]),
});
const loaded = await rt.loadCheckpoint("node-direct", { checkpointId: whole.checkpointId });
const again = await rt.loadCheckpoint("node-direct", { checkpointId: streamed.checkpointId });
console.log(JSON.stringify({
  sent: sha256(bytes),
  saved: [whole.sha256, streamed.sha256],
  loaded: [sha256(loaded.data), sha256(again.data)],
  size: bytes.length,
}));
