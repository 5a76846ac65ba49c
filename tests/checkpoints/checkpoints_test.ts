/**
 * Checkpoints on a real fs store in a temporary directory: commit order,
 * idempotency, deduplication, backpressure and verification on load.
 *
 * Two faults cannot be produced for real on a local disk as root (a chunk
 * write that fails, a write that stalls): for those, `FaultyStore` wraps the
 * real store and fails or holds `putIfAbsent` calls, and says so.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { newCheckpointId } from "../../src/checkpoints/checkpoint_id.ts";
import { Checkpoints } from "../../src/checkpoints/checkpoints.ts";
import type { ExpectedContent } from "../../src/checkpoints/content_problem.ts";
import { PulseError } from "../../src/errors.ts";
import { chunkKeyOf, idempotencyRecordKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { FsStore } from "../../src/storage/fs_store.ts";
import type { ObjectStore } from "../../src/storage/store.ts";

const MIB = 1024 * 1024;

/** What a client that stays and sends no trailer gives a save. */
const NO_TRAILER = { signal: new AbortController().signal, expected: Promise.resolve(undefined) };

/** Pseudo-random bytes (xorshift32): no two chunks alike. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

async function* inPieces(
  bytes: Uint8Array,
  pieceBytes = MIB,
): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += pieceBytes) {
    yield bytes.subarray(offset, offset + pieceBytes);
  }
}

async function readAll(data: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of data) parts.push(part);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Wraps a store so that chunk writes can be failed or held: faults a local disk cannot make. */
class FaultyStore implements ObjectStore {
  readonly description = "faulty";
  failChunkWrite = -1;
  held: (() => void)[] = [];
  hold = false;
  chunkWrites = 0;
  holdGets = false;
  heldGets: (() => void)[] = [];
  /** Awaited before each delete(). */
  beforeDelete: (key: string) => Promise<void> = () => Promise.resolve();
  constructor(readonly inner: ObjectStore) {}
  put(key: string, data: Uint8Array) {
    return this.inner.put(key, data);
  }
  async putIfAbsent(key: string, data: Uint8Array) {
    const index = this.chunkWrites++;
    if (index === this.failChunkWrite) {
      throw new PulseError("UNAVAILABLE", "injected fault");
    }
    if (this.hold) {
      await new Promise<void>((resolve) => this.held.push(resolve));
    }
    return this.inner.putIfAbsent(key, data);
  }
  async get(key: string, range?: { offset: number; length: number }) {
    if (this.holdGets && key.startsWith("chunks/")) {
      await new Promise<void>((resolve) => this.heldGets.push(resolve));
    }
    return this.inner.get(key, range);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  list(prefix: string, options?: { startAfter?: string; limit?: number }) {
    return this.inner.list(prefix, options);
  }
  async delete(key: string) {
    await this.beforeDelete(key);
    return this.inner.delete(key);
  }
  close() {
    return this.inner.close();
  }
}

async function setup(writesInFlight = 2, chunkBuffers = 16, chunkBufferWaitMs = 30_000) {
  const dir = await Deno.makeTempDir({ prefix: "pulse-checkpoints-" });
  const store = new FaultyStore(await FsStore.open(dir));
  const checkpoints = new Checkpoints(store, {
    writesInFlight,
    chunkBuffers,
    chunkBufferWaitMs,
    readsAhead: 2,
    checkpointBytesMax: 64 * CHUNK_BYTES,
    savesPerWorkerMax: 4,
    savesMax: 8,
    requireWorker: () => Promise.resolve(),
  });
  return {
    store,
    dir,
    checkpoints,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const header = { workerId: "w1", metadata: { epoch: 1 }, idempotencyKey: "" };

Deno.test("save() then load() round-trips the bytes and the description", async () => {
  await using s = await setup();
  const bytes = pattern(2 * CHUNK_BYTES + 3, 1);
  const saved = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  assert.equal(saved.sizeBytes, bytes.length);
  const { checkpoint, data } = await s.checkpoints.load("w1", "");
  assert.deepEqual(checkpoint, saved);
  assert.deepEqual(await readAll(data), bytes);
});

Deno.test("a checkpoint id given with its ULID in lower case names the same checkpoint", async () => {
  await using s = await setup();
  const saved = await s.checkpoints.save(header, inPieces(pattern(10, 2)), NO_TRAILER);
  const lower = `chk_${saved.checkpointId.slice(4).toLowerCase()}`;
  assert.deepEqual((await s.checkpoints.get("w1", lower)).checkpoint, saved);
  await s.checkpoints.delete("w1", lower);
  await assert.rejects(s.checkpoints.get("w1", saved.checkpointId), { code: "NOT_FOUND" });
});

Deno.test("save() writes no manifest when its source fails midway", async () => {
  await using s = await setup();
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield pattern(CHUNK_BYTES + 5, 2);
    throw new Error("client went away");
  }
  await assert.rejects(
    s.checkpoints.save(header, failing(), NO_TRAILER),
    /client went away/,
  );
  assert.deepEqual((await s.checkpoints.list("w1", 0, "")).checkpoints, []);
});

Deno.test("save() writes no manifest when a chunk write fails", async () => {
  await using s = await setup();
  s.store.failChunkWrite = 1;
  await assert.rejects(
    s.checkpoints.save(header, inPieces(pattern(3 * CHUNK_BYTES, 3)), NO_TRAILER),
    (error: unknown) => error instanceof PulseError && error.code === "UNAVAILABLE",
  );
  assert.deepEqual((await s.checkpoints.list("w1", 0, "")).checkpoints, []);
});

Deno.test("save() reads no further ahead than writesInFlight + 1 chunks of unfinished writes", async () => {
  await using s = await setup(2);
  s.store.hold = true;
  let pulledBytes = 0;
  const bytes = pattern(10 * CHUNK_BYTES, 4); // made before the clock below starts
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of inPieces(bytes)) {
      pulledBytes += piece.length;
      yield piece;
    }
  }
  const save = s.checkpoints.save(header, counted(), NO_TRAILER);
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Two writes held, a third chunk cut and waiting: nothing more is read.
  assert.equal(s.store.held.length, 2);
  assert.ok(pulledBytes <= 3 * CHUNK_BYTES, `pulled ${pulledBytes} bytes`);
  s.store.hold = false;
  for (const release of s.store.held.splice(0)) release();
  assert.equal((await save).sizeBytes, 10 * CHUNK_BYTES);
});

