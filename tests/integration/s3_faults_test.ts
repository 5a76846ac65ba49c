/**
 * The runtime process on a flaky or absent S3 store.
 *
 * - A fault proxy between runtime and server fails 20% of S3 requests (503
 *   SlowDown, 500, dropped connections before or halfway through an answer)
 *   and delays 5% more: saves and loads still succeed, byte-exact, without
 *   any retry by the client, and /metrics counts the runtime's retries.
 * - A TCP relay between runtime and server is switched off for longer than the
 *   retry budget: a save fails with UNAVAILABLE and writes no manifest; once
 *   the store is back, earlier checkpoints load and new saves work.
 *
 * Each case runs against s3rver (started here) and every server named in
 * PULSE_TEST_S3_SERVERS (see `tests/support/s3_targets.ts`).
 */
import assert from "node:assert/strict";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import type { RuntimeProcess } from "../support/runtime.ts";
import {
  assertSameBytes,
  listKeys,
  loadBytes,
  metricSum,
  s3TestServers,
  startS3Runtime,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";
import { startTcpRelay } from "../support/tcp_relay.ts";

const MIB = 1024 * 1024;
// Sizes saved through the faults: empty, tiny, around a chunk, several chunks,
// then many small ones, so that a few hundred requests draw their fates and
// every kind of fault is drawn.
const FAULT_SIZES = [0, 1, 8 * MIB + 1, 40 * MIB, ...Array(40).fill(64 * 1024)];
// The fault mix: 20% of requests fail, 5% more are only slow.
const FAULT_RATES = { slowDown: 0.07, internalError: 0.07, drop: 0.06, delay: 0.05 };
// Fixed, so a failing run can be replayed; PULSE_FAULT_SEED overrides it.
const FAULT_SEED = Number(Deno.env.get("PULSE_FAULT_SEED") ?? 20_250_101);
// Enough attempts that 20% failures never exhaust them (0.2^10 per request).
const FAULT_RETRY = { maxAttempts: 10, initialDelayMs: 10, maxDelayMs: 200 };
// A small budget, so that an outage outlasts it quickly.
const OUTAGE_RETRY = { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100 };
// A save against a dead store must fail in bounded time, not hang.
const OUTAGE_FAILURE_MS_MAX = 20_000;

/** A client that never retries: whatever succeeds, the runtime made succeed. */
function clientWithoutRetries(runtime: RuntimeProcess): Runtime {
  // The stream path: the bytes go through the runtime and its S3 client, which this test follows.
  return new Runtime(`grpc://${runtime.grpcAddress}`, { retry: false, directTransfer: false });
}

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] saves and loads succeed with 20% of S3 requests failing, and the retries are counted`, async () => {
    await withTarget(server, "faults", async (target) => {
      const proxy = await startFaultProxy(target.endpoint, {
        rates: FAULT_RATES,
        delayMs: 200,
        seed: FAULT_SEED,
      });
      const runtime = await startS3Runtime(target, {
        endpoint: proxy.endpoint,
        retry: FAULT_RETRY,
      });
      const rt = clientWithoutRetries(runtime);
      try {
        await rt.registerWorker("flaky");
        const saved = [];
        for (const size of FAULT_SIZES) {
          const bytes = randomBytes(size);
          const checkpoint = await rt.saveCheckpoint({
            workerId: "flaky",
            data: bytes,
            idempotencyKey: `save-${saved.length}`,
          });
          assert.equal(checkpoint.sha256, sha256Hex(bytes));
          saved.push({ checkpoint, bytes });
        }
        for (const { checkpoint, bytes } of saved) {
          assertSameBytes(
            await loadBytes(rt, "flaky", checkpoint.checkpointId),
            bytes,
            `${bytes.length} B loaded through faults`,
          );
        }
        const listed = (await rt.listCheckpoints("flaky", { pageSize: 100 })).items
          .map((c) => c.checkpointId);
        assert.deepEqual(listed, saved.map((s) => s.checkpoint.checkpointId).reverse());

        const { counts } = proxy;
        console.log(`  ${server.name}: fault proxy ${JSON.stringify(counts)}`);
        assert.ok(counts.slowDown > 0 && counts.internalError > 0, JSON.stringify(counts));
        assert.ok(counts.dropped > 0 && counts.delayed > 0, JSON.stringify(counts));
        const retried = await metricSum(runtime, "pulse_s3_requests_total", { outcome: "retried" });
        const failed = await metricSum(runtime, "pulse_s3_requests_total", { outcome: "failed" });
        assert.ok(retried > 0, `pulse_s3_requests_total{outcome="retried"} is ${retried}`);
        // Every injected failure was retried, and none exhausted its attempts.
        assert.equal(failed, 0);
        assert.ok(
          retried >= counts.slowDown + counts.internalError,
          `${retried} retries for ${counts.slowDown + counts.internalError} error answers`,
        );
      } finally {
        rt.close();
        await stopRuntime(runtime);
        await proxy.close();
      }
    });
  });

  Deno.test(`[${server.name}] a store down longer than the retry budget fails a save with UNAVAILABLE and writes no manifest`, async (t) => {
    await withTarget(server, "outage", async (target) => {
      const relay = await startTcpRelay(target.endpoint);
      const runtime = await startS3Runtime(target, {
        endpoint: relay.endpoint,
        retry: OUTAGE_RETRY,
      });
      const rt = clientWithoutRetries(runtime);
      try {
        await rt.registerWorker("w1");
        const before = randomBytes(8 * MIB + 1);
        const kept = await rt.saveCheckpoint({ workerId: "w1", data: before });
        const manifests = await listKeys(target, "checkpoints/w1/");
        assert.equal(manifests.length, 1);

        await t.step("down before the save starts", async () => {
          relay.setDown(true);
          await assertSaveUnavailable(rt, randomBytes(20 * MIB), server.name);
          // Reads fail the same way while it is down.
          const listError = await rt.listCheckpoints("w1").catch((thrown: unknown) => thrown);
          assert.ok(listError instanceof PulseError);
          assert.equal(listError.code, "UNAVAILABLE");
          assert.ok(relay.counts.refused > 0, "the runtime did try to reach the store");
          relay.setDown(false);
          assert.deepEqual(await listKeys(target, "checkpoints/w1/"), manifests);
        });

        await t.step("down in the middle of the upload", async () => {
          const bytes = randomBytes(96 * MIB);
          const chunksBefore = (await listKeys(target, "chunks/")).length;
          const failed = assertSaveUnavailable(rt, bytes, server.name);
          // Some chunks of this save are durable when the store goes away.
          await waitFor(async () => (await listKeys(target, "chunks/")).length > chunksBefore);
          relay.setDown(true);
          await failed;
          relay.setDown(false);
          assert.deepEqual(await listKeys(target, "checkpoints/w1/"), manifests);
        });

        await t.step("back up: earlier checkpoints load, new saves work", async () => {
          const listed = (await rt.listCheckpoints("w1")).items;
          assert.deepEqual(listed.map((c) => c.checkpointId), [kept.checkpointId]);
          assertSameBytes(
            await loadBytes(rt, "w1", kept.checkpointId),
            before,
            "loaded after the outage",
          );
          const after = randomBytes(MIB);
          const next = await rt.saveCheckpoint({ workerId: "w1", data: after });
          assertSameBytes(
            await loadBytes(rt, "w1", next.checkpointId),
            after,
            "saved after the outage",
          );
          assert.equal((await rt.listCheckpoints("w1")).items.length, 2);
        });
      } finally {
        rt.close();
        await stopRuntime(runtime);
        await relay.close();
      }
    });
  });
}

// Saves `bytes` and expects UNAVAILABLE within OUTAGE_FAILURE_MS_MAX.
async function assertSaveUnavailable(rt: Runtime, bytes: Uint8Array, server: string) {
  const started = performance.now();
  const error = await rt.saveCheckpoint({ workerId: "w1", data: bytes })
    .then(() => undefined, (thrown: unknown) => thrown);
  const elapsedMs = performance.now() - started;
  assert.ok(error instanceof PulseError, `expected a PulseError, got ${error}`);
  assert.equal(error.code, "UNAVAILABLE", error.message);
  console.log(`  ${server}: ${error.message} (${elapsedMs.toFixed(0)} ms)`);
  assert.ok(elapsedMs < OUTAGE_FAILURE_MS_MAX, `took ${elapsedMs} ms`);
}

// Polls `condition` every 20 ms for up to 30 s.
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in 30 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
