/**
 * Save and load throughput through the runtime on S3 (SDK → runtime → S3 and
 * back), beside the same bytes moved straight to the same server in the same
 * run: uploaded with `@aws-sdk/lib-storage` `Upload` (8 MiB parts, 4 at once,
 * as the runtime's 8 MiB chunks and 4 writes in flight) and downloaded with
 * one GetObject. Then an incremental save with a tenth of the chunks changed,
 * against the first save's time.
 *
 * Servers: s3rver, started here in a process of its own (so that it shares
 * no event loop with either client); and SeaweedFS when PULSE_TEST_S3_SERVERS
 * names it (`eval "$(bash scripts/ci_s3_servers.sh)"` starts it).
 *
 * Run: `deno task bench:s3` (PULSE_BENCH_GIB sets the size, default 1).
 * Prints a Markdown table and writes it to the "S3" section of
 * docs/benchmarks.md, keeping the other sections.
 */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { startRuntime } from "../tests/support/runtime.ts";
import {
  configuredServers,
  deleteUnder,
  runtimeEnv,
  s3Client,
  type S3Target,
} from "../tests/support/s3_targets.ts";
import {
  envNumber,
  firstLine,
  GIB,
  MIB,
  mibPerSecond,
  pieces,
  ROOT,
  writeBenchmarkSection,
} from "./_support.ts";

const SIZE_GIB = envNumber("PULSE_BENCH_GIB", 1);
const SIZE = SIZE_GIB * GIB;
// As the runtime: 8 MiB chunks, 4 writes in flight (storage.writes_in_flight).
const PART_BYTES = 8 * MIB;
const PARTS_IN_FLIGHT = 4;
// The runtime's retry defaults ([retry] in config.toml), not the tests' fast ones.
const RETRY = { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 5000 };
// The runtime and the direct client send the same bytes, in which no chunk repeats.
const BYTES = { seed: 1 };

/** Seconds each path took, for one server. */
interface Timings {
  server: string;
  saveMs: number;
  uploadMs: number;
  loadMs: number;
  downloadMs: number;
  resaveMs: number;
}

// Starts s3rver in a `deno eval` process; it stops when its stdin closes.
async function startS3rverProcess(): Promise<{ target: S3Target; process: Deno.ChildProcess }> {
  const helper = pathToFileURL(`${ROOT}tests/support/s3rver.ts`).href;
  const code = `
    const { startS3rver } = await import(${JSON.stringify(helper)});
    const server = await startS3rver();
    console.log(server.endpoint);
    for await (const _ of Deno.stdin.readable) { /* until the bench ends */ }
    await server.stop();
  `;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--config", `${ROOT}deno.json`, code],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const endpoint = (await firstLine(process.stdout)).trim();
  if (endpoint === "") throw new Error("s3rver did not start");
  const client = s3Client(endpoint, "us-east-1");
  const target: S3Target = {
    server: "s3rver",
    endpoint,
    bucket: "pulse-test",
    region: "us-east-1",
    prefix: `bench-${crypto.randomUUID()}/`,
    client,
    release: async () => {
      client.destroy();
      await process.stdin.close();
      await process.status;
    },
  };
  return { target, process };
}

// Saves and loads SIZE bytes through a runtime on `target`.
async function throughRuntime(
  target: S3Target,
): Promise<{ saveMs: number; loadMs: number; resaveMs: number }> {
  const runtime = await startRuntime({ env: runtimeEnv(target, { retry: RETRY }) });
  const rt = runtime.client();
  try {
    await rt.registerWorker("bench");
    let started = performance.now();
    const saved = await rt.saveCheckpoint({ workerId: "bench", data: pieces(SIZE, BYTES) });
    const saveMs = performance.now() - started;
    if (saved.sizeBytes !== SIZE) throw new Error(`saved ${saved.sizeBytes} bytes of ${SIZE}`);

    started = performance.now();
    const { stream } = await rt.loadCheckpointStream("bench", {
      checkpointId: saved.checkpointId,
    });
    let loaded = 0;
    // The SDK checks the bytes against the checkpoint's SHA-256 at the end.
    for await (const piece of stream) loaded += piece.length;
    const loadMs = performance.now() - started;
    if (loaded !== SIZE) throw new Error(`loaded ${loaded} bytes of ${SIZE}`);

    // Every tenth chunk changed, saved incrementally against the first save.
    started = performance.now();
    await rt.saveCheckpoint({
      workerId: "bench",
      data: pieces(SIZE, { ...BYTES, changedEvery: 10, version: 1 }),
      incremental: true,
    });
    const resaveMs = performance.now() - started;
    return { saveMs, loadMs, resaveMs };
  } finally {
    rt.close();
    await runtime.stop();
    await Deno.remove(runtime.dir, { recursive: true });
  }
}