Deno.test("concurrent saves share the chunk buffers: never more chunks in memory than the pool, bytes intact after reuse", async () => {
  await using s = await setup(2, 3);
  s.store.hold = true;
  const sources = [1, 2, 3].map((seed) => pattern(4 * CHUNK_BYTES + seed, 10 + seed));
  const saves = sources.map((bytes, index) =>
    s.checkpoints.save({ ...header, workerId: `w${index}` }, inPieces(bytes), NO_TRAILER)
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Three saves of two writes in flight each would hold six; the pool has three.
  assert.equal(s.store.held.length, 3);
  s.store.hold = false;
  for (const release of s.store.held.splice(0)) release();
  const saved = await Promise.all(saves);
  for (const [index, bytes] of sources.entries()) {
    const { data } = await s.checkpoints.load(`w${index}`, saved[index]!.checkpointId);
    assert.deepEqual(await readAll(data), bytes);
  }
});

Deno.test("save() with a used idempotency key returns the first checkpoint, reading nothing", async () => {
  await using s = await setup();
  const keyed = { ...header, idempotencyKey: "step-100" };
  const first = await s.checkpoints.save(keyed, inPieces(pattern(1000, 5)), NO_TRAILER);
  let read = false;
  async function* untouched(): AsyncGenerator<Uint8Array> {
    read = true;
    yield new Uint8Array(1);
  }
  assert.deepEqual(await s.checkpoints.save(keyed, untouched(), NO_TRAILER), first);
  assert.equal(read, false);
  assert.equal((await s.checkpoints.list("w1", 0, "")).checkpoints.length, 1);
});

Deno.test("concurrent saves with one idempotency key make one checkpoint", async () => {
  await using s = await setup();
  const keyed = { ...header, idempotencyKey: "same" };
  const results = await Promise.all(
    [1, 2, 3].map((seed) =>
      s.checkpoints.save(keyed, inPieces(pattern(CHUNK_BYTES, seed)), NO_TRAILER)
    ),
  );
  assert.equal(new Set(results.map((c) => c.checkpointId)).size, 1);
  assert.equal((await s.checkpoints.list("w1", 0, "")).checkpoints.length, 1);
});

Deno.test("saving the same bytes twice writes each chunk once", async () => {
  await using s = await setup();
  const bytes = new Uint8Array(3 * CHUNK_BYTES).fill(6); // three equal chunks
  const a = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  const b = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  assert.notEqual(a.checkpointId, b.checkpointId);
  assert.equal(a.sha256, b.sha256);
  const chunkFiles = await s.store.list("chunks/");
  assert.equal(chunkFiles.length, 1); // six chunks saved, all equal: one file
});

Deno.test("list() pages newest first and get() finds each by id", async () => {
  await using s = await setup();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      (await s.checkpoints.save(header, inPieces(pattern(10, i)), NO_TRAILER)).checkpointId,
    );
  }
  const first = await s.checkpoints.list("w1", 2, "");
  const second = await s.checkpoints.list("w1", 2, first.nextPageToken);
  const third = await s.checkpoints.list("w1", 2, second.nextPageToken);
  const listed = [
    ...first.checkpoints,
    ...second.checkpoints,
    ...third.checkpoints,
  ];
  assert.deepEqual(listed.map((c) => c.checkpointId), [...ids].reverse());
  assert.equal(third.nextPageToken, "");
  assert.equal((await s.checkpoints.get("w1", ids[2]!)).checkpoint.checkpointId, ids[2]);
  assert.equal((await s.checkpoints.get("w1", "")).checkpoint.checkpointId, ids[4]);
});

