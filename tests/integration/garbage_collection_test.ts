/**
 * Garbage collection in a real runtime process: RunGc reclaims the chunks of
 * deleted checkpoints and nothing else, a dry run deletes nothing, the runs
 * are counted in /metrics, a slow save survives runs with grace 0 racing it
 * (including a chunk it deduplicates against an old unreferenced one), and
 * the periodic collector runs by itself.
 *
 * Chunks are made "old" by setting the mtime of their files in the runtime's
 * data directory, which the fs store reports as lastModified.
 */
import assert from "node:assert/strict";
import type { Runtime } from "@pulsecheckpoint/sdk";
import { chunkKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";

const HOUR_MS = 3_600_000;

function chunkPath(runtime: RuntimeProcess, sha256: string): string {
  return `${runtime.dir}/data/${chunkKeyOf(sha256)}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function age(runtime: RuntimeProcess, sha256: string, ageMs = 2 * HOUR_MS) {
  const then = new Date(Date.now() - ageMs);
  await Deno.utime(chunkPath(runtime, sha256), then, then);
}

/** Chunk hashes of `bytes`, cut as the runtime cuts them. */
function chunkHashes(bytes: Uint8Array): string[] {
  const hashes: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    hashes.push(sha256Hex(bytes.subarray(offset, offset + CHUNK_BYTES)));
  }
  return hashes;
}

async function loadedHash(rt: Runtime, checkpointId: string): Promise<string> {
  return sha256Hex((await rt.loadCheckpoint("w1", { checkpointId })).data);
}

Deno.test("RunGc reclaims the chunks of deleted checkpoints; a dry run deletes nothing", async () => {
  const runtime = await startRuntime({ env: { PULSE_GC_INTERVAL_MS: "0" } });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const doomedBytes = randomBytes(CHUNK_BYTES + 1000);
    const keptBytes = randomBytes(5000);
    const doomed = await rt.saveCheckpoint({ workerId: "w1", data: doomedBytes });
    const kept = await rt.saveCheckpoint({ workerId: "w1", data: keptBytes });
    await rt.deleteCheckpoint("w1", doomed.checkpointId);
    for (const hash of [...chunkHashes(doomedBytes), ...chunkHashes(keptBytes)]) {
      await age(runtime, hash);
    }

    const dry = await rt.runGc({ dryRun: true });
    assert.deepEqual({ ...dry, durationMs: 0 }, {
      dryRun: true,
      graceMs: HOUR_MS,
      manifestsScanned: 1,
      chunksScanned: 3,
      bytesScanned: doomedBytes.length + keptBytes.length,
      chunksReferenced: 1,
      chunksProtected: 0,
      chunksDeleted: 2,
      bytesReclaimed: doomedBytes.length,
      durationMs: 0,
    });
    for (const hash of chunkHashes(doomedBytes)) {
      assert.ok(await exists(chunkPath(runtime, hash)), "a dry run deletes nothing");
    }

    const real = await rt.runGc();
    assert.equal(real.dryRun, false);
    assert.equal(real.chunksDeleted, 2);
    assert.equal(real.bytesReclaimed, doomedBytes.length);
    for (const hash of chunkHashes(doomedBytes)) {
      assert.ok(!await exists(chunkPath(runtime, hash)));
    }
    assert.equal(await loadedHash(rt, kept.checkpointId), sha256Hex(keptBytes));
    assert.equal((await rt.runGc({ graceMs: 0 })).chunksDeleted, 0, "nothing left to collect");

    const metrics = await (await fetch(`${runtime.metricsUrl}/metrics`)).text();
    assert.match(metrics, /^pulse_gc_runs_total\{mode="dry_run",outcome="ok"\} 1$/m);
    assert.match(metrics, /^pulse_gc_runs_total\{mode="delete",outcome="ok"\} 2$/m);
    assert.match(metrics, /^pulse_gc_chunks_deleted_total 2$/m);
    assert.match(
      metrics,
      new RegExp(`^pulse_gc_bytes_reclaimed_total ${doomedBytes.length}$`, "m"),
    );
    assert.match(metrics, /^pulse_gc_duration_seconds_count\{mode="delete"\} 2$/m);
    assert.match(metrics, /^pulse_grpc_requests_total\{method="RunGc",code="OK"\} 3$/m);
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("a slow save survives garbage collection with grace 0 racing it, and loads intact", async () => {
  const runtime = await startRuntime({ env: { PULSE_GC_INTERVAL_MS: "0" } });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    // A chunk left unreferenced long ago that the slow save will deduplicate
    // against: written once, its checkpoint deleted, its file two hours old.
    const shared = randomBytes(CHUNK_BYTES);
    const old = await rt.saveCheckpoint({ workerId: "w1", data: shared });
    await rt.deleteCheckpoint("w1", old.checkpointId);
    await age(runtime, sha256Hex(shared));

    const fresh = randomBytes(3 * CHUNK_BYTES + 12345);
    const whole = new Uint8Array([...shared, ...fresh]);
    const piece = 1024 * 1024;
    let sent = 0;
    let runs = 0;
    // After each chunk's worth of bytes, the save waits for one more GC run:
    // at least as many runs race it as it has chunks, however loaded the machine.
    const slowly = async function* (): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < whole.length; offset += piece) {
        yield whole.subarray(offset, offset + piece);
        sent += Math.min(piece, whole.length - offset);
        const runsBefore = runs;
        if (sent % CHUNK_BYTES === 0) {
          while (runs === runsBefore) await new Promise((resolve) => setTimeout(resolve, 5));
        } else await new Promise((resolve) => setTimeout(resolve, 30));
      }
    };
    const saving = rt.saveCheckpoint({ workerId: "w1", data: slowly() });
    let finished = false;
    saving.finally(() => (finished = true)).catch(() => {});
    // Runs race the save from its first byte. Until the runtime has taken up
    // the shared chunk, a run may delete it (it is old and unreferenced; the
    // save then writes it again). Once the first fresh chunk is on disk, the
    // save holds the shared one, and no run may delete anything.
    const firstFresh = chunkPath(runtime, sha256Hex(fresh.subarray(0, CHUNK_BYTES)));
    let deleted = 0;
    while (!finished) {
      const heldForSure = await exists(firstFresh);
      const report = await rt.runGc({ graceMs: 0 });
      if (heldForSure) {
        assert.equal(report.chunksDeleted, 0, `run ${runs} after ${sent} bytes deleted a chunk`);
      }
      deleted += report.chunksDeleted;
      runs++;
    }
    const saved = await saving;
    assert.ok(runs >= 5, `only ${runs} runs raced the save`);
    assert.equal(saved.sha256, sha256Hex(whole));
    assert.ok(deleted <= 1, `${deleted} chunks deleted: only the old shared one may be`);
    if (deleted === 0) {
      const { mtime } = await Deno.stat(chunkPath(runtime, sha256Hex(shared)));
      assert.ok(mtime! < new Date(Date.now() - HOUR_MS), "the save deduplicated the old chunk");
    }
    assert.equal(await loadedHash(rt, saved.checkpointId), sha256Hex(whole));
    assert.equal((await rt.runGc({ graceMs: 0 })).chunksDeleted, 0);
    assert.equal(await loadedHash(rt, saved.checkpointId), sha256Hex(whole));
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("the runtime collects garbage every gc.interval_ms by itself", async () => {
  const runtime = await startRuntime({
    env: { PULSE_GC_INTERVAL_MS: "200", PULSE_GC_GRACE_MS: "0" },
  });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    const bytes = randomBytes(2000);
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    await rt.deleteCheckpoint("w1", saved.checkpointId);
    const path = chunkPath(runtime, sha256Hex(bytes));
    const deadline = Date.now() + 15_000;
    const logged = () => runtime.logs.find((line) => line.includes('"chunks_deleted":1'));
    while (await exists(path) || logged() === undefined) {
      assert.ok(Date.now() < deadline, "no periodic run deleted the chunk in 15 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const event = JSON.parse(logged()!);
    assert.equal(event.message, "Garbage collection finished");
    assert.equal(event.target, "pulse::gc");
    assert.equal(event.grace_ms, 0);
  } finally {
    rt.close();
    assert.equal(await runtime.stop(), 0);
  }
});
