/**
 * Incremental saves through a real runtime: the SDK sends only the chunks the
 * worker's latest checkpoint lacks and names the others, the runtime takes
 * those from the base, and every checkpoint loads back byte-exact. The bytes
 * that crossed the wire are read from the runtime's own counters.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { toStruct } from "@pulsecheckpoint/proto";
import { chunksSha256 } from "@pulsecheckpoint/proto/protocol";
import { chunkKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { rawClient, rawSave, rawSaveError } from "../support/raw_client.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { metricSum } from "../support/s3_targets.ts";

// Bytes that arrived in data messages, and chunks taken from a base by name.
async function counters(runtime: RuntimeProcess) {
  return {
    received: await metricSum(runtime, "pulse_checkpoint_bytes_total", { operation: "save" }),
    named: await metricSum(runtime, "pulse_chunks_total", { result: "named" }),
  };
}

// Yields `bytes` in pieces of `size`, none aligned with a chunk.
function* inPieces(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield bytes.subarray(offset, offset + size);
  }
}

Deno.test("an incremental save sends only the changed chunks and loads back byte-exact", async (t) => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const first = randomBytes(3 * CHUNK_BYTES + 1000);
    const base = await rt.saveCheckpoint({ workerId: "w1", data: first });

    await t.step("from a Uint8Array: one changed chunk of four crosses the wire", async () => {
      const second = first.slice();
      second[CHUNK_BYTES + 5] = ~second[CHUNK_BYTES + 5]!;
      const before = await counters(runtime);
      const saved = await rt.saveCheckpoint({ workerId: "w1", data: second, incremental: true });
      const after = await counters(runtime);
      assert.equal(after.received - before.received, CHUNK_BYTES);
      assert.equal(after.named - before.named, 3);
      assert.equal(saved.sizeBytes, second.length);
      assert.equal(saved.sha256, sha256Hex(second));
      const loaded = await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
      assert.equal(sha256Hex(loaded.data), sha256Hex(second));
    });

    await t.step(
      "from a stream of unaligned pieces: only the changed last chunk is sent",
      async () => {
        const third = first.slice();
        third[third.length - 1] = ~third[third.length - 1]!;
        const before = await counters(runtime);
        const saved = await rt.saveCheckpoint({
          workerId: "w1",
          data: inPieces(third, 3 * 1024 * 1024 + 7),
          incremental: true,
        });
        const after = await counters(runtime);
        // The latest is now the save above, which shares chunks 0 and 2 with this one.
        assert.equal(after.received - before.received, CHUNK_BYTES + 1000);
        assert.equal(after.named - before.named, 2);
        assert.equal(saved.sha256, sha256Hex(third));
        const loaded = await rt.loadCheckpoint("w1");
        assert.equal(loaded.checkpoint.checkpointId, saved.checkpointId);
        assert.equal(sha256Hex(loaded.data), sha256Hex(third));
      },
    );

    await t.step("the base checkpoint is unharmed", async () => {
      const loaded = await rt.loadCheckpoint("w1", { checkpointId: base.checkpointId });
      assert.equal(sha256Hex(loaded.data), sha256Hex(first));
    });
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("an incremental save of a worker without checkpoints sends every byte", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const bytes = randomBytes(CHUNK_BYTES + 10);
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes, incremental: true });
    const { received, named } = await counters(runtime);
    assert.equal(received, bytes.length);
    assert.equal(named, 0);
    assert.equal(saved.sha256, sha256Hex(bytes));
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("a save that names chunks wrongly gets its status and commits nothing", async (t) => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  const raw = rawClient(runtime.grpcAddress);
  try {
    await rt.registerWorker("w1");
    await rt.registerWorker("w2");
    const full = randomBytes(CHUNK_BYTES);
    const short = randomBytes(100);
    const base = await rt.saveCheckpoint({
      workerId: "w1",
      data: new Uint8Array([...full, ...short]),
    });
    const other = await rt.saveCheckpoint({ workerId: "w2", data: randomBytes(100) });
    const [fullSha, shortSha] = [sha256Hex(full), sha256Hex(short)];
    const header = (baseId: string) => ({
      header: {
        worker_id: "w1",
        metadata: toStruct({}),
        expect_trailer: true,
        base_checkpoint_id: baseId,
      },
    });
    const trailer = (size: number, hashes: string[]) => ({
      trailer: { size_bytes: size, chunks_sha256: chunksSha256(hashes) },
    });
    const cases: [string, unknown[], grpc.status, RegExp][] = [
      [
        "a chunk named without a base",
        [header(""), { chunk_sha256: fullSha }],
        grpc.status.INVALID_ARGUMENT,
        /chunk_sha256 [0-9a-f]{64} at byte 0 names a chunk, but the header has no base_checkpoint_id/,
      ],
      [
        "a chunk the base does not have",
        [header(base.checkpointId), { chunk_sha256: sha256Hex(randomBytes(10)) }],
        grpc.status.INVALID_ARGUMENT,
        new RegExp(`at byte 0 is not a chunk of base checkpoint ${base.checkpointId}`),
      ],
      [
        "a chunk named within a chunk of bytes",
        [header(base.checkpointId), { data: new Uint8Array(5) }, { chunk_sha256: fullSha }],
        grpc.status.INVALID_ARGUMENT,
        /follows 5 bytes of a chunk; a named chunk must start at a chunk boundary/,
      ],
      [
        "bytes after a named chunk shorter than the chunk size",
        [
          header(base.checkpointId),
          { chunk_sha256: shortSha },
          { data: new Uint8Array(5) },
          trailer(105, [shortSha, sha256Hex(new Uint8Array(5))]),
        ],
        grpc.status.INVALID_ARGUMENT,
        /bytes follow chunk 0, which is shorter than 8388608 bytes; only the last chunk may be/,
      ],
      [
        "a base of another worker",
        [header(other.checkpointId), { chunk_sha256: fullSha }],
        grpc.status.NOT_FOUND,
        new RegExp(`checkpoint ${other.checkpointId} of worker w1 does not exist`),
      ],
      [
        "a trailer whose chunk list differs",
        [header(base.checkpointId), { chunk_sha256: fullSha }, trailer(CHUNK_BYTES, [shortSha])],
        grpc.status.DATA_LOSS,
        /not to trailer.chunks_sha256/,
      ],
    ];
    for (const [name, messages, code, details] of cases) {
      await t.step(name, async () => {
        const error = await rawSaveError(raw, messages);
        assert.equal(error.code, code, error.details);
        assert.match(error.details, details);
        assert.equal((await rt.latestCheckpoint("w1")).checkpointId, base.checkpointId);
      });
    }
    await t.step("named chunks in the base's order make the base's bytes again", async () => {
      const response = await rawSave(raw, [
        header(base.checkpointId),
        { chunk_sha256: fullSha },
        { chunk_sha256: shortSha },
        trailer(CHUNK_BYTES + 100, [fullSha, shortSha]),
      ]);
      assert.equal(response.checkpoint.sha256, base.sha256);
      const loaded = await rt.loadCheckpoint("w1");
      assert.equal(loaded.checkpoint.checkpointId, response.checkpoint.checkpoint_id);
      assert.equal(sha256Hex(loaded.data), base.sha256);
    });
  } finally {
    raw.close();
    rt.close();
    await runtime.stop();
  }
});

// Saves 3 chunks, damages the second in the store, then saves the bytes again
// (the first chunk changed) incrementally: the SDK must send the damaged
// chunk in full by itself, which restores the base too.
async function assertDamagedBaseChunkResent(damage: (path: string) => Promise<void>) {
  const runtime = await startRuntime();
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const first = randomBytes(3 * CHUNK_BYTES);
    const base = await rt.saveCheckpoint({ workerId: "w1", data: first });
    const damaged = sha256Hex(first.subarray(CHUNK_BYTES, 2 * CHUNK_BYTES));
    await damage(`${runtime.dir}/data/${chunkKeyOf(damaged)}`);
    await assert.rejects(rt.loadCheckpoint("w1"), { code: "DATA_LOSS" });

    const second = first.slice();
    second[0] = ~second[0]!;
    const before = await counters(runtime);
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: second, incremental: true });
    const after = await counters(runtime);
    assert.equal(saved.sha256, sha256Hex(second));
    // The runtime refused the first attempt (DATA_LOSS naming the chunk); the
    // save that committed sent the changed chunk and the damaged one in full
    // and named the last.
    assert.equal(after.received - before.received, 2 * CHUNK_BYTES);
    assert.deepEqual(
      (await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId })).data,
      second,
    );
    assert.deepEqual(
      (await rt.loadCheckpoint("w1", { checkpointId: base.checkpointId })).data,
      first,
    );
  } finally {
    rt.close();
    await runtime.stop();
  }
}

Deno.test("an incremental save whose base lost a chunk sends that chunk in full by itself, which restores the base", async () => {
  await assertDamagedBaseChunkResent((path) => Deno.remove(path));
});

Deno.test("an incremental save whose base has a rotten chunk sends that chunk in full by itself, which repairs the base too", async () => {
  await assertDamagedBaseChunkResent(async (path) => {
    const bytes = await Deno.readFile(path);
    bytes[4321] = ~bytes[4321]!;
    await Deno.writeFile(path, bytes);
  });
});