Deno.test("delete() removes a checkpoint from get, load and list", async () => {
  await using s = await setup();
  const a = await s.checkpoints.save(header, inPieces(pattern(10, 1)), NO_TRAILER);
  const b = await s.checkpoints.save(header, inPieces(pattern(10, 2)), NO_TRAILER);
  await s.checkpoints.delete("w1", b.checkpointId);
  assert.equal(
    (await s.checkpoints.get("w1", "")).checkpoint.checkpointId,
    a.checkpointId,
  );
  await assert.rejects(s.checkpoints.get("w1", b.checkpointId), {
    code: "NOT_FOUND",
  });
  await assert.rejects(s.checkpoints.delete("w1", b.checkpointId), {
    code: "NOT_FOUND",
  });
});

Deno.test("load() fails with data_loss naming the checkpoint before yielding a flipped chunk", async () => {
  await using s = await setup();
  const bytes = pattern(2 * CHUNK_BYTES, 7);
  const saved = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  const manifest = JSON.parse(
    new TextDecoder().decode(
      (await s.store.get((await s.store.list("checkpoints/w1/"))[0]!.key))!,
    ),
  );
  const second = `${s.dir}/${chunkKeyOf(manifest.chunks[1].sha256)}`;
  const onDisk = await Deno.readFile(second);
  onDisk[12345] = onDisk[12345]! ^ 0x01;
  await Deno.writeFile(second, onDisk);

  const { data } = await s.checkpoints.load("w1", saved.checkpointId);
  const first = await data.next();
  assert.deepEqual(first.value, bytes.subarray(0, CHUNK_BYTES)); // intact chunk 0
  await assert.rejects(
    data.next(),
    (error: unknown) =>
      error instanceof PulseError && error.code === "DATA_LOSS" &&
      error.message ===
        `Cannot load checkpoint ${saved.checkpointId}: chunk 1 (${
          manifest.chunks[1].sha256
        }) fails its SHA-256 check`,
  );
});

