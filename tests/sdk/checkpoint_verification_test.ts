/**
 * Loaded bytes are checked chunk by chunk before any byte of a chunk reaches
 * the caller: the verifier on its own (pieces across chunk boundaries, and
 * every way bytes can be wrong), then loads from the fake runtime serving
 * altered, short and long bytes, a wrong SHA-256, a chunk list that does not
 * fit the size, and a checkpoint that changes between windows. Each failure
 * is DATA_LOSS naming the checkpoint (and the chunk), and the caller received
 * exactly the chunks before the bad one.
 */
import assert from "node:assert/strict";
import { type Checkpoint, PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { CHUNK_BYTES, LOAD_WINDOW_BYTES } from "@pulsecheckpoint/proto/protocol";
import { ChunkVerifier } from "../../sdk/checkpoint_load.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import {
  CHECKPOINT_ID,
  type FakeCheckpoint,
  type FakeRuntime,
  startFakeRuntime,
} from "./_fake_runtime.ts";

/** Three chunks and a short fourth one. */
const BYTES = randomBytes(3 * CHUNK_BYTES + 1000);
const CHUNKS = [0, 1, 2, 3].map((index) =>
  sha256Hex(BYTES.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES))
);

function checkpointOf(bytes: Uint8Array): Checkpoint {
  return {
    checkpointId: CHECKPOINT_ID,
    workerId: "w1",
    sizeBytes: bytes.length,
    sha256: sha256Hex(bytes),
    metadata: {},
    idempotencyKey: "",
    createdAt: new Date(0),
  };
}

// A copy of `bytes` with one bit flipped at `offset`.
function flipped(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = copy[offset]! ^ 1;
  return copy;
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return bytes;
}

// Compares lengths, then hashes: a failing deepEqual of 25 MiB arrays would
// take minutes to print.
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.length, expected.length);
  assert.equal(sha256Hex(actual), sha256Hex(expected));
}

function isDataLoss(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof PulseError, String(error));
    assert.equal(error.code, "DATA_LOSS");
    assert.match(error.message, new RegExp(`^Cannot load checkpoint ${CHECKPOINT_ID}: `));
    assert.match(error.message, message);
    return true;
  };
}

// Feeds `bytes` in pieces of `pieceBytes` and records what the verifier hands on.
function feed(
  verifier: ChunkVerifier,
  bytes: Uint8Array,
  pieceBytes: number,
): { released: Uint8Array[]; error?: unknown } {
  const released: Uint8Array[] = [];
  try {
    for (let offset = 0; offset < bytes.length; offset += pieceBytes) {
      released.push(...verifier.push(bytes.subarray(offset, offset + pieceBytes)));
    }
    released.push(...verifier.finish());
    return { released };
  } catch (error) {
    return { released, error };
  }
}

Deno.test("ChunkVerifier hands on each chunk in the piece that completes it, and the last one at the end", () => {
  const verifier = new ChunkVerifier(checkpointOf(BYTES), CHUNKS);
  // Pieces of 3 MiB + 1 byte: every chunk boundary falls inside a piece.
  const pieceBytes = 3 * 1024 * 1024 + 1;
  const handedOn: Uint8Array[] = [];
  const perPush: number[] = [];
  const expected: number[] = [];
  for (let offset = 0; offset < BYTES.length; offset += pieceBytes) {
    const pieces = verifier.push(BYTES.subarray(offset, offset + pieceBytes));
    handedOn.push(...pieces);
    perPush.push(concat(pieces).length);
    // Chunks 0 to 2 whose last byte is in this piece; chunk 3 is held.
    const ends = [1, 2, 3].filter((k) =>
      k * CHUNK_BYTES > offset && k * CHUNK_BYTES <= offset + pieceBytes
    );
    expected.push(ends.length * CHUNK_BYTES);
  }
  assert.deepEqual(perPush, expected);
  const last = verifier.finish();
  assert.equal(concat(last).length, 1000);
  assertSameBytes(concat([...handedOn, ...last]), BYTES);
});