// Uploads SIZE bytes straight to `target` with lib-storage, then downloads them.
async function direct(target: S3Target): Promise<{ uploadMs: number; downloadMs: number }> {
  const key = `${target.prefix}direct.bin`;
  let started = performance.now();
  await new Upload({
    client: target.client,
    params: { Bucket: target.bucket, Key: key, Body: Readable.from(pieces(SIZE, BYTES)) },
    partSize: PART_BYTES,
    queueSize: PARTS_IN_FLIGHT,
  }).done();
  const uploadMs = performance.now() - started;

  started = performance.now();
  const response = await target.client.send(
    new GetObjectCommand({ Bucket: target.bucket, Key: key }),
  );
  let downloaded = 0;
  for await (const piece of response.Body as AsyncIterable<Uint8Array>) {
    downloaded += piece.length;
  }
  const downloadMs = performance.now() - started;
  if (downloaded !== SIZE) throw new Error(`downloaded ${downloaded} bytes of ${SIZE}`);
  return { uploadMs, downloadMs };
}

async function measure(target: S3Target): Promise<Timings> {
  console.error(`bench: ${target.server} at ${target.endpoint}, ${SIZE_GIB} GiB`);
  // The runtime first: it creates the bucket on shared servers.
  const { saveMs, loadMs, resaveMs } = await throughRuntime(target);
  const { uploadMs, downloadMs } = await direct(target);
  await deleteUnder(target, "");
  return { server: target.server, saveMs, uploadMs, loadMs, downloadMs, resaveMs };
}

function table(results: Timings[]): string {
  const row = (server: string, operation: string, runtimeMs: number, directMs: number) =>
    `| ${server} | ${operation} | ${SIZE_GIB} GiB | ${mibPerSecond(SIZE, runtimeMs).toFixed(0)} | ${
      mibPerSecond(SIZE, directMs).toFixed(0)
    } | ${(directMs / runtimeMs).toFixed(2)} |`;
  return [
    "| server | operation | size | runtime MiB/s | direct MiB/s | ratio |",
    "|---|---|---|---|---|---|",
    ...results.flatMap((r) => [
      row(r.server, "save: SDK → runtime → S3 / direct: `Upload`", r.saveMs, r.uploadMs),
      row(r.server, "load: S3 → runtime → SDK / direct: `GetObject`", r.loadMs, r.downloadMs),
    ]),
    "",
    "| server | re-save, a tenth of the chunks changed, `incremental: true` | first save | ratio (time) |",
    "|---|---|---|---|",
    ...results.map((r) =>
      `| ${r.server} | ${(r.resaveMs / 1000).toFixed(1)} s | ${(r.saveMs / 1000).toFixed(1)} s | ${
        (r.resaveMs / r.saveMs).toFixed(2)
      } |`
    ),
  ].join("\n");
}

// The command that reproduces this run.
function command(seaweedfs: boolean): string {
  const size = SIZE_GIB === 1 ? "" : `PULSE_BENCH_GIB=${SIZE_GIB} `;
  const servers = seaweedfs ? 'eval "$(bash scripts/ci_s3_servers.sh)" && ' : "";
  return `${servers}${size}deno task bench:s3`;
}

const seaweedfs = configuredServers().find((server) => server.name === "seaweedfs");
const s3rver = await startS3rverProcess();
const results: Timings[] = [];
try {
  results.push(await measure(s3rver.target));
  if (seaweedfs !== undefined) {
    const target = await seaweedfs.acquire("bench");
    try {
      results.push(await measure(target));
    } finally {
      await target.release();
    }
  }
} finally {
  await s3rver.target.release();
}

const machine = `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
const markdown = table(results);
const run = command(seaweedfs !== undefined);
console.log(`Command: \`${run}\`\n\n${markdown}`);
await writeBenchmarkSection(
  [
    "## S3",
    "",
    "Measured on loopback, client, runtime and S3 server on one machine",
    `(${machine}), on ${new Date().toISOString().slice(0, 10)}. Runtime: SDK → runtime → S3`,
    "with the runtime's defaults (8 MiB chunks, 4 chunk writes in flight, 2 chunks read ahead).",
    "Direct: the same bytes in the same run, uploaded with `@aws-sdk/lib-storage` `Upload`",
    `(${
      PART_BYTES / MIB
    } MiB parts, ${PARTS_IN_FLIGHT} at once) and downloaded with one \`GetObject\`. Ratio:`,
    "runtime throughput over direct throughput. s3rver runs in a process of its own; SeaweedFS",
    "is the `weed server` that `scripts/ci_s3_servers.sh` starts. The second table: an incremental",
    "save of the same size with every tenth chunk changed, against the first save's time.",
    "",
    `Command: \`${run}\``,
    "",
    markdown,
    "",
  ].join("\n"),
);