Deno.test("load() with a range yields exactly those bytes, across chunk boundaries", async () => {
  await using s = await setup();
  const bytes = pattern(3 * CHUNK_BYTES + 10, 8);
  const saved = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  const ranges: [number, number][] = [
    [0, 0], // all
    [5, 10],
    [CHUNK_BYTES - 3, 6], // straddles chunks 0 and 1
    [CHUNK_BYTES, CHUNK_BYTES], // exactly chunk 1
    [2 * CHUNK_BYTES + 1, 0], // from inside chunk 2 to the end
    [3 * CHUNK_BYTES + 9, 100], // the last byte; length past the end is cut
    [bytes.length, 0], // at the end: nothing
  ];
  for (const [offset, length] of ranges) {
    const { data } = await s.checkpoints.load("w1", saved.checkpointId, { offset, length });
    const end = length === 0 ? bytes.length : Math.min(bytes.length, offset + length);
    assert.deepEqual(await readAll(data), bytes.subarray(offset, end), `${offset}+${length}`);
  }
  await assert.rejects(
    s.checkpoints.load("w1", saved.checkpointId, { offset: bytes.length + 1, length: 0 }),
    (error: unknown) =>
      error instanceof PulseError && error.code === "INVALID_ARGUMENT" &&
      error.message.endsWith(`offset ${bytes.length + 1} is beyond its size ${bytes.length}`),
  );
});

Deno.test("save() refuses a checkpoint above checkpointBytesMax, writing no manifest", async () => {
  await using s = await setup();
  await assert.rejects(
    s.checkpoints.save(header, inPieces(new Uint8Array(64 * CHUNK_BYTES + 1)), NO_TRAILER),
    (error: unknown) =>
      error instanceof PulseError && error.code === "RESOURCE_EXHAUSTED" &&
      error.message ===
        `Cannot save checkpoint: it is larger than ${
          64 * CHUNK_BYTES
        } bytes, the limit (limits.checkpoint_bytes_max)`,
  );
  assert.deepEqual((await s.checkpoints.list("w1", 0, "")).checkpoints, []);
  // Exactly at the limit is allowed.
  const saved = await s.checkpoints.save(
    header,
    inPieces(new Uint8Array(64 * CHUNK_BYTES)),
    NO_TRAILER,
  );
  assert.equal(saved.sizeBytes, 64 * CHUNK_BYTES);
});