Deno.test("ChunkVerifier holds back every byte of a chunk that fails, and of the last chunk until the end checks pass", async (t) => {
  const altered = flipped(BYTES, CHUNK_BYTES + 12345);
  const cases: [string, () => ReturnType<typeof feed>, RegExp, number][] = [
    [
      "a byte altered in chunk 1",
      () => feed(new ChunkVerifier(checkpointOf(BYTES), CHUNKS), altered, 1024 * 1024),
      /chunk 1 hashes to [0-9a-f]{64}, not to [0-9a-f]{64}$/,
      1,
    ],
    [
      "bytes that end inside chunk 2",
      () =>
        feed(
          new ChunkVerifier(checkpointOf(BYTES), CHUNKS),
          BYTES.subarray(0, 2 * CHUNK_BYTES + 7),
          1024 * 1024,
        ),
      new RegExp(`it ended after ${2 * CHUNK_BYTES + 7} of ${BYTES.length} bytes, in chunk 2$`),
      2,
    ],
    [
      "bytes past the last chunk",
      () => {
        const long = new Uint8Array(BYTES.length + 1);
        long.set(BYTES);
        return feed(new ChunkVerifier(checkpointOf(BYTES), CHUNKS), long, 1024 * 1024);
      },
      new RegExp(`more than its ${BYTES.length} bytes arrived$`),
      3,
    ],
    [
      "chunks that match their list but not the checkpoint's SHA-256",
      () => {
        const checkpoint = { ...checkpointOf(BYTES), sha256: "0".repeat(64) };
        return feed(new ChunkVerifier(checkpoint, CHUNKS), BYTES, 1024 * 1024);
      },
      /its bytes hash to [0-9a-f]{64}, not to 0{64}$/,
      3,
    ],
  ];
  for (const [name, run, message, chunksHandedOn] of cases) {
    await t.step(name, () => {
      const { released, error } = run();
      assert.ok(error !== undefined, "no error");
      isDataLoss(message)(error);
      assertSameBytes(concat(released), BYTES.subarray(0, chunksHandedOn * CHUNK_BYTES));
    });
  }
  await t.step("a chunk list that does not fit the size fails before any byte", () => {
    assert.throws(
      () => new ChunkVerifier(checkpointOf(BYTES), CHUNKS.slice(0, 3)),
      isDataLoss(new RegExp(`its chunk list names 3 chunks, its ${BYTES.length} bytes make 4$`)),
    );
  });
  await t.step("an empty checkpoint takes no byte", () => {
    const empty = new ChunkVerifier(checkpointOf(new Uint8Array()), []);
    assert.deepEqual(empty.finish(), []);
    assert.throws(
      () => new ChunkVerifier(checkpointOf(new Uint8Array()), []).push(new Uint8Array(1)),
      isDataLoss(/more than its 0 bytes arrived$/),
    );
  });
});

async function withFake(
  checkpoint: FakeCheckpoint,
  body: (rt: Runtime, fake: FakeRuntime) => Promise<void>,
): Promise<void> {
  const fake = await startFakeRuntime();
  fake.checkpoint = checkpoint;
  const rt = new Runtime(`grpc://${fake.address}`, { retry: false });
  try {
    await body(rt, fake);
  } finally {
    rt.close();
    await fake.close();
  }
}

// Loads the latest checkpoint as a stream; returns what reached the caller
// before the stream failed, and how it failed. A load that neither fails nor
// ends within 20 s fails the test (closing the client ends it).
async function loadUntilFailure(rt: Runtime): Promise<{ received: Uint8Array; error: unknown }> {
  const pieces: Uint8Array[] = [];
  const load = (async () => {
    const { stream } = await rt.loadCheckpointStream("w1");
    for await (const piece of stream) pieces.push(piece.slice());
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    load.then(() => "ended" as const, (error: unknown) => ({ error })),
    new Promise<"went on">((resolve) => timer = setTimeout(() => resolve("went on"), 20_000)),
  ]);
  clearTimeout(timer);
  if (typeof outcome === "string") {
    rt.close();
    await load.catch(() => {});
    throw new Error(`the load ${outcome} without an error, after ${concat(pieces).length} bytes`);
  }
  return { received: concat(pieces), error: outcome.error };
}

