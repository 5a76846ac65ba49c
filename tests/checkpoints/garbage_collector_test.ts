/**
 * GarbageCollector on a real fs store in a temporary directory: what it
 * deletes and keeps, dry runs, and the races with saves in progress.
 *
 * A chunk is made "old" by setting its file's mtime, which is what the fs
 * store reports as lastModified. To order a save and a run exactly, the store
 * is wrapped (`GatedStore`) so that a test can hold one kind of call until it
 * says go; the wrapper says which call it holds.
 */
import { INLINE_HASHER } from "../../src/checkpoints/hasher.ts";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Checkpoints } from "../../src/checkpoints/checkpoints.ts";
import { GarbageCollector, type GcReport } from "../../src/checkpoints/garbage_collector.ts";
import { PulseError } from "../../src/errors.ts";
import { chunkKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { FsStore } from "../../src/storage/fs_store.ts";
import type { ListOptions, ObjectStore } from "../../src/storage/store.ts";

const HOUR_MS = 3_600_000;

/** What a client that stays and sends no trailer gives a save. */
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

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** A gate a test opens; `reached` resolves when a call waits at it. */
class Gate {
  #open!: () => void;
  #reached!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.#open = resolve));
  readonly reached = new Promise<void>((resolve) => (this.#reached = resolve));
  async pass(): Promise<void> {
    this.#reached();
    await this.opened;
  }
  open(): void {
    this.#open();
  }
}

/** The fs store, with gates on listing chunks and on deleting one key. */
class GatedStore implements ObjectStore {
  readonly description = "gated";
  chunkListGate: Gate | undefined;
  deleteGates = new Map<string, Gate>();
  constructor(readonly inner: ObjectStore) {}
  put(key: string, data: Uint8Array) {
    return this.inner.put(key, data);
  }
  putIfAbsent(key: string, data: Uint8Array) {
    return this.inner.putIfAbsent(key, data);
  }
  get(key: string, range?: { offset: number; length: number }) {
    return this.inner.get(key, range);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  async list(prefix: string, options?: ListOptions) {
    if (prefix.startsWith("chunks/") && this.chunkListGate !== undefined) {
      const gate = this.chunkListGate;
      this.chunkListGate = undefined;
      await gate.pass();
    }
    return this.inner.list(prefix, options);
  }
  async delete(key: string) {
    const gate = this.deleteGates.get(key);
    if (gate !== undefined) await gate.pass();
    return this.inner.delete(key);
  }
  close() {
    return this.inner.close();
  }
}

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "pulse-gc-" });
  const store = new GatedStore(await FsStore.open(dir));
  const checkpoints = new Checkpoints(store, {
    hasher: INLINE_HASHER,
    writesInFlight: 2,
    chunkBuffers: 16,
    chunkBufferWaitMs: 30_000,
    readsAhead: 2,
    checkpointBytesMax: 64 * CHUNK_BYTES,
    savesPerWorkerMax: 8,
    savesMax: 8,
    requireWorker: () => Promise.resolve(),
  });
  const collector = new GarbageCollector(store, checkpoints.chunkLeases, {
    graceMs: HOUR_MS,
    intervalMs: 0,
  });
  const chunkPath = (hash: string) => `${dir}/${chunkKeyOf(hash)}`;
  const exists = async (hash: string) => (await store.head(chunkKeyOf(hash))) !== undefined;
  /** Makes a chunk look written `ageMs` ago. */
  const age = async (hash: string, ageMs = 2 * HOUR_MS) => {
    const then = new Date(Date.now() - ageMs);
    await Deno.utime(chunkPath(hash), then, then);
  };
  const save = (bytes: AsyncIterable<Uint8Array>) =>
    checkpoints.save({ workerId: "w1", metadata: {}, idempotencyKey: "" }, bytes, NO_TRAILER);
  return {
    dir,
    store,
    checkpoints,
    collector,
    chunkPath,
    exists,
    age,
    save,
    /** Saves `bytes` and deletes the checkpoint: its chunk, `ageMs` old, is referenced no more. */
    leaveUnreferenced: async (bytes: Uint8Array, ageMs?: number) => {
      const { checkpointId } = await save(once(bytes));
      await checkpoints.delete("w1", checkpointId);
      await age(sha256(bytes), ageMs);
    },
    /**
     * Starts a save of `first` (a whole chunk) then `second` whose client is
     * slow: it waits at `paused` in between, a save that lasts longer than the
     * grace period. Resolves once `first` is written and made `ageMs` old.
     */
    startSlowSave: async (first: Uint8Array, second: Uint8Array, ageMs?: number) => {
      const paused = new Gate();
      async function* slow(): AsyncGenerator<Uint8Array> {
        yield first;
        await paused.pass();
        yield second;
      }
      const saving = save(slow());
      await paused.reached;
      while (!await exists(sha256(first))) await new Promise((r) => setTimeout(r, 10));
      await age(sha256(first), ageMs);
      return { saving, paused };
    },
    load: async (checkpointId: string) => {
      const { data } = await checkpoints.load("w1", checkpointId);
      const hash = createHash("sha256");
      for await (const piece of data) hash.update(piece);
      return hash.digest("hex");
    },
    [Symbol.asyncDispose]: async () => {
      await collector.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("collect() deletes unreferenced chunks older than the grace period and keeps referenced ones", async () => {
  await using s = await setup();
  const doomed = [pattern(CHUNK_BYTES, 1), pattern(100, 2)];
  const kept = pattern(1000, 3);
  const a = await s.save(once(new Uint8Array([...doomed[0]!, ...doomed[1]!])));
  const b = await s.save(once(kept));
  await s.checkpoints.delete("w1", a.checkpointId);
  for (const bytes of [...doomed, kept]) await s.age(sha256(bytes));

  const report = await s.collector.collect();

  assert.deepEqual({ ...report, durationMs: 0 }, {
    dryRun: false,
    graceMs: HOUR_MS,
    manifestsScanned: 1,
    chunksScanned: 3,
    bytesScanned: CHUNK_BYTES + 100 + 1000,
    chunksReferenced: 1,
    chunksProtected: 0,
    chunksDeleted: 2,
    bytesReclaimed: CHUNK_BYTES + 100,
    durationMs: 0,
    skipped: false,
    holder: "",
  });
  assert.equal(await s.exists(sha256(doomed[0]!)), false);
  assert.equal(await s.exists(sha256(doomed[1]!)), false);
  assert.equal(await s.load(b.checkpointId), sha256(kept));
});

Deno.test("collect() keeps unreferenced chunks written within the grace period", async () => {
  await using s = await setup();
  const bytes = pattern(500, 4);
  await s.leaveUnreferenced(bytes, HOUR_MS / 2);

  const report = await s.collector.collect();
  assert.equal(report.chunksProtected, 1);
  assert.equal(report.chunksDeleted, 0);
  assert.equal(await s.exists(sha256(bytes)), true);

  const shorter = await s.collector.collect({ graceMs: HOUR_MS / 4 });
  assert.equal(shorter.graceMs, HOUR_MS / 4);
  assert.equal(shorter.chunksDeleted, 1);
  assert.equal(await s.exists(sha256(bytes)), false);
});

Deno.test("a dry run counts what it would delete and deletes nothing", async () => {
  await using s = await setup();
  const bytes = pattern(700, 5);
  await s.leaveUnreferenced(bytes);

  const dry = await s.collector.collect({ dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.equal(dry.chunksDeleted, 1);
  assert.equal(dry.bytesReclaimed, 700);
  assert.equal(await s.exists(sha256(bytes)), true, "a dry run deletes nothing");

  const real = await s.collector.collect();
  assert.equal(real.chunksDeleted, 1);
  assert.equal(await s.exists(sha256(bytes)), false);
});

Deno.test("a save in progress keeps its chunks through runs with grace 0, however old they are", async () => {
  await using s = await setup();
  const first = pattern(CHUNK_BYTES, 6);
  const second = pattern(1234, 7);
  const { saving, paused } = await s.startSlowSave(first, second, 10 * HOUR_MS);

  for (let run = 0; run < 3; run++) {
    const report = await s.collector.collect({ graceMs: 0 });
    assert.equal(report.chunksDeleted, 0);
    assert.equal(report.chunksProtected, 1);
  }
  paused.open();
  const saved = await saving;
  assert.equal(await s.load(saved.checkpointId), sha256(new Uint8Array([...first, ...second])));
});

Deno.test("a dry run during a save in progress counts the save's leased chunk as protected, as the real run after it does", async () => {
  await using s = await setup();
  // An old chunk no manifest names: both runs count it as deleted.
  const orphan = pattern(300, 12);
  await s.leaveUnreferenced(orphan);
  // A save in progress whose first chunk is old: only its lease keeps it.
  const first = pattern(CHUNK_BYTES, 13);
  const second = pattern(10, 14);
  const { saving, paused } = await s.startSlowSave(first, second, 10 * HOUR_MS);

  const counts = (report: GcReport) => ({
    chunksScanned: report.chunksScanned,
    chunksReferenced: report.chunksReferenced,
    chunksProtected: report.chunksProtected,
    chunksDeleted: report.chunksDeleted,
    bytesReclaimed: report.bytesReclaimed,
  });
  const dry = await s.collector.collect({ dryRun: true, graceMs: 0 });
  assert.deepEqual(counts(dry), {
    chunksScanned: 2,
    chunksReferenced: 0,
    chunksProtected: 1,
    chunksDeleted: 1,
    bytesReclaimed: 300,
  });
  assert.equal(await s.exists(sha256(first)), true);
  assert.equal(await s.exists(sha256(orphan)), true, "a dry run deletes nothing");
  const real = await s.collector.collect({ graceMs: 0 });
  assert.deepEqual(counts(real), counts(dry));
  assert.equal(await s.exists(sha256(first)), true);
  assert.equal(await s.exists(sha256(orphan)), false);

  paused.open();
  const saved = await saving;
  assert.equal(await s.load(saved.checkpointId), sha256(new Uint8Array([...first, ...second])));
});

Deno.test("a save that commits after the run listed the manifests keeps its chunks", async () => {
  await using s = await setup();
  const bytes = pattern(CHUNK_BYTES + 10, 8);
  const { saving, paused } = await s.startSlowSave(
    bytes.subarray(0, CHUNK_BYTES),
    bytes.subarray(CHUNK_BYTES),
  );

  // The run lists the manifests (the save has none yet), then waits before the sweep.
  s.store.chunkListGate = new Gate();
  const gate = s.store.chunkListGate;
  const running = s.collector.collect({ graceMs: 0 });
  await gate.reached;
  paused.open();
  const saved = await saving; // committed, and its leases given back
  gate.open();
  const report = await running;

  assert.equal(report.manifestsScanned, 0, "the run marked before the save committed");
  assert.equal(report.chunksDeleted, 0);
  assert.equal(await s.load(saved.checkpointId), sha256(bytes));
});

Deno.test("a save that deduplicates against an old unreferenced chunk keeps it", async (t) => {
  await t.step("when the save leases it before the run reaches it", async () => {
    await using s = await setup();
    const bytes = pattern(CHUNK_BYTES, 9); // a whole chunk: cut and leased before the source ends
    await s.leaveUnreferenced(bytes);
    const paused = new Gate();
    async function* again(): AsyncGenerator<Uint8Array> {
      yield bytes;
      await paused.pass();
    }
    const saving = s.save(again());
    await paused.reached;
    const report = await s.collector.collect({ graceMs: 0 });
    assert.equal(report.chunksDeleted, 0);
    assert.equal(report.chunksProtected, 1);
    paused.open();
    const saved = await saving;
    assert.equal(await s.load(saved.checkpointId), sha256(bytes));
  });

  await t.step("when the save leases it while the run deletes it", async () => {
    await using s = await setup();
    const bytes = pattern(CHUNK_BYTES, 10);
    const old = await s.save(once(bytes));
    await s.checkpoints.delete("w1", old.checkpointId);
    const hash = sha256(bytes);
    await s.age(hash);
    const deleting = new Gate();
    s.store.deleteGates.set(chunkKeyOf(hash), deleting);
    const running = s.collector.collect({ graceMs: 0 });
    await deleting.reached; // the run decided to delete it and started
    const saving = s.save(once(bytes)); // the save waits for the deletion, then writes it anew
    await new Promise((r) => setTimeout(r, 50));
    deleting.open();
    const report = await running;
    assert.equal(report.chunksDeleted, 1);
    const saved = await saving;
    assert.equal(await s.exists(hash), true);
    assert.equal(await s.load(saved.checkpointId), hash);
  });
});

Deno.test("an unreadable manifest stops the run before any chunk is deleted", async () => {
  await using s = await setup();
  const bytes = pattern(300, 11);
  await s.leaveUnreferenced(bytes);
  await s.store.put("checkpoints/w1/broken.json", new TextEncoder().encode("{not json"));

  await assert.rejects(s.collector.collect({ graceMs: 0 }), (error) => {
    assert.ok(error instanceof PulseError);
    assert.equal(error.code, "DATA_LOSS");
    assert.match(
      error.message,
      /^Cannot collect garbage: Cannot read manifest checkpoints\/w1\/broken\.json: .*; no chunk was deleted$/,
    );
    return true;
  });
  assert.equal(await s.exists(sha256(bytes)), true);
});

Deno.test("stop() cuts a run short and later runs are refused", async () => {
  await using s = await setup();
  s.store.chunkListGate = new Gate();
  const gate = s.store.chunkListGate;
  const running = s.collector.collect({ graceMs: 0 });
  await gate.reached;
  const stopping = s.collector.stop();
  gate.open();
  await assert.rejects(running, (error) => error instanceof PulseError && error.code === "ABORTED");
  await stopping;
  await assert.rejects(s.collector.collect(), /shutting down/);
});