Deno.test("save() refuses saves beyond the per-worker and total limits, and frees them after", async () => {
  await using s = await setup();
  s.store.hold = true;
  const held = Array.from(
    { length: 4 },
    () => s.checkpoints.save(header, inPieces(pattern(CHUNK_BYTES, 1)), NO_TRAILER),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  await assert.rejects(
    s.checkpoints.save(header, inPieces(pattern(10, 2)), NO_TRAILER),
    {
      code: "RESOURCE_EXHAUSTED",
      message:
        "Cannot save checkpoint: worker w1 has 4 saves in progress, limit is 4 (limits.saves_per_worker_max)",
    },
  );
  const others = Array.from(
    { length: 4 },
    (_, i) =>
      s.checkpoints.save(
        { ...header, workerId: `w${i + 2}` },
        inPieces(pattern(CHUNK_BYTES, 3)),
        NO_TRAILER,
      ),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  await assert.rejects(
    s.checkpoints.save({ ...header, workerId: "w9" }, inPieces(pattern(10, 4)), NO_TRAILER),
    {
      code: "UNAVAILABLE",
      message:
        "Cannot save checkpoint: 8 saves are in progress, limit is 8 (limits.saves_max); retry later",
    },
  );
  s.store.hold = false;
  for (const release of s.store.held.splice(0)) release();
  await Promise.all([...held, ...others]);
  await s.checkpoints.save(header, inPieces(pattern(10, 5)), NO_TRAILER); // admitted again
});

Deno.test("save() compares the bytes with what the client says once its data has ended, committing only a match", async (t) => {
  await using s = await setup();
  const bytes = pattern(CHUNK_BYTES + 7, 9);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  // As the gRPC boundary does: `expected` is resolved by the end of the data.
  const saveSaying = (said: ExpectedContent) => {
    let ended!: () => void;
    const expected = new Promise<ExpectedContent>((resolve) => ended = () => resolve(said));
    async function* data(): AsyncGenerator<Uint8Array> {
      yield* inPieces(bytes);
      ended();
    }
    return s.checkpoints.save(header, data(), { signal: NO_TRAILER.signal, expected });
  };
  await t.step("another size: INVALID_ARGUMENT, nothing committed", async () => {
    await assert.rejects(
      saveSaying({ sizeBytes: bytes.length + 1, sha256: "", chunksSha256: "" }),
      { code: "INVALID_ARGUMENT", message: /^Cannot save checkpoint: trailer\.size_bytes is / },
    );
    assert.deepEqual((await s.checkpoints.list("w1", 0, "")).checkpoints, []);
  });
  await t.step("another SHA-256: DATA_LOSS, nothing committed", async () => {
    await assert.rejects(
      saveSaying({ sizeBytes: bytes.length, sha256: "0".repeat(64), chunksSha256: "" }),
      { code: "DATA_LOSS", message: /not to trailer\.sha256 0{64}; nothing was committed$/ },
    );
    assert.deepEqual((await s.checkpoints.list("w1", 0, "")).checkpoints, []);
  });
  await t.step("the same bytes: committed", async () => {
    const saved = await saveSaying({ sizeBytes: bytes.length, sha256, chunksSha256: "" });
    assert.equal(saved.sha256, sha256);
    const { data } = await s.checkpoints.load("w1", saved.checkpointId);
    assert.deepEqual(await readAll(data), bytes);
  });
});

Deno.test("save() commits nothing once its signal has fired, even when the client never says what it sent", async (t) => {
  await using s = await setup();
  const aborted = {
    code: "ABORTED",
    message: "Cannot save checkpoint: the client cancelled the call before it completed",
  };
  await t.step("fired while the data came", async () => {
    const cancel = new AbortController();
    async function* data(): AsyncGenerator<Uint8Array> {
      yield pattern(CHUNK_BYTES, 10);
      cancel.abort();
      yield pattern(10, 11);
    }
    await assert.rejects(
      s.checkpoints.save(header, data(), {
        signal: cancel.signal,
        expected: Promise.resolve(undefined),
      }),
      aborted,
    );
  });
  await t.step("fired while the save waits for what the client says", async () => {
    const cancel = new AbortController();
    const never = new Promise<undefined>(() => {});
    async function* data(): AsyncGenerator<Uint8Array> {
      yield pattern(100, 12);
      setTimeout(() => cancel.abort(), 50);
    }
    await assert.rejects(
      s.checkpoints.save(header, data(), { signal: cancel.signal, expected: never }),
      aborted,
    );
  });
  assert.deepEqual((await s.checkpoints.list("w1", 0, "")).checkpoints, []);
});

Deno.test("a rejected expected is never an unhandled rejection, whether the save awaits it or not", async () => {
  await using s = await setup();
  const rejected = () => Promise.reject(new Error("the trailer never came"));
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield pattern(10, 13);
    throw new Error("client went away");
  }
  // Fails before it awaits `expected`.
  await assert.rejects(
    s.checkpoints.save(header, failing(), { signal: NO_TRAILER.signal, expected: rejected() }),
    /client went away/,
  );
  // Awaits it: its error fails the save.
  await assert.rejects(
    s.checkpoints.save(header, inPieces(pattern(10, 14)), {
      signal: NO_TRAILER.signal,
      expected: rejected(),
    }),
    /the trailer never came/,
  );
  // Never awaits it: an earlier save with the key is returned.
  const keyed = { ...header, idempotencyKey: "k" };
  const first = await s.checkpoints.save(keyed, inPieces(pattern(10, 15)), NO_TRAILER);
  assert.deepEqual(
    await s.checkpoints.save(keyed, inPieces(pattern(10, 16)), {
      signal: NO_TRAILER.signal,
      expected: rejected(),
    }),
    first,
  );
  // Unhandled rejections fail the test once its promises have settled.
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal((await s.checkpoints.list("w1", 0, "")).checkpoints.length, 1);
});

Deno.test("save() with a damaged idempotency record fails with DATA_LOSS naming its key, saving nothing", async () => {
  await using s = await setup();
  const key = idempotencyRecordKeyOf("w1", "step-1");
  await s.store.put(key, new TextEncoder().encode("{not json"));
  await assert.rejects(
    s.checkpoints.save(
      { ...header, idempotencyKey: "step-1" },
      inPieces(pattern(10, 17)),
      NO_TRAILER,
    ),
    { code: "DATA_LOSS", message: `Cannot read idempotency record ${key}: not a JSON object` },
  );
  assert.deepEqual((await s.checkpoints.list("w1", 0, "")).checkpoints, []);
});

Deno.test("delete() keeps the idempotency claim of a retry that found the checkpoint gone: a later retry returns the retry's checkpoint", async () => {
  await using s = await setup();
  const keyed = { ...header, idempotencyKey: "step-7" };
  const first = await s.checkpoints.save(keyed, inPieces(pattern(100, 18)), NO_TRAILER);
  // The deletion of the idempotency record is held, after the manifest's.
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  s.store.beforeDelete = (key) => key.startsWith("idempotency/") ? held : Promise.resolve();
  const deleted = s.checkpoints.delete("w1", first.checkpointId);
  await new Promise((resolve) => setTimeout(resolve, 50));
  // A retry of the first save comes meanwhile.
  const retry = s.checkpoints.save(keyed, inPieces(pattern(100, 18)), NO_TRAILER);
  await Promise.race([retry, new Promise((resolve) => setTimeout(resolve, 500))]);
  release();
  await deleted;
  const retried = await retry;
  assert.notEqual(retried.checkpointId, first.checkpointId);
  s.store.beforeDelete = () => Promise.resolve();
  // A later retry finds the retry's checkpoint: no duplicate.
  const later = await s.checkpoints.save(keyed, inPieces(pattern(100, 18)), NO_TRAILER);
  assert.equal(later.checkpointId, retried.checkpointId);
  assert.deepEqual(
    (await s.checkpoints.list("w1", 0, "")).checkpoints.map((c) => c.checkpointId),
    [retried.checkpointId],
  );
});

Deno.test("delete() leaves an idempotency record that names another checkpoint (a claim made in another runtime)", async () => {
  await using s = await setup();
  const keyed = { ...header, idempotencyKey: "step-8" };
  const first = await s.checkpoints.save(keyed, inPieces(pattern(100, 19)), NO_TRAILER);
  const key = idempotencyRecordKeyOf("w1", "step-8");
  const other = newCheckpointId();
  await s.store.put(key, new TextEncoder().encode(JSON.stringify({ checkpoint_id: other })));
  await s.checkpoints.delete("w1", first.checkpointId);
  await assert.rejects(s.checkpoints.get("w1", first.checkpointId), { code: "NOT_FOUND" });
  assert.deepEqual(
    JSON.parse(new TextDecoder().decode(await s.store.get(key))),
    { checkpoint_id: other },
  );
  // The record of a checkpoint that is deleted goes with it.
  const second = await s.checkpoints.save(
    { ...header, idempotencyKey: "step-9" },
    inPieces(pattern(100, 20)),
    NO_TRAILER,
  );
  await s.checkpoints.delete("w1", second.checkpointId);
  assert.equal(await s.store.get(idempotencyRecordKeyOf("w1", "step-9")), undefined);
});

// A source that sends `first` (if any), then waits for `open()` before sending `rest`.
function gatedSource(first: Uint8Array | undefined, rest: Uint8Array) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  async function* data(): AsyncGenerator<Uint8Array> {
    if (first !== undefined) yield first;
    await gate;
    yield rest;
  }
  return { data: data(), open };
}

