/**
 * The direct path on every S3 server of the suite, spoken by hand (plan,
 * PUT, commit, GET) so that each step can be got wrong on purpose: bytes go
 * to and from the bucket without passing through the runtime, the runtime
 * commits only chunks that are in the store with their size and SHA-256,
 * a URL writes nothing but its own chunk, and nothing partial is ever
 * visible. Servers differ in what they check themselves (SeaweedFS refuses
 * bytes that do not match the signed checksum; moto and s3rver take them),
 * and the runtime's commit check must not rely on them.
 */
import assert from "node:assert/strict";
import { Runtime } from "@pulsecheckpoint/sdk";
import { CHUNK_BYTES } from "@pulsecheckpoint/proto/protocol";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import {
  chunksOf,
  commit,
  directLoad,
  directSave,
  planSave,
  put,
  unary,
} from "../support/direct_client.ts";
import { rawClient } from "../support/raw_client.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import {
  listKeys,
  metricSum,
  type S3Target,
  s3TestServers,
  startS3Runtime,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";

const MIB = 1024 * 1024;

async function withDirectRuntime(
  target: S3Target,
  run: (
    parts: { client: ReturnType<typeof rawClient>; rt: Runtime; runtime: RuntimeProcess },
  ) => Promise<void>,
  extra: Record<string, string> = {},
) {
  const runtime = await startS3Runtime(target, { extra });
  const client = rawClient(runtime.grpcAddress);
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    await run({ client, rt, runtime });
    // Presigned URLs are secrets until they expire: no log line carries one.
    const leaked = runtime.logs.filter((line) => /X-Amz-Signature|X-Amz-Credential/i.test(line));
    assert.deepEqual(leaked, [], "a presigned URL in the runtime's logs");
  } finally {
    client.close();
    rt.close();
    assert.equal(await stopRuntime(runtime), 0);
  }
}

function grpcCode(error: unknown): number {
  return (error as { code?: number }).code ?? -1;
}

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] a direct save's bytes go to the bucket, not through the runtime, and load back byte-exact both ways`, async () => {
    await withTarget(server, "direct-save", async (target) => {
      await withDirectRuntime(target, async ({ client, rt, runtime }) => {
        const bytes = randomBytes(2 * CHUNK_BYTES + 12345);
        const saved = await directSave(client, "w1", bytes);
        assert.equal(saved.uploads, 3);
        assert.equal(
          await metricSum(runtime, "pulse_checkpoint_bytes_total", { path: "stream" }),
          0,
        );
        assert.equal(
          await metricSum(runtime, "pulse_checkpoint_bytes_total", {
            operation: "save",
            path: "direct",
          }),
          bytes.length,
        );
        const checkpoint = await rt.getCheckpoint("w1", saved.checkpointId);
        assert.equal(checkpoint.sha256, sha256Hex(bytes));
        assert.deepEqual(await directLoad(client, "w1", saved.checkpointId), bytes);
        const { data } = await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
        assert.deepEqual(data, bytes);
        // An incremental save against it uploads only the chunk that changed.
        const changed = bytes.slice();
        changed[CHUNK_BYTES + 7] = changed[CHUNK_BYTES + 7]! ^ 0xff;
        const again = await directSave(client, "w1", changed, {
          baseCheckpointId: saved.checkpointId,
        });
        assert.equal(again.uploads, 1);
        assert.deepEqual(await directLoad(client, "w1", again.checkpointId), changed);
        assert.equal(
          await listKeys(target, "leases/").then((keys) => keys.length),
          0,
          "leases dropped",
        );
      });
    });
  });

  Deno.test(`[${server.name}] a commit naming a chunk that is not in the store, or of another size, is DATA_LOSS naming it, and nothing is visible`, async () => {
    await withTarget(server, "direct-missing", async (target) => {
      await withDirectRuntime(target, async ({ client, rt }) => {
        const chunks = chunksOf(randomBytes(CHUNK_BYTES + 100));
        const plan = await planSave(client, "w1", chunks);
        assert.equal(await put(plan.uploads[0]!, chunks[0]!.bytes), 200); // the second never uploaded
        await assert.rejects(commit(client, "w1", plan.plan_id, chunks), (error) => {
          assert.equal(grpcCode(error), 15); // DATA_LOSS
          assert.match(
            (error as Error).message,
            new RegExp(`chunk 1 \\(${chunks[1]!.sha256}\\) is not in the store`),
          );
          return true;
        });
        const wrongSize = [chunks[0]!, { ...chunks[1]!, size: 99 }];
        assert.equal(await put(plan.uploads[1]!, chunks[1]!.bytes), 200);
        await assert.rejects(
          commit(client, "w1", plan.plan_id, wrongSize),
          (error) =>
            grpcCode(error) === 15 && /is 100 bytes, expected 99/.test((error as Error).message),
        );
        assert.equal((await rt.listCheckpoints("w1")).items.length, 0);
        // With every chunk there, the same plan commits.
        const { checkpoint } = await commit(client, "w1", plan.plan_id, chunks);
        assert.equal(checkpoint.size_bytes, CHUNK_BYTES + 100);
      });
    });
  });

  Deno.test(`[${server.name}] bytes uploaded under another chunk's URL never become that chunk`, async () => {
    await withTarget(server, "direct-tampered", async (target) => {
      await withDirectRuntime(target, async ({ client, rt }) => {
        const [honest] = chunksOf(randomBytes(1000));
        const tampered = randomBytes(1000);
        const plan = await planSave(client, "w1", [honest!]);
        const status = await put(plan.uploads[0]!, tampered);
        if (status === 200) {
          // The server took them (it checks no checksum): the runtime's
          // commit reads them back, refuses, and removes them.
          await assert.rejects(
            commit(client, "w1", plan.plan_id, [honest!]),
            (error) =>
              grpcCode(error) === 15 &&
              /holds bytes of another SHA-256/.test((error as Error).message),
          );
          assert.deepEqual(await listKeys(target, `chunks/${honest!.sha256.slice(0, 2)}/`), []);
        } else {
          assert.equal(status, 400, "refused for its checksum (BadDigest)");
        }
        assert.equal((await rt.listCheckpoints("w1")).items.length, 0);
        // The honest bytes go through the same URL, and commit.
        assert.equal(await put(plan.uploads[0]!, honest!.bytes), 200);
        await commit(client, "w1", plan.plan_id, [honest!]);
      });
    });
  });

  Deno.test(`[${server.name}] an idempotency key planned again after its commit answers the checkpoint, and a chunk the store has needs no upload`, async () => {
    await withTarget(server, "direct-idempotent", async (target) => {
      await withDirectRuntime(target, async ({ client }) => {
        const bytes = randomBytes(3000);
        const first = await directSave(client, "w1", bytes, { idempotencyKey: "k1" });
        const plan = await planSave(client, "w1", chunksOf(bytes), { idempotencyKey: "k1" });
        assert.equal(plan.existing?.checkpoint_id, first.checkpointId);
        assert.deepEqual(plan.uploads, []);
        // Without the key, a plan of the same bytes uploads nothing either:
        // the store has the chunk.
        const again = await planSave(client, "w1", chunksOf(bytes));
        assert.equal(again.existing, null);
        assert.deepEqual(again.uploads, []);
        const other = await planSave(client, "w1", chunksOf(randomBytes(3000)));
        assert.equal(other.uploads.length, 1);
      });
    });
  });
}

