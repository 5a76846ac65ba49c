/**
 * Scrub on S3: a chunk object whose bytes are replaced in the bucket by the
 * same bytes with one bit flipped (as rot, or a store that kept a torn
 * upload, would leave it) is found by the Scrub call, reported with the
 * checkpoints it breaks, and moved to `quarantine/<sha256>` in the bucket;
 * those checkpoints fail to load with DATA_LOSS until a save of the same
 * bytes (the SDK's default path on S3) writes the chunk again, and then load
 * byte-exact. Looked at in the bucket directly with the AWS SDK.
 *
 * Runs against s3rver (started here) and every server named in
 * PULSE_TEST_S3_SERVERS (see `tests/support/s3_targets.ts`).
 */
import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { BadChunk__Output } from "@pulsecheckpoint/proto/types";
import { scrub } from "../../src/cli/scrub_client.ts";
import { chunkKeyOf, quarantineKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import type { RuntimeProcess } from "../support/runtime.ts";
import {
  assertSameBytes,
  listKeys,
  loadBytes,
  metricSum,
  type S3Target,
  s3TestServers,
  startS3Runtime,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";

async function objectBytes(target: S3Target, key: string): Promise<Uint8Array> {
  const answer = await target.client.send(
    new GetObjectCommand({ Bucket: target.bucket, Key: target.prefix + key }),
  );
  return await answer.Body!.transformToByteArray();
}

// Replaces a chunk object by its bytes with one bit flipped; returns them.
async function rotObject(target: S3Target, sha256: string): Promise<Uint8Array> {
  const bytes = await objectBytes(target, chunkKeyOf(sha256));
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x10;
  await target.client.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.prefix + chunkKeyOf(sha256),
      Body: bytes,
    }),
  );
  return bytes;
}

async function scrubOf(runtime: RuntimeProcess, dryRun: boolean) {
  const badChunks: BadChunk__Output[] = [];
  const report = await scrub(`grpc://${runtime.grpcAddress}`, {}, { dryRun }, {
    onProgress: () => {},
    onBadChunk: (bad) => badChunks.push(bad),
  });
  return { badChunks, report };
}

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] Scrub finds a chunk object with a flipped bit and the checkpoints it breaks, moves it to quarantine/, and a save of its bytes repairs them`, async () => {
    await withTarget(server, "scrub", async (target) => {
      const runtime = await startS3Runtime(target, { extra: { PULSE_GC_INTERVAL_MS: "0" } });
      const rt = runtime.client();
      try {
        await rt.registerWorker("w1");
        await rt.registerWorker("w2");
        const data = randomBytes(CHUNK_BYTES + 4096);
        const head = data.subarray(0, CHUNK_BYTES);
        const first = await rt.saveCheckpoint({ workerId: "w1", data });
        const other = await rt.saveCheckpoint({ workerId: "w2", data: head });
        const sha0 = sha256Hex(head);
        const damaged = await rotObject(target, sha0);

        const dry = await scrubOf(runtime, true);
        assert.deepEqual(
          dry.badChunks.map((bad) => [bad.sha256, bad.problem, bad.quarantine_key]),
          [
            [sha0, "CHUNK_PROBLEM_CORRUPT", ""],
          ],
        );
        assert.deepEqual(
          [dry.report.chunks_scanned, dry.report.chunks_corrupt, dry.report.checkpoints_broken],
          [2, 1, 2],
        );

        const moved = await scrubOf(runtime, false);
        assert.deepEqual(moved.badChunks.map((bad) => bad.checkpoints), [[
          { worker_id: "w1", checkpoint_id: first.checkpointId },
          { worker_id: "w2", checkpoint_id: other.checkpointId },
        ].sort((a, b) => a.worker_id < b.worker_id ? -1 : 1)]);
        assert.equal(moved.badChunks[0]!.quarantine_key, quarantineKeyOf(sha0));
        assert.equal(moved.report.chunks_quarantined, 1);
        assert.deepEqual(await listKeys(target, "quarantine/"), [quarantineKeyOf(sha0)]);
        assert.deepEqual(await objectBytes(target, quarantineKeyOf(sha0)), damaged);
        assert.ok(!(await listKeys(target, "chunks/")).includes(chunkKeyOf(sha0)));
        await assert.rejects(loadBytes(rt, "w2", other.checkpointId), { code: "DATA_LOSS" });
        assert.equal(
          await metricSum(runtime, "pulse_scrub_bad_chunks_total", { problem: "corrupt" }),
          2,
        );

        await rt.saveCheckpoint({ workerId: "w1", data }); // has the chunk's bytes
        assertSameBytes(await loadBytes(rt, "w1", first.checkpointId), data, "w1 repaired");
        assertSameBytes(await loadBytes(rt, "w2", other.checkpointId), head, "w2 repaired");
        const clean = await scrubOf(runtime, false);
        assert.deepEqual(
          [clean.badChunks, clean.report.chunks_scanned, clean.report.chunks_corrupt],
          [[], 2, 0],
        );
      } finally {
        rt.close();
        assert.equal(await stopRuntime(runtime), 0);
      }
    });
  });
}