// Settles as `promise` does, or rejects once `ms` have passed: a wait that
// never ends fails the test instead of hanging it.
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test("a save that waits chunkBufferWaitMs for a chunk buffer fails with UNAVAILABLE naming the setting, committing nothing", async () => {
  await using s = await setup(2, 1, 200);
  // The one buffer is held by a save that sent 10 bytes and stalls.
  const stalled = gatedSource(pattern(10, 21), pattern(10, 22));
  const holder = s.checkpoints.save(header, stalled.data, NO_TRAILER);
  try {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(
      within(
        s.checkpoints.save({ ...header, workerId: "w2" }, inPieces(pattern(10, 23)), NO_TRAILER),
        5000,
      ),
      {
        code: "UNAVAILABLE",
        message:
          "Cannot save checkpoint: no chunk buffer came free within 200 ms (storage.chunk_buffer_wait_ms); all 1 (storage.chunk_buffers) are held by other saves; the runtime is busy, retry later",
      },
    );
    assert.deepEqual((await s.checkpoints.list("w2", 0, "")).checkpoints, []);
  } finally {
    stalled.open();
  }
  assert.equal((await holder).sizeBytes, 20);
  // The buffer is free again for the next save.
  const next = await s.checkpoints.save(
    { ...header, workerId: "w2" },
    inPieces(pattern(10, 24)),
    NO_TRAILER,
  );
  assert.equal(next.sizeBytes, 10);
});