Deno.test("a runtime on the fs store, or with storage.direct_transfer off, offers no direct path: FAILED_PRECONDITION saying what to do", async () => {
  const runtime = await startRuntime();
  const client = rawClient(runtime.grpcAddress);
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    await assert.rejects(
      planSave(client, "w1", chunksOf(randomBytes(10))),
      (error) =>
        grpcCode(error) === 9 &&
        /offers no direct path .* send the bytes in SaveCheckpoint/.test((error as Error).message),
    );
    await assert.rejects(
      unary(client, "PlanLoad", { worker_id: "w1" }),
      (error) => grpcCode(error) === 9,
    );
  } finally {
    client.close();
    rt.close();
    await runtime.stop();
  }
  const [s3rver] = s3TestServers();
  await withTarget(s3rver!, "direct-off", async (target) => {
    await withDirectRuntime(target, async ({ client }) => {
      await assert.rejects(
        planSave(client, "w1", chunksOf(randomBytes(10))),
        (error) =>
          grpcCode(error) === 9 &&
          /storage\.direct_transfer is false/.test((error as Error).message),
      );
    }, { PULSE_DIRECT_TRANSFER: "false" });
  });
});

const [firstServer] = s3TestServers();
Deno.test("a plan holds its chunks against garbage collection across a kill -9 of the runtime, and a retry with the same idempotency key completes", async () => {
  await withTarget(firstServer!, "direct-crash", async (target) => {
    const before = await startS3Runtime(target);
    const client = rawClient(before.grpcAddress);
    const rt = before.client();
    await rt.registerWorker("w1");
    const bytes = randomBytes(CHUNK_BYTES + 5);
    const chunks = chunksOf(bytes);
    const plan = await planSave(client, "w1", chunks, { idempotencyKey: "k" });
    for (const upload of plan.uploads) await put(upload, chunks[upload.index]!.bytes);
    client.close();
    rt.close();
    before.process.kill("SIGKILL"); // between the uploads and the commit
    await before.process.status;
    await Deno.remove(before.dir, { recursive: true });

    const after = await startS3Runtime(target);
    const again = rawClient(after.grpcAddress);
    const admin = after.client();
    try {
      const gc = await admin.runGc({ graceMs: 0 });
      assert.equal(gc.chunksDeleted, 0, "the plan's lease kept its uploaded chunks");
      assert.equal(gc.chunksProtected, 2);
      assert.equal((await admin.listCheckpoints("w1")).items.length, 0, "nothing visible");
      const retried = await directSave(again, "w1", bytes, { idempotencyKey: "k" });
      const { data } = await admin.loadCheckpoint("w1", { checkpointId: retried.checkpointId });
      assert.equal(sha256Hex(data), sha256Hex(bytes));
    } finally {
      again.close();
      admin.close();
      assert.equal(await stopRuntime(after), 0);
    }
  });
});

