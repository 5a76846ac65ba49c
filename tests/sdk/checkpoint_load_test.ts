/**
 * Loads through a real runtime: a 64 MiB file round trip streamed both ways,
 * files that appear whole or not at all, streams read as they are consumed,
 * and loads in windows. How loaded bytes are checked is in
 * checkpoint_verification_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { PulseError } from "@pulsecheckpoint/sdk";
import { LOAD_WINDOW_BYTES } from "@pulsecheckpoint/proto/protocol";
import { randomBytes, randomStream, sha256Hex } from "../support/bytes.ts";
import { grpcRequests, withWorker } from "./_helpers.ts";

const MIB = 1024 * 1024;

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const piece of createReadStream(path)) hash.update(piece);
  return hash.digest("hex");
}

// Writes `size` random bytes to `path` a MiB at a time; returns their SHA-256.
async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const file = createWriteStream(path);
  for await (const piece of randomStream(size)) {
    hash.update(piece);
    if (!file.write(piece)) await once(file, "drain");
  }
  file.end();
  await once(file, "finish");
  return hash.digest("hex");
}

Deno.test("a 64 MiB file round-trips through saveCheckpointFile() and loadCheckpointToFile()", async () => {
  await withWorker(async (rt) => {
    const dir = await Deno.makeTempDir({ prefix: "pulse-sdk-files-" });
    try {
      const source = `${dir}/model.bin`;
      const sha256 = await writeRandomFile(source, 64 * MIB);
      const saved = await rt.saveCheckpointFile(source, {
        workerId: "w1",
        metadata: { step: 1000 },
      });
      assert.equal(saved.sizeBytes, 64 * MIB);
      assert.equal(saved.sha256, sha256);
      assert.deepEqual(saved.metadata, { step: 1000 });

      const target = `${dir}/restored.bin`;
      const loaded = await rt.loadCheckpointToFile("w1", target);
      assert.deepEqual(loaded, saved);
      assert.equal((await Deno.stat(target)).size, 64 * MIB);
      assert.equal(await fileSha256(target), sha256);
      // Nothing else is left in the directory: the temporary file was renamed.
      const names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
      assert.deepEqual(names.sort(), ["model.bin", "restored.bin"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("loadCheckpointToFile() replaces an existing file only once the load succeeded", async () => {
  await withWorker(async (rt) => {
    const dir = await Deno.makeTempDir({ prefix: "pulse-sdk-files-" });
    try {
      const target = `${dir}/state.bin`;
      await Deno.writeTextFile(target, "previous state");
      await assert.rejects(
        rt.loadCheckpointToFile("w1", target, {
          checkpointId: "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        }),
        // The GetCheckpoint that starts the load failed: its message says
        // what the caller asked for.
        (error) =>
          error instanceof PulseError && error.code === "NOT_FOUND" &&
          error.message ===
            "Cannot load checkpoint: checkpoint chk_01ARZ3NDEKTSV4RRFFQ69G5FAV of worker w1 does not exist",
      );
      assert.equal(await Deno.readTextFile(target), "previous state");
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
        "state.bin",
      ]);

      const bytes = randomBytes(3 * MIB + 5);
      await rt.saveCheckpoint({ workerId: "w1", data: bytes });
      await rt.loadCheckpointToFile("w1", target);
      assert.deepEqual(await Deno.readFile(target), bytes);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("loadCheckpointStream() streams the bytes as they are read", async () => {
  await withWorker(async (rt) => {
    const bytes = randomBytes(20 * MIB);
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    const { checkpoint, stream } = await rt.loadCheckpointStream("w1");
    assert.deepEqual(checkpoint, saved);
    let received = 0;
    let pieces = 0;
    for await (const piece of stream) {
      assert.ok(piece.length <= MIB);
      assert.deepEqual(piece, bytes.subarray(received, received + piece.length));
      received += piece.length;
      pieces++;
    }
    assert.equal(received, bytes.length);
    assert.ok(pieces >= 20);
  });
});

Deno.test("a checkpoint larger than a load window is loaded in windows of LOAD_WINDOW_BYTES and arrives whole", async () => {
  await withWorker(async (rt, runtime) => {
    // Two windows and a part of one (32 + 32 + 6 MiB today).
    const bytes = randomBytes(2 * LOAD_WINDOW_BYTES + 6 * MIB);
    await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    const loaded = await rt.loadCheckpoint("w1");
    assert.equal(sha256Hex(loaded.data), sha256Hex(bytes));
    assert.equal(await grpcRequests(runtime, "LoadCheckpoint"), 3);
  });
});
