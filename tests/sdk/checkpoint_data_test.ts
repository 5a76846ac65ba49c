/**
 * Checkpoint bytes through a real runtime in every shape a save accepts
 * (Uint8Array, ReadableStream, async and sync iterables, files), a 64 MiB file
 * round trip streamed both ways, files that appear whole or not at all, and
 * the end-to-end check of loaded bytes against size and SHA-256. Listings as
 * async iterables over every page are here too.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { type Checkpoint, PulseError, type Runtime } from "@pulsecheckpoint/sdk";
import { verified } from "../../sdk/checkpoint_data.ts";
import { randomBytes, randomStream, sha256Hex } from "../support/bytes.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { grpcRequests, waitFor } from "./_helpers.ts";

const MIB = 1024 * 1024;

async function withRuntime(
  body: (rt: Runtime, runtime: RuntimeProcess) => Promise<void>,
): Promise<void> {
  const runtime = await startRuntime();
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    await body(rt, runtime);
  } finally {
    rt.close();
    await runtime.stop();
  }
}

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
  await withRuntime(async (rt) => {
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
  await withRuntime(async (rt) => {
    const dir = await Deno.makeTempDir({ prefix: "pulse-sdk-files-" });
    try {
      const target = `${dir}/state.bin`;
      await Deno.writeTextFile(target, "previous state");
      await assert.rejects(
        rt.loadCheckpointToFile("w1", target, {
          checkpointId: "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        }),
        (error) => error instanceof PulseError && error.code === "NOT_FOUND",
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

Deno.test("saveCheckpointFile() of a missing file or a directory fails before any call", async () => {
  await withRuntime(async (rt, runtime) => {
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(
        rt.saveCheckpointFile(`${dir}/missing.bin`, { workerId: "w1" }),
        (error) => (error as { code?: string }).code === "ENOENT",
      );
      await assert.rejects(
        rt.saveCheckpointFile(dir, { workerId: "w1" }),
        (error) =>
          error instanceof PulseError && error.code === "INVALID_ARGUMENT" &&
          error.message === `Cannot save checkpoint: ${dir} is not a file`,
      );
      assert.equal(await grpcRequests(runtime, "SaveCheckpoint"), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("saveCheckpoint() takes a ReadableStream, an async iterable and an iterable", async (t) => {
  await withRuntime(async (rt) => {
    const bytes = randomBytes(10 * MIB + 3);
    const pieces = [
      bytes.subarray(0, 1),
      bytes.subarray(1, 5 * MIB),
      bytes.subarray(5 * MIB),
    ];
    const shapes: [string, () => Parameters<Runtime["saveCheckpoint"]>[0]["data"]][] = [
      ["a ReadableStream pulled a piece at a time", () => {
        let next = 0;
        return new ReadableStream<Uint8Array>({
          pull(controller) {
            if (next < pieces.length) controller.enqueue(pieces[next++]!);
            else controller.close();
          },
        }, { highWaterMark: 0 });
      }],
      ["an async generator", () =>
        (async function* () {
          for (const piece of pieces) yield piece;
        })()],
      ["an array of pieces", () => pieces],
      ["a Node Readable of a file's Buffers", () => {
        const path = Deno.makeTempFileSync();
        Deno.writeFileSync(path, bytes);
        return createReadStream(path);
      }],
    ];
    for (const [name, data] of shapes) {
      await t.step(name, async () => {
        const saved = await rt.saveCheckpoint({ workerId: "w1", data: data() });
        assert.equal(saved.sizeBytes, bytes.length);
        assert.equal(saved.sha256, sha256Hex(bytes));
        const loaded = await rt.loadCheckpoint("w1", {
          checkpointId: saved.checkpointId,
        });
        assert.equal(sha256Hex(loaded.data), sha256Hex(bytes));
      });
    }
  });
});

Deno.test("a save whose stream fails rejects with the stream's error, cancels the source and commits nothing", async () => {
  await withRuntime(async (rt) => {
    const failure = new Error("disk on fire");
    let cancelled: unknown;
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 3) controller.enqueue(randomBytes(MIB));
        else controller.error(failure);
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    await assert.rejects(
      rt.saveCheckpoint({ workerId: "w1", data: stream }),
      failure,
    );
    assert.equal(cancelled, undefined); // an errored stream is not cancelled again
    assert.equal((await rt.listCheckpoints("w1")).items.length, 0);

    // A source the runtime stops reading (unknown worker) is cancelled.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(randomBytes(MIB));
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    await assert.rejects(
      rt.saveCheckpoint({ workerId: "ghost", data: endless }),
      (error) => error instanceof PulseError && error.code === "NOT_FOUND",
    );
    await waitFor("the source to be cancelled", () => cancelled !== undefined);
  });
});

Deno.test("loadCheckpointStream() streams the bytes as they are read", async () => {
  await withRuntime(async (rt) => {
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

Deno.test("a checkpoint larger than a load window is loaded in 32 MiB windows and arrives whole", async () => {
  await withRuntime(async (rt, runtime) => {
    const bytes = randomBytes(70 * MIB);
    await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    const loaded = await rt.loadCheckpoint("w1");
    assert.equal(sha256Hex(loaded.data), sha256Hex(bytes));
    // 32 + 32 + 6 MiB.
    assert.equal(await grpcRequests(runtime, "LoadCheckpoint"), 3);
  });
});

Deno.test("verified() passes matching bytes and fails short, long or altered ones with DATA_LOSS", async (t) => {
  const bytes = randomBytes(1000);
  const checkpoint: Checkpoint = {
    checkpointId: "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    workerId: "w1",
    sizeBytes: bytes.length,
    sha256: sha256Hex(bytes),
    metadata: {},
    idempotencyKey: "",
    createdAt: new Date(0),
  };
  async function drain(pieces: Uint8Array[]): Promise<number> {
    let total = 0;
    for await (const piece of verified(checkpoint, ReadableStream.from(pieces))) {
      total += piece.length;
    }
    return total;
  }
  await t.step("matching", async () => {
    assert.equal(
      await drain([bytes.subarray(0, 10), bytes.subarray(10)]),
      1000,
    );
  });
  const altered = bytes.slice();
  altered[500] = altered[500]! ^ 1;
  const cases: [string, Uint8Array[], RegExp][] = [
    ["short", [bytes.subarray(0, 999)], /it ended after 999 of 1000 bytes$/],
    ["long", [bytes, new Uint8Array(1)], /more than its 1000 bytes arrived$/],
    ["altered", [altered], /its bytes hash to [0-9a-f]{64}, not to [0-9a-f]{64}$/],
  ];
  for (const [name, pieces, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(drain(pieces), (error) => {
        assert.ok(error instanceof PulseError);
        assert.equal(error.code, "DATA_LOSS");
        assert.match(
          error.message,
          /^Cannot load checkpoint chk_01ARZ3NDEKTSV4RRFFQ69G5FAV: /,
        );
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

Deno.test("checkpoints(), workers() and datasets() iterate every page, and stop fetching on break", async () => {
  await withRuntime(async (rt, runtime) => {
    const ids: string[] = [];
    for (let step = 0; step < 7; step++) {
      const saved = await rt.saveCheckpoint({
        workerId: "w1",
        data: randomBytes(10),
        metadata: { step },
      });
      ids.push(saved.checkpointId);
    }
    const listed: string[] = [];
    for await (const c of rt.checkpoints("w1", { pageSize: 3 })) {
      listed.push(c.checkpointId);
    }
    assert.deepEqual(listed, [...ids].reverse());
    assert.equal(await grpcRequests(runtime, "ListCheckpoints"), 3);

    for await (const c of rt.checkpoints("w1", { pageSize: 3 })) {
      assert.equal(c.checkpointId, ids[6]);
      break;
    }
    assert.equal(await grpcRequests(runtime, "ListCheckpoints"), 4);

    for (const name of ["w2", "w3", "w4"]) await rt.registerWorker(name);
    for (const name of ["d1", "d2", "d3"]) {
      await rt.registerDataset(name, { path: `s3://bucket/${name}` });
    }
    const workers: string[] = [];
    for await (const w of rt.workers({ pageSize: 2 })) workers.push(w.workerId);
    assert.deepEqual(workers, ["w1", "w2", "w3", "w4"]);
    const datasets: string[] = [];
    for await (const d of rt.datasets({ pageSize: 2 })) datasets.push(d.path);
    assert.deepEqual(datasets, [
      "s3://bucket/d1",
      "s3://bucket/d2",
      "s3://bucket/d3",
    ]);
  });
});