Deno.test("a plan's URLs expire (storage.presign_expiry_ms), and planning again with the plan id gives fresh ones", async () => {
  const seaweed = s3TestServers().find((server) => server.name === "seaweedfs");
  if (seaweed === undefined) {
    console.warn("SeaweedFS is not among the S3 test servers: expiry not checked");
    return;
  }
  await withTarget(seaweed, "direct-expiry", async (target) => {
    await withDirectRuntime(target, async ({ client }) => {
      const chunks = chunksOf(randomBytes(4 * MIB));
      const plan = await planSave(client, "w1", chunks);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(await put(plan.uploads[0]!, chunks[0]!.bytes), 403);
      const renewed = await planSave(client, "w1", chunks, { planId: plan.plan_id });
      assert.equal(renewed.plan_id, plan.plan_id);
      assert.equal(await put(renewed.uploads[0]!, chunks[0]!.bytes), 200);
      await commit(client, "w1", plan.plan_id, chunks);
    }, { PULSE_PRESIGN_EXPIRY_MS: "2000" });
  });
});

Deno.test("a presigned URL writes its own chunk's key and no other", async () => {
  const seaweed = s3TestServers().find((server) => server.name === "seaweedfs");
  if (seaweed === undefined) {
    console.warn("SeaweedFS is not among the S3 test servers: signatures not checked");
    return;
  }
  await withTarget(seaweed, "direct-key", async (target) => {
    await withDirectRuntime(target, async ({ client }) => {
      const [chunk] = chunksOf(randomBytes(100));
      const plan = await planSave(client, "w1", [chunk!]);
      const upload = plan.uploads[0]!;
      const other = "f".repeat(64);
      const forged = upload.url.replace(chunk!.sha256, other).replace(
        `/${chunk!.sha256.slice(0, 2)}/`,
        `/${other.slice(0, 2)}/`,
      );
      assert.notEqual(forged, upload.url);
      assert.equal(await put({ ...upload, url: forged }, chunk!.bytes), 403);
      assert.deepEqual(await listKeys(target, "chunks/ff/"), []);
    });
  });
});

Deno.test("tokens: a worker token plans only for its workers, a reader plans loads only", async () => {
  const server = s3TestServers()[0]!;
  await withTarget(server, "direct-auth", async (target) => {
    const sha = async (text: string) =>
      Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
      )
        .map((b) => b.toString(16).padStart(2, "0")).join("");
    const tokens = JSON.stringify([
      { name: "ops", sha256: await sha("admin-t"), role: "admin" },
      { name: "team-a", sha256: await sha("worker-t"), role: "worker", workers: "a-*" },
      { name: "viewer", sha256: await sha("reader-t"), role: "reader" },
    ]);
    const runtime = await startS3Runtime(target, { extra: { PULSE_AUTH_TOKENS: tokens } });
    const admin = new Runtime(`grpc://${runtime.grpcAddress}`, { token: "admin-t" });
    const withToken = (token: string) => {
      const client = rawClient(runtime.grpcAddress);
      const metadata = { authorization: `Bearer ${token}` };
      return { client, metadata };
    };
    try {
      await admin.registerWorker("b-1");
      const worker = withToken("worker-t");
      const denied = (error: unknown) => grpcCode(error) === 7; // PERMISSION_DENIED
      await assert.rejects(planWith(worker, "PlanSave", { worker_id: "b-1", chunks: [] }), denied);
      await admin.registerWorker("a-1");
      const [chunk] = chunksOf(randomBytes(10));
      const own = await planWith(worker, "PlanSave", { worker_id: "a-1", chunks: [chunk] });
      assert.equal((own as { uploads: unknown[] }).uploads.length, 1);
      const reader = withToken("reader-t");
      await assert.rejects(planWith(reader, "PlanSave", { worker_id: "b-1", chunks: [] }), denied);
      const saved = await admin.saveCheckpoint({ workerId: "b-1", data: randomBytes(10) });
      const loadPlan = await planWith(reader, "PlanLoad", {
        worker_id: "b-1",
        checkpoint_id: saved.checkpointId,
      });
      assert.equal((loadPlan as { chunks: unknown[] }).chunks.length, 1);
      worker.client.close();
      reader.client.close();
    } finally {
      admin.close();
      assert.equal(await stopRuntime(runtime), 0);
    }
  });
});

async function planWith(
  caller: { client: ReturnType<typeof rawClient>; metadata: Record<string, string> },
  method: string,
  request: unknown,
): Promise<unknown> {
  const grpc = await import("@grpc/grpc-js");
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(caller.metadata)) metadata.set(key, value);
  return await new Promise((resolve, reject) =>
    caller.client[method](
      request,
      metadata,
      (error: unknown, response: unknown) => error ? reject(error) : resolve(response),
    )
  );
}
