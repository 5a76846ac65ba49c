/**
 * Scrubber on a real fs store in a temporary directory, with checkpoints
 * saved through `Checkpoints`: chunk files are damaged on disk by flipping a
 * byte, as a rotting disk would, and every finding is checked against what
 * was saved. (The same through a runtime process and its Scrub call is in
 * tests/integration/scrub_test.ts.)
 */
import assert from "node:assert/strict";
import { Checkpoints } from "../../src/checkpoints/checkpoints.ts";
import { type BadChunk, Scrubber } from "../../src/checkpoints/scrubber.ts";
import { PulseError } from "../../src/errors.ts";
import { chunkKeyOf, quarantineKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { StoreLeases } from "../../src/checkpoints/store_leases.ts";
import type { ObjectStore } from "../../src/storage/store.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

const NO_TRAILER = { signal: new AbortController().signal, expected: Promise.resolve(undefined) };

/** Pseudo-random bytes (xorshift32) from a seed: no two chunks alike across seeds. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (seed * 2654435761 + 1) | 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function readAll(data: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of data) parts.push(part);
  return concat(...parts);
}

async function setup() {
  const temp = await tempFsStore("pulse-scrubber-");
  const checkpoints = new Checkpoints(temp.store, {
    writesInFlight: 2,
    chunkBuffers: 8,
    chunkBufferWaitMs: 30_000,
    readsAhead: 2,
    checkpointBytesMax: 64 * CHUNK_BYTES,
    savesPerWorkerMax: 4,
    savesMax: 8,
    requireWorker: () => Promise.resolve(),
  });
  const scrubber = new Scrubber(temp.store, checkpoints.chunkLeases);
  const save = (workerId: string, bytes: Uint8Array) =>
    checkpoints.save({ workerId, metadata: {}, idempotencyKey: "" }, once(bytes), NO_TRAILER);
  const chunksOf = async (workerId: string, checkpointId: string) =>
    (await checkpoints.get(workerId, checkpointId)).chunks.map((chunk) => chunk.sha256);
  // Flips one bit of a chunk's file; returns the damaged bytes.
  const rot = async (sha256: string) => {
    const path = `${temp.dir}/${chunkKeyOf(sha256)}`;
    const bytes = await Deno.readFile(path);
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0x04;
    await Deno.writeFile(path, bytes);
    return bytes;
  };
  return Object.assign(temp, { checkpoints, scrubber, save, chunksOf, rot });
}

// The findings of a report by chunk, without what varies from run to run.
function findings(badChunks: BadChunk[]) {
  return Object.fromEntries(badChunks.map((bad) => [bad.sha256, {
    problem: bad.problem,
    checkpoints: bad.checkpoints.map((ref) => `${ref.workerId}/${ref.checkpointId}`),
    checkpointsTotal: bad.checkpointsTotal,
    moved: bad.quarantineKey !== "",
  }]));
}

Deno.test("scrub() reports each corrupt chunk with the checkpoints it breaks and moves it aside; a save of its bytes repairs them", async () => {
  await using s = await setup();
  const [x0, x1, xTail, y1] = [
    pattern(CHUNK_BYTES, 1),
    pattern(CHUNK_BYTES, 2),
    pattern(100, 3),
    pattern(CHUNK_BYTES, 4),
  ];
  const x = concat(x0, x1, xTail);
  const y = concat(x0, y1); // shares its first chunk with x
  const a1 = await s.save("w1", x);
  const a2 = await s.save("w1", x);
  const b = await s.save("w2", y);
  const [sha0, sha1] = await s.chunksOf("w1", a1.checkpointId);
  const damaged0 = await s.rot(sha0!);
  await s.rot(sha1!);
  const refs = (...checkpoints: [string, string][]) => checkpoints.map(([w, id]) => `${w}/${id}`);
  const sorted = (list: string[]) => [...list].sort();
  const broken = (moved: boolean, problem = "corrupt") => ({
    [sha0!]: {
      problem,
      checkpoints: sorted(
        refs(["w1", a1.checkpointId], ["w1", a2.checkpointId], ["w2", b.checkpointId]),
      ),
      checkpointsTotal: 3,
      moved,
    },
    [sha1!]: {
      problem,
      checkpoints: sorted(refs(["w1", a1.checkpointId], ["w1", a2.checkpointId])),
      checkpointsTotal: 2,
      moved,
    },
  });

  const dry = await s.scrubber.scrub({ dryRun: true });
  assert.deepEqual(findings(dry.badChunks), broken(false));
  assert.deepEqual(
    [dry.chunksScanned, dry.chunksCorrupt, dry.chunksMissing, dry.chunksQuarantined],
    [4, 2, 0, 0],
  );
  assert.equal(dry.checkpointsBroken, 3);
  assert.equal(dry.manifestsScanned, 3);
  assert.deepEqual(await Deno.readFile(`${s.dir}/${chunkKeyOf(sha0!)}`), damaged0, "not moved");

  const moved = await s.scrubber.scrub();
  assert.deepEqual(findings(moved.badChunks), broken(true));
  assert.equal(moved.chunksQuarantined, 2);
  assert.equal(await s.store.head(chunkKeyOf(sha0!)), undefined);
  assert.deepEqual(await s.store.get(quarantineKeyOf(sha0!)), damaged0, "kept for a look");
  await assert.rejects(readAll((await s.checkpoints.load("w2", b.checkpointId)).data), {
    code: "DATA_LOSS",
    message: `Cannot load checkpoint ${b.checkpointId}: chunk 0 (${sha0}) is missing`,
  });

  // Until a save repairs them, the next scrub finds them missing.
  const again = await s.scrubber.scrub();
  assert.deepEqual(findings(again.badChunks), broken(false, "missing"));
  assert.deepEqual([again.chunksCorrupt, again.chunksMissing], [0, 2]);

  await s.save("w3", x); // has the bytes of both
  for (const [worker, saved, bytes] of [["w1", a1, x], ["w1", a2, x], ["w2", b, y]] as const) {
    assert.deepEqual(
      await readAll((await s.checkpoints.load(worker, saved.checkpointId)).data),
      bytes,
    );
  }
  const clean = await s.scrubber.scrub();
  assert.deepEqual([clean.chunksCorrupt, clean.chunksMissing, clean.checkpointsBroken], [0, 0, 0]);
  assert.equal(clean.chunksScanned, 4);
});

Deno.test("scrub() leaves a corrupt chunk that a save holds where it is, and says so", async () => {
  await using s = await setup();
  const saved = await s.save("w1", pattern(1000, 5));
  const [sha] = await s.chunksOf("w1", saved.checkpointId);
  await s.rot(sha!);
  await s.checkpoints.chunkLeases.acquire(sha!); // as a save writing it would
  try {
    const report = await s.scrubber.scrub();
    assert.equal(report.badChunks.length, 1);
    assert.deepEqual(
      [report.badChunks[0]!.inUse, report.badChunks[0]!.quarantineKey, report.chunksQuarantined],
      [true, "", 0],
    );
    assert.notEqual(await s.store.head(chunkKeyOf(sha!)), undefined);
  } finally {
    s.checkpoints.chunkLeases.release(sha!);
  }
});

Deno.test("one scrub runs at a time, and a scrub whose signal fired stops with ABORTED", async () => {
  await using s = await setup();
  await s.save("w1", pattern(1000, 6));
  const first = s.scrubber.scrub();
  await assert.rejects(
    s.scrubber.scrub(),
    (error: unknown) =>
      error instanceof PulseError && error.code === "FAILED_PRECONDITION" &&
      /^Cannot scrub: a scrub is already running \(since \S+Z\); wait for it to finish$/.test(
        error.message,
      ),
  );
  assert.equal((await first).chunksScanned, 1);
  const cancelled = new AbortController();
  cancelled.abort();
  await assert.rejects(s.scrubber.scrub({ signal: cancelled.signal }), {
    code: "ABORTED",
    message:
      "Cannot scrub: the call was cancelled or the runtime is shutting down; nothing more is moved",
  });
  assert.equal((await s.scrubber.scrub()).chunksScanned, 1, "a scrub runs again after");
});

Deno.test("scrub() fails with DATA_LOSS naming a manifest it cannot read, moving nothing", async () => {
  await using s = await setup();
  const saved = await s.save("w1", pattern(1000, 7));
  const [sha] = await s.chunksOf("w1", saved.checkpointId);
  await s.rot(sha!);
  const key = (await s.store.list("checkpoints/w1/"))[0]!.key;
  await s.store.put(key, new TextEncoder().encode("{not json"));
  await assert.rejects(s.scrubber.scrub(), {
    code: "DATA_LOSS",
    message: `Cannot scrub: Cannot read manifest ${key}: not a JSON object; no chunk was moved`,
  });
  assert.notEqual(await s.store.head(chunkKeyOf(sha!)), undefined);
});

Deno.test("scrub() leaves a corrupt chunk that a direct-path plan's lease holds where it is, and a lease that expired holds nothing", async () => {
  await using s = await setup();
  const saved = await s.save("w1", pattern(1000, 8));
  const [sha] = await s.chunksOf("w1", saved.checkpointId);
  await s.rot(sha!);
  const leases = new StoreLeases(s.store);
  const hold = (planId: string, expiresAt: Date) =>
    leases.hold({ planId, workerId: "w1", createdAt: new Date(), expiresAt }, [sha!]);
  await hold("pln_live", new Date(Date.now() + 60_000));

  const dry = await s.scrubber.scrub({ dryRun: true });
  assert.deepEqual([dry.badChunks[0]!.inUse, dry.badChunks[0]!.quarantineKey], [true, ""]);
  const held = await s.scrubber.scrub();
  assert.deepEqual(
    [held.badChunks[0]!.inUse, held.badChunks[0]!.quarantineKey, held.chunksQuarantined],
    [true, "", 0],
  );
  assert.notEqual(await s.store.head(chunkKeyOf(sha!)), undefined, "the plan's commit verifies it");

  await leases.release("pln_live");
  await hold("pln_expired", new Date(Date.now() - 1));
  const moved = await s.scrubber.scrub();
  assert.deepEqual(
    [moved.badChunks[0]!.inUse, moved.badChunks[0]!.quarantineKey],
    [false, quarantineKeyOf(sha!)],
  );
  assert.equal(await s.store.head(chunkKeyOf(sha!)), undefined);
});

Deno.test("a save that reaches a corrupt chunk while the scrub is moving it aside waits for the move, then writes the chunk anew: both checkpoints load", async () => {
  // The scrub is held between its copy to quarantine/ and its delete of the
  // chunk, while a save with the chunk's bytes starts. Were the two not
  // serialized by the chunk's lease, the save would find the rotten copy,
  // rewrite it, and the scrub's delete then remove the good bytes under a
  // checkpoint that names them.
  await using s = await setup();
  const [x0, xTail, yTail] = [pattern(CHUNK_BYTES, 9), pattern(100, 10), pattern(200, 11)];
  const first = await s.save("w1", concat(x0, xTail));
  const [sha] = await s.chunksOf("w1", first.checkpointId);
  await s.rot(sha!);
  let reached!: () => void;
  const copied = new Promise<void>((resolve) => reached = resolve);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const store = s.store;
  const held: ObjectStore = {
    description: store.description,
    put: async (key, data) => {
      await store.put(key, data);
      if (key === quarantineKeyOf(sha!)) {
        reached();
        await gate;
      }
    },
    putIfAbsent: (key, data) => store.putIfAbsent(key, data),
    get: (key, range) => store.get(key, range),
    head: (key) => store.head(key),
    list: (prefix, options) => store.list(prefix, options),
    delete: (key) => store.delete(key),
    close: () => Promise.resolve(),
  };
  const scrub = new Scrubber(held, s.checkpoints.chunkLeases).scrub();
  await copied;
  const second = s.save("w2", concat(x0, yTail));
  while (s.checkpoints.chunkLeases.size === 0) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 200)); // room for a save that did not wait
  open();
  const report = await scrub;
  assert.deepEqual(
    [report.badChunks[0]!.quarantineKey, report.badChunks[0]!.inUse],
    [quarantineKeyOf(sha!), false],
  );
  const saved = await second;
  assert.deepEqual(
    await readAll((await s.checkpoints.load("w1", first.checkpointId)).data),
    concat(x0, xTail),
  );
  assert.deepEqual(
    await readAll((await s.checkpoints.load("w2", saved.checkpointId)).data),
    concat(x0, yTail),
  );
});
