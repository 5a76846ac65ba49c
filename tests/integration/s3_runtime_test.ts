/**
 * The runtime process on S3, end to end: the seed's flow and byte-exact round
 * trips of sizes around the chunk boundary, kept across a restart in a fresh
 * working directory (everything lives in the bucket); and start-up that fails
 * with one clear line when the bucket is missing or the endpoint unreachable.
 *
 * Each case runs against s3rver (started here) and every server named in
 * PULSE_TEST_S3_SERVERS (see `tests/support/s3_targets.ts`).
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { Checkpoint } from "@pulsecheckpoint/sdk";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { inheritedEnv, startFlags } from "../support/runtime.ts";
import {
  assertSameBytes,
  listKeys,
  loadBytes,
  metricSum,
  runtimeEnv,
  type S3Target,
  s3TestServers,
  startS3Runtime,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";

const MIB = 1024 * 1024;
const CHUNK_BYTES = 8 * MIB;
// Empty, one byte, exactly one chunk, one chunk and a byte, eight chunks.
const ROUND_TRIP_SIZES = [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, 64 * MIB];
// The exit of a runtime that cannot start must come quickly: retries are fast here.
const START_FAILURE_MS_MAX = 30_000;

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] the seed flow and byte-exact round trips work on S3 and survive a restart`, async () => {
    await withTarget(server, "seed", async (target) => {
      const first = await startS3Runtime(target);
      const rt = first.client();
      const saved: { checkpoint: Checkpoint; bytes: Uint8Array }[] = [];
      try {
        const worker = await rt.registerWorker("worker-1", {
          metadata: { gpu: "A100", memory: "80GB" },
        });
        assert.equal(worker.state, "ACTIVE");
        const dataset = await rt.registerDataset("training-data", { path: "s3://bucket/data" });
        assert.equal(dataset.path, "s3://bucket/data");
        const seedBytes = new TextEncoder().encode("model-state-bytes");
        saved.push({
          checkpoint: await rt.saveCheckpoint({
            workerId: "worker-1",
            data: seedBytes,
            metadata: { epoch: 10, loss: 0.001 },
          }),
          bytes: seedBytes,
        });
        assert.equal((await rt.heartbeat("worker-1")).heartbeatIntervalMs, 10_000);

        for (const size of ROUND_TRIP_SIZES) {
          const bytes = randomBytes(size);
          const checkpoint = await rt.saveCheckpoint({
            workerId: "worker-1",
            data: bytes,
            metadata: { size },
          });
          assert.equal(checkpoint.sizeBytes, size);
          assert.equal(checkpoint.sha256, sha256Hex(bytes));
          assertSameBytes(
            await loadBytes(rt, "worker-1", checkpoint.checkpointId),
            bytes,
            `${size} B loaded`,
          );
          saved.push({ checkpoint, bytes });
        }
        await rt.deregisterWorker("worker-1");
      } finally {
        rt.close();
        assert.equal(await stopRuntime(first), 0);
      }

      await assertStoredInBucket(target, saved.length, ROUND_TRIP_SIZES);

      // A new process in a new, empty directory: whatever it finds came from S3.
      const second = await startS3Runtime(target);
      const rt2 = second.client();
      try {
        assert.equal((await rt2.getWorker("worker-1")).state, "DEREGISTERED");
        assert.equal((await rt2.getDataset("training-data")).path, "s3://bucket/data");
        const listed = (await rt2.listCheckpoints("worker-1", { pageSize: 100 })).items;
        assert.deepEqual(
          listed.map((c) => c.checkpointId),
          saved.map((s) => s.checkpoint.checkpointId).reverse(),
        );
        for (const { checkpoint, bytes } of saved) {
          assert.deepEqual(
            await rt2.getCheckpoint("worker-1", checkpoint.checkpointId),
            checkpoint,
          );
          assertSameBytes(
            await loadBytes(rt2, "worker-1", checkpoint.checkpointId),
            bytes,
            `${bytes.length} B loaded after the restart`,
          );
        }
        const latest = await rt2.loadCheckpoint("worker-1");
        assert.equal(latest.checkpoint.checkpointId, saved.at(-1)!.checkpoint.checkpointId);
        assert.equal((await Array.fromAsync(Deno.readDir(second.dir))).length, 0, "no local files");
      } finally {
        rt2.close();
        assert.equal(await stopRuntime(second), 0);
      }
    });
  });

  Deno.test(`[${server.name}] an incremental save on S3 sends only the changed chunk and loads back byte-exact`, async () => {
    await withTarget(server, "incremental", async (target) => {
      const runtime = await startS3Runtime(target);
      const rt = runtime.client();
      try {
        await rt.registerWorker("worker-1");
        const first = randomBytes(2 * CHUNK_BYTES + 100);
        await rt.saveCheckpoint({ workerId: "worker-1", data: first });
        const second = first.slice();
        second[CHUNK_BYTES] = ~second[CHUNK_BYTES]!;
        const received = () =>
          metricSum(runtime, "pulse_checkpoint_bytes_total", { operation: "save" });
        const before = await received();
        const saved = await rt.saveCheckpoint({
          workerId: "worker-1",
          data: second,
          incremental: true,
        });
        assert.equal(await received() - before, CHUNK_BYTES);
        assert.equal(saved.sha256, sha256Hex(second));
        assertSameBytes(
          await loadBytes(rt, "worker-1", saved.checkpointId),
          second,
          "incremental save loaded",
        );
      } finally {
        rt.close();
        assert.equal(await stopRuntime(runtime), 0);
      }
    });
  });

  Deno.test(`[${server.name}] a missing bucket without create_bucket stops the runtime with one line naming endpoint and bucket`, async () => {
    await withTarget(server, "nobucket", async (target) => {
      const bucket = `pulse-missing-${crypto.randomUUID().slice(0, 8)}`;
      const env = {
        ...runtimeEnv(target),
        PULSE_S3_BUCKET: bucket,
        PULSE_S3_CREATE_BUCKET: "false",
      };
      const { code, line, elapsedMs } = await runUntilExit(env);
      assert.equal(code, 1);
      assert.ok(line.includes(target.endpoint), line);
      assert.ok(line.includes(`"${bucket}"`), line);
      assert.match(line, /bucket does not exist/);
      assert.match(line, /create_bucket/);
      assert.ok(elapsedMs < START_FAILURE_MS_MAX, `took ${elapsedMs} ms`);
    });
  });
}

Deno.test("an unreachable S3 endpoint stops the runtime with one line naming endpoint and bucket", async (t) => {
  const cases = [
    { name: "nothing listens on its port", endpoint: `http://127.0.0.1:${await closedPort()}` },
    { name: "its host name does not resolve", endpoint: "http://pulse-no-such-host.invalid:9000" },
  ];
  for (const { name, endpoint } of cases) {
    await t.step(name, async () => {
      const { code, line, elapsedMs } = await runUntilExit({
        PULSE_STORAGE_BACKEND: "s3",
        PULSE_S3_ENDPOINT: endpoint,
        PULSE_S3_BUCKET: "pulse-unreachable",
        PULSE_S3_FORCE_PATH_STYLE: "true",
        PULSE_S3_CREATE_BUCKET: "true",
        AWS_ACCESS_KEY_ID: "pulsetest",
        AWS_SECRET_ACCESS_KEY: "pulsetestsecret",
        PULSE_MAX_RETRIES: "3",
        PULSE_RETRY_DELAY_MS: "20",
      });
      assert.equal(code, 1);
      assert.ok(line.includes(endpoint), line);
      assert.ok(line.includes('"pulse-unreachable"'), line);
      assert.ok(elapsedMs < START_FAILURE_MS_MAX, `took ${elapsedMs} ms`);
    });
  }
});

// The bucket itself holds the checkpoints: one manifest each, and the chunks
// of every size (the 1 B, 8 MiB + 1 and 64 MiB checkpoints alone make 11).
async function assertStoredInBucket(
  target: S3Target,
  checkpoints: number,
  sizes: number[],
): Promise<void> {
  const manifests = await listKeys(target, "checkpoints/worker-1/");
  assert.equal(manifests.length, checkpoints, manifests.join("\n"));
  const chunks = await listKeys(target, "chunks/");
  const chunksMin = sizes.reduce((sum, size) => sum + Math.ceil(size / CHUNK_BYTES), 0);
  assert.ok(chunks.length >= chunksMin, `${chunks.length} chunks, expected at least ${chunksMin}`);
  assert.deepEqual(await listKeys(target, "workers/"), ["workers/worker-1.json"]);
  assert.deepEqual(await listKeys(target, "datasets/"), ["datasets/training-data.json"]);
}

// Runs the runtime with the permissions of `deno task start` until it exits
// by itself; returns its status and its one line on stderr.
async function runUntilExit(
  env: Record<string, string>,
): Promise<{ code: number; line: string; elapsedMs: number }> {
  const dir = await Deno.makeTempDir({ prefix: "pulse-s3-start-" });
  try {
    const started = performance.now();
    const command = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        ...await startFlags(),
        new URL("../../main.ts", import.meta.url).pathname,
        "serve",
        "--grpc-addr",
        "127.0.0.1:0",
        "--metrics-addr",
        "127.0.0.1:0",
      ],
      cwd: dir,
      clearEnv: true,
      env: { ...inheritedEnv(), NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    });
    const child = command.spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), START_FAILURE_MS_MAX * 2);
    const output = await child.output();
    clearTimeout(timer);
    const elapsedMs = performance.now() - started;
    const lines = new TextDecoder().decode(output.stderr).split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `expected one line on stderr, got:\n${lines.join("\n")}`);
    assert.match(lines[0]!, /^Cannot start: Cannot open S3 store: /);
    console.log(`  ${lines[0]}`);
    return { code: output.code, line: lines[0]!, elapsedMs };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// A loopback port with nothing listening on it.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