Deno.test("an aborted save stops waiting for a chunk buffer at once, with ABORTED", async () => {
  await using s = await setup(2, 1, 60_000);
  const stalled = gatedSource(pattern(10, 25), pattern(10, 26));
  const holder = s.checkpoints.save(header, stalled.data, NO_TRAILER);
  try {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cancel = new AbortController();
    const waiting = s.checkpoints.save(
      { ...header, workerId: "w2" },
      inPieces(pattern(10, 27)),
      { signal: cancel.signal, expected: Promise.resolve(undefined) },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    cancel.abort();
    await assert.rejects(within(waiting, 2000), {
      code: "ABORTED",
      message:
        "Cannot save checkpoint: the client cancelled the call while the save waited for a chunk buffer",
    });
    assert.ok(performance.now() - started < 1000);
  } finally {
    stalled.open();
  }
  await holder;
  const next = await s.checkpoints.save(
    { ...header, workerId: "w2" },
    inPieces(pattern(10, 28)),
    NO_TRAILER,
  );
  assert.equal(next.sizeBytes, 10);
});

Deno.test("a save holds no chunk buffer before its first data byte arrives", async () => {
  await using s = await setup(2, 1, 60_000);
  // Header in, no byte yet (an empty data message does not count).
  const silent = gatedSource(new Uint8Array(0), pattern(10, 29));
  const waiting = s.checkpoints.save(header, silent.data, NO_TRAILER);
  try {
    // Another save takes the one buffer, again and again, and commits.
    const bytes = pattern(3 * CHUNK_BYTES + 1, 30);
    const other = await within(
      s.checkpoints.save({ ...header, workerId: "w2" }, inPieces(bytes), NO_TRAILER),
      10_000,
    );
    const { data } = await s.checkpoints.load("w2", other.checkpointId);
    assert.deepEqual(await readAll(data), bytes);
  } finally {
    silent.open();
  }
  assert.equal((await waiting).sizeBytes, 10);
});

// The chunk hashes of a worker's latest manifest, as stored.
async function chunksOfLatest(store: ObjectStore, workerId: string): Promise<string[]> {
  const [latest] = await store.list(`checkpoints/${workerId}/`, { limit: 1 });
  const manifest = JSON.parse(new TextDecoder().decode(await store.get(latest!.key)));
  return manifest.chunks.map((chunk: { sha256: string }) => chunk.sha256);
}

// Flips one bit of a stored chunk's file, as a disk that rots would.
async function flipByte(dir: string, sha256: string, at: number): Promise<void> {
  const path = `${dir}/${chunkKeyOf(sha256)}`;
  const bytes = await Deno.readFile(path);
  bytes[at] = bytes[at]! ^ 0x10;
  await Deno.writeFile(path, bytes);
}

Deno.test("a full save of bytes whose stored chunk rotted rewrites the chunk from the bytes it was sent: both checkpoints load", async () => {
  await using s = await setup();
  const bytes = pattern(2 * CHUNK_BYTES + 100, 31);
  const first = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  const [, rotten] = await chunksOfLatest(s.store, "w1");
  await flipByte(s.dir, rotten!, 4321);
  await assert.rejects(readAll((await s.checkpoints.load("w1", first.checkpointId)).data), {
    code: "DATA_LOSS",
  });

  const second = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  assert.equal(second.sha256, first.sha256);
  assert.deepEqual(
    await Deno.readFile(`${s.dir}/${chunkKeyOf(rotten!)}`),
    bytes.subarray(CHUNK_BYTES, 2 * CHUNK_BYTES),
  );
  for (const saved of [first, second]) {
    assert.deepEqual(
      await readAll((await s.checkpoints.load("w1", saved.checkpointId)).data),
      bytes,
    );
  }
});

Deno.test("a full save finds a stored chunk that is short or long, too, and rewrites it", async () => {
  await using s = await setup();
  const bytes = pattern(2 * CHUNK_BYTES, 32);
  await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  const [shortened, lengthened] = await chunksOfLatest(s.store, "w1");
  await Deno.truncate(`${s.dir}/${chunkKeyOf(shortened!)}`, CHUNK_BYTES - 1);
  await Deno.writeFile(`${s.dir}/${chunkKeyOf(lengthened!)}`, new Uint8Array([7]), {
    append: true,
  });
  const second = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  assert.deepEqual(
    await readAll((await s.checkpoints.load("w1", second.checkpointId)).data),
    bytes,
  );
});

Deno.test("an incremental save naming a rotten chunk of its base fails with DATA_LOSS naming the chunk, committing nothing", async () => {
  await using s = await setup();
  const bytes = pattern(2 * CHUNK_BYTES + 100, 33);
  const base = await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  const chunks = await chunksOfLatest(s.store, "w1");
  await flipByte(s.dir, chunks[0]!, 99);
  async function* named(): AsyncGenerator<Uint8Array | { sha256: string }> {
    yield { sha256: chunks[0]! };
    yield { sha256: chunks[1]! };
    yield bytes.subarray(2 * CHUNK_BYTES);
  }
  await assert.rejects(
    s.checkpoints.save({ ...header, baseCheckpointId: base.checkpointId }, named(), NO_TRAILER),
    {
      code: "DATA_LOSS",
      message: `Cannot save checkpoint: chunk ${
        chunks[0]
      } of base checkpoint ${base.checkpointId} fails its SHA-256 check; send it in full`,
    },
  );
  assert.deepEqual(
    (await s.checkpoints.list("w1", 0, "")).checkpoints.map((c) => c.checkpointId),
    [base.checkpointId],
  );
  // Sent in full, the chunk is repaired, and the base loads again.
  await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  assert.deepEqual(await readAll((await s.checkpoints.load("w1", base.checkpointId)).data), bytes);
});

Deno.test("verifying deduplicated chunks happens within the write slots: a save reads no further ahead while verifications wait", async () => {
  await using s = await setup(2);
  const bytes = pattern(10 * CHUNK_BYTES, 34);
  await s.checkpoints.save(header, inPieces(bytes), NO_TRAILER);
  s.store.holdGets = true;
  let pulledBytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of inPieces(bytes)) {
      pulledBytes += piece.length;
      yield piece;
    }
  }
  const save = s.checkpoints.save(header, counted(), NO_TRAILER);
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Two verifications held (every chunk is stored already), a third chunk cut and waiting.
  assert.equal(s.store.heldGets.length, 2);
  assert.ok(pulledBytes <= 3 * CHUNK_BYTES, `pulled ${pulledBytes} bytes`);
  s.store.holdGets = false;
  for (const release of s.store.heldGets.splice(0)) release();
  assert.equal((await save).sizeBytes, 10 * CHUNK_BYTES);
});
