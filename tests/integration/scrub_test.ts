/**
 * Scrub through a runtime process: two chunk files of its fs store damaged
 * on disk (a byte flipped in each), the Scrub call (through the CLI's grpc-js
 * client) reports both with the checkpoints they break, in a dry run and
 * then moving them aside; a new save of the same bytes writes them again,
 * and the checkpoints then load byte-exact. Progress comes first, the report
 * last; the metrics count the chunks verified and the bad ones; only admin
 * tokens may scrub.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { BadChunk__Output, ScrubProgress__Output } from "@pulsecheckpoint/proto/types";
import { CallError, scrub } from "../../src/cli/scrub_client.ts";
import { chunkKeyOf, quarantineKeyOf } from "../../src/keys.ts";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { randomBytes } from "../support/bytes.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";

// Scrubs `runtime`, collecting what the stream carried.
async function scrubOf(runtime: RuntimeProcess, dryRun: boolean, token?: string) {
  const progress: ScrubProgress__Output[] = [];
  const badChunks: BadChunk__Output[] = [];
  const report = await scrub(`grpc://${runtime.grpcAddress}`, token ? { token } : {}, { dryRun }, {
    onProgress: (message) => progress.push(message),
    onBadChunk: (bad) => badChunks.push(bad),
  });
  return { progress, badChunks, report };
}

async function flipByte(runtime: RuntimeProcess, sha256: string): Promise<Uint8Array> {
  const path = `${runtime.dir}/data/${chunkKeyOf(sha256)}`;
  const bytes = await Deno.readFile(path);
  bytes[7] = bytes[7]! ^ 0x80;
  await Deno.writeFile(path, bytes);
  return bytes;
}

async function metric(runtime: RuntimeProcess, line: RegExp): Promise<number> {
  const text = await (await fetch(`${runtime.metricsUrl}/metrics`)).text();
  const match = text.split("\n").find((l) => line.test(l));
  return match === undefined ? 0 : Number(match.split(" ").at(-1));
}

Deno.test("Scrub finds two damaged chunk files and the checkpoints they break, moves them aside, and a save of their bytes repairs those checkpoints", async () => {
  const runtime = await startRuntime({ env: { PULSE_GC_INTERVAL_MS: "0" } });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    await rt.registerWorker("w2");
    const data = randomBytes(2 * CHUNK_BYTES + 4096);
    const first = await rt.saveCheckpoint({ workerId: "w1", data });
    const other = await rt.saveCheckpoint({ workerId: "w2", data: data.subarray(0, CHUNK_BYTES) });
    // Chunks are content-addressed: their names are the SHA-256 of 8 MiB slices.
    const chunks = [0, 1, 2].map((i) =>
      createHash("sha256").update(data.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES))
        .digest("hex")
    );
    const damaged = [await flipByte(runtime, chunks[0]!), await flipByte(runtime, chunks[1]!)];
    const named = (...ids: [string, string][]) =>
      ids.map(([w, id]) => ({ worker_id: w, checkpoint_id: id }));
    const expected = (moved: boolean) =>
      [
        {
          sha256: chunks[0]!,
          checkpoints: named(["w1", first.checkpointId], ["w2", other.checkpointId]),
          quarantine_key: moved ? quarantineKeyOf(chunks[0]!) : "",
        },
        {
          sha256: chunks[1]!,
          checkpoints: named(["w1", first.checkpointId]),
          quarantine_key: moved ? quarantineKeyOf(chunks[1]!) : "",
        },
      ].sort((a, b) => a.sha256 < b.sha256 ? -1 : 1);
    const seen = (bad: BadChunk__Output[]) =>
      bad.map(({ sha256, checkpoints, quarantine_key }) => ({
        sha256,
        checkpoints,
        quarantine_key,
      }));

    const dry = await scrubOf(runtime, true);
    assert.deepEqual(seen(dry.badChunks), expected(false));
    assert.ok(dry.badChunks.every((bad) => bad.problem === "CHUNK_PROBLEM_CORRUPT"));
    assert.deepEqual(
      [dry.report.chunks_scanned, dry.report.chunks_corrupt, dry.report.checkpoints_broken],
      [3, 2, 2],
    );
    assert.deepEqual(dry.progress[0], {
      chunks_total: 3,
      bytes_total: data.length,
      chunks_verified: 0,
      bytes_verified: 0,
      chunks_bad: 0,
    });
    assert.deepEqual(dry.progress.at(-1)!.bytes_verified, data.length);
    await Deno.stat(`${runtime.dir}/data/${chunkKeyOf(chunks[0]!)}`); // a dry run moves nothing

    const moved = await scrubOf(runtime, false);
    assert.deepEqual(seen(moved.badChunks), expected(true));
    assert.equal(moved.report.chunks_quarantined, 2);
    for (const [index, sha256] of chunks.slice(0, 2).entries()) {
      await assert.rejects(
        Deno.stat(`${runtime.dir}/data/${chunkKeyOf(sha256)}`),
        Deno.errors.NotFound,
      );
      assert.deepEqual(
        await Deno.readFile(`${runtime.dir}/data/${quarantineKeyOf(sha256)}`),
        damaged[index],
      );
    }
    assert.equal(await metric(runtime, /^pulse_scrub_chunks_verified_total /), 6);
    assert.equal(await metric(runtime, /^pulse_scrub_bad_chunks_total\{problem="corrupt"\} /), 4);

    // The same bytes saved again write both chunks anew: every checkpoint loads.
    await rt.saveCheckpoint({ workerId: "w1", data });
    assert.deepEqual(
      (await rt.loadCheckpoint("w1", { checkpointId: first.checkpointId })).data,
      data,
    );
    assert.deepEqual(
      (await rt.loadCheckpoint("w2", { checkpointId: other.checkpointId })).data,
      data.subarray(0, CHUNK_BYTES),
    );
    const clean = await scrubOf(runtime, false);
    assert.deepEqual(clean.badChunks, []);
    assert.equal(clean.report.chunks_corrupt + clean.report.chunks_missing, 0);
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("Scrub is for admin tokens only: worker and reader tokens get PERMISSION_DENIED", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pulse-scrub-auth-" });
  try {
    const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
    const tokens = [["ops", "admin"], ["trainer", "worker"], ["dashboard", "reader"]];
    await Deno.writeTextFile(
      `${dir}/config.toml`,
      tokens.map(([name, role]) =>
        `[[auth.tokens]]\nname = "${name}"\nsha256 = "${
          sha256(`${name}-secret`)
        }"\nrole = "${role}"\n`
      ).join("\n"),
    );
    const runtime = await startRuntime({ dir });
    try {
      for (const [name, role] of tokens.slice(1)) {
        await assert.rejects(scrubOf(runtime, true, `${name}-secret`), (error: unknown) => {
          assert.ok(error instanceof CallError);
          assert.equal(error.code, "PERMISSION_DENIED");
          assert.equal(error.message, `Cannot call Scrub: token ${name} has role ${role}`);
          return true;
        });
      }
      await assert.rejects(scrubOf(runtime, true), { code: "UNAUTHENTICATED" });
      assert.equal((await scrubOf(runtime, true, "ops-secret")).report.chunks_scanned, 0);
    } finally {
      await runtime.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
