/**
 * Many workers at once through one runtime process into S3: 32 workers, each
 * with a client (a channel) of its own, save 32 MiB each at the same moment;
 * every save succeeds, and every checkpoint loads back byte-exact, all loads
 * at once too.
 *
 * PULSE_S3_CONCURRENCY_WORKERS and PULSE_S3_CONCURRENCY_MIB change the
 * numbers. Runs against s3rver (started here) and every server named in
 * PULSE_TEST_S3_SERVERS (see `tests/support/s3_targets.ts`).
 */
import assert from "node:assert/strict";
import { type Checkpoint, Runtime } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
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

const MIB = 1024 * 1024;
const WORKERS = Number(Deno.env.get("PULSE_S3_CONCURRENCY_WORKERS") ?? 32);
const CHECKPOINT_BYTES = Number(Deno.env.get("PULSE_S3_CONCURRENCY_MIB") ?? 32) * MIB;

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] ${WORKERS} workers saving ${CHECKPOINT_BYTES / MIB} MiB each at once all succeed and load back byte-exact`, async () => {
    await withTarget(server, "concurrency", async (target) => {
      const runtime = await startS3Runtime(target);
      const workers = Array.from({ length: WORKERS }, (_, index) => ({
        id: `worker-${index}`,
        // A client without retries: each save succeeds on its first attempt.
        // The stream path: the bytes go through the runtime and its S3 client, which this test follows.
        rt: new Runtime(`grpc://${runtime.grpcAddress}`, { retry: false, directTransfer: false }),
        bytes: randomBytes(CHECKPOINT_BYTES),
      }));
      try {
        await Promise.all(workers.map(({ id, rt }) => rt.registerWorker(id)));

        let started = performance.now();
        const saved: Checkpoint[] = await Promise.all(
          workers.map(({ id, rt, bytes }) => rt.saveCheckpoint({ workerId: id, data: bytes })),
        );
        const saveMs = performance.now() - started;
        saved.forEach((checkpoint, index) => {
          const { id, bytes } = workers[index]!;
          assert.equal(checkpoint.workerId, id);
          assert.equal(checkpoint.sizeBytes, CHECKPOINT_BYTES);
          assert.equal(checkpoint.sha256, sha256Hex(bytes));
        });

        started = performance.now();
        await Promise.all(workers.map(async ({ id, rt, bytes }, index) => {
          const loaded = await loadBytes(rt, id, saved[index]!.checkpointId);
          assertSameBytes(loaded, bytes, `${id} loaded`);
        }));
        const loadMs = performance.now() - started;
        const totalMib = (WORKERS * CHECKPOINT_BYTES) / MIB;
        console.log(
          `  ${server.name}: ${totalMib} MiB saved in ${(saveMs / 1000).toFixed(1)} s, ` +
            `loaded in ${(loadMs / 1000).toFixed(1)} s`,
        );

        assert.equal(
          await metricSum(runtime, "pulse_checkpoints_total", { outcome: "ok" }),
          WORKERS,
        );
        assert.equal(await metricSum(runtime, "pulse_s3_requests_total", { outcome: "failed" }), 0);
        assert.equal((await listKeys(target, "checkpoints/")).length, WORKERS);
      } finally {
        for (const { rt } of workers) rt.close();
        await stopRuntime(runtime);
      }
    });
  });
}