Deno.test("a load from a runtime that sends altered, short or long bytes fails with DATA_LOSS before any byte of the bad chunk", async (t) => {
  const altered = flipped(BYTES, 2 * CHUNK_BYTES + 99);
  const inserted = concat([
    BYTES.subarray(0, CHUNK_BYTES + 100),
    new Uint8Array(5),
    BYTES.subarray(CHUNK_BYTES + 100),
  ]);
  const cases: [string, FakeCheckpoint, RegExp, number][] = [
    ["a byte altered in chunk 2", { bytes: BYTES, served: altered }, /chunk 2 hashes to/, 2],
    [
      "bytes that stop inside chunk 1",
      { bytes: BYTES, served: BYTES.subarray(0, CHUNK_BYTES + 5) },
      new RegExp(
        `the runtime sent no bytes from offset ${CHUNK_BYTES + 5} \\(chunk 1\\), ${
          BYTES.length - CHUNK_BYTES - 5
        } bytes before its end$`,
      ),
      1,
    ],
    [
      "bytes past the end",
      { bytes: BYTES, served: concat([BYTES, new Uint8Array(10)]) },
      new RegExp(`more than its ${BYTES.length} bytes arrived$`),
      3,
    ],
    ["5 bytes more inside chunk 1", { bytes: BYTES, served: inserted }, /chunk 1 hashes to/, 1],
    [
      "a checkpoint SHA-256 its chunks do not make",
      { bytes: BYTES, sha256: "f".repeat(64) },
      /its bytes hash to [0-9a-f]{64}, not to f{64}$/,
      3,
    ],
  ];
  for (const [name, checkpoint, message, chunksReceived] of cases) {
    await t.step(name, async () => {
      await withFake(checkpoint, async (rt) => {
        const { received, error } = await loadUntilFailure(rt);
        isDataLoss(message)(error);
        assertSameBytes(received, BYTES.subarray(0, chunksReceived * CHUNK_BYTES));
        // loadCheckpoint() rejects the same way, with no bytes at all.
        await assert.rejects(rt.loadCheckpoint("w1"), isDataLoss(message));
      });
    });
  }
  await t.step("a chunk list that does not fit the size: no window is asked for", async () => {
    await withFake({ bytes: BYTES, chunkSha256s: CHUNKS.slice(1) }, async (rt, fake) => {
      await assert.rejects(rt.loadCheckpointStream("w1"), isDataLoss(/its chunk list names 3/));
      assert.equal(fake.loads.length, 0);
    });
  });
});

Deno.test("loadCheckpointToFile() of bytes that fail their chunk's hash leaves no file behind", async () => {
  const altered = flipped(BYTES, 5);
  await withFake({ bytes: BYTES, served: altered }, async (rt) => {
    const dir = await Deno.makeTempDir({ prefix: "pulse-sdk-verify-" });
    try {
      await assert.rejects(
        rt.loadCheckpointToFile("w1", `${dir}/state.bin`),
        isDataLoss(/chunk 0 hashes to/),
      );
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("a load of the latest checkpoint pins its id: every window asks for it, and a window describing another fails", async (t) => {
  const bytes = randomBytes(LOAD_WINDOW_BYTES + 1000);
  await t.step("every window asks for the id GetCheckpoint gave", async () => {
    await withFake({ bytes }, async (rt, fake) => {
      const { checkpoint, data } = await rt.loadCheckpoint("w1");
      assert.equal(checkpoint.checkpointId, CHECKPOINT_ID);
      assert.equal(sha256Hex(data), sha256Hex(bytes));
      assert.deepEqual(
        fake.gets.map((get) => [get.checkpoint_id, get.include_chunks]),
        [["", true]],
      );
      assert.deepEqual(
        fake.loads.map((load) => [load.checkpoint_id, load.offset, load.length]),
        [[CHECKPOINT_ID, 0, LOAD_WINDOW_BYTES], [
          CHECKPOINT_ID,
          LOAD_WINDOW_BYTES,
          LOAD_WINDOW_BYTES,
        ]],
      );
    });
  });
  await t.step("a second window that describes another checkpoint", async () => {
    const renamedFrom = {
      offset: LOAD_WINDOW_BYTES,
      checkpointId: "chk_01JOTHEROTHEROTHEROTHEROT",
    };
    await withFake({ bytes, renamedFrom }, async (rt) => {
      const { received, error } = await loadUntilFailure(rt);
      isDataLoss(/it changed between two windows of the load \(a window described chk_01JOTHER/)(
        error,
      );
      // The first window ends on a chunk boundary: all of it came through.
      assertSameBytes(received, bytes.subarray(0, LOAD_WINDOW_BYTES));
    });
  });
});
