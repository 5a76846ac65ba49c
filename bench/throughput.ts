/**
 * The fs-store benchmark suite: every figure beside a baseline measured in the
 * same run, on loopback, with the runtime started here as a real process.
 *
 * 1. save a checkpoint vs a plain file write + fsync of the same bytes, and vs
 *    a bare grpc-js server that discards them (the transport's ceiling);
 * 2. load the latest checkpoint vs a plain read, and vs the bare server;
 * 3. save with 10% of the 8 MiB chunks changed, sending every byte; then
 *    incremental saves (only chunks the latest checkpoint lacks are sent) of
 *    the same bytes again, and with 10% changed again; and a save of nothing
 *    but chunk names from a raw client (the runtime's part of an incremental
 *    save); each vs the first save;
 * 4. heartbeats from 64 clients (each its own connection): the highest
 *    sustained rate (closed loop), then latency at a fixed offered rate, idle
 *    and while a checkpoint is saved, vs the bare server;
 * 5. the runtime's peak RSS (VmHWM) while 8 workers save at once, at two sizes;
 * 6. 64 workers saving 64 MiB each at once: aggregate rate and errors, vs
 *    writing the same files directly;
 * 7. a save through a TCP proxy adding 10 ms of round-trip time vs without.
 *
 * Run: `deno task bench`. Environment (defaults in brackets):
 * PULSE_BENCH_GIB [1] size of the checkpoints of 1–4 and 7's reference;
 * PULSE_BENCH_RSS_GIB [1,4] sizes per worker of 5; PULSE_BENCH_RSS_WORKERS [8];
 * PULSE_BENCH_MANY_WORKERS [64], PULSE_BENCH_MANY_MIB [64] of 6;
 * PULSE_BENCH_RTT_MS [10], PULSE_BENCH_RTT_MIB [64] of 7;
 * PULSE_BENCH_HEARTBEAT_CLIENTS [64], PULSE_BENCH_HEARTBEAT_RPS [2000],
 * PULSE_BENCH_HEARTBEAT_SECONDS [10] of 4; PULSE_BENCH_ONLY: a comma list of
 * sections to run (save,load,resave,heartbeat,rss,many,rtt).
 * Prints a Markdown table and writes it to the "fs store" section of
 * docs/benchmarks.md, keeping the other sections.
 */
import * as grpc from "@grpc/grpc-js";
import { Runtime } from "@pulsecheckpoint/sdk";
import { chunksSha256 } from "@pulsecheckpoint/proto/protocol";
import { rawClient, rawSave } from "../tests/support/raw_client.ts";
import { type RuntimeProcess, startRuntime } from "../tests/support/runtime.ts";
import {
  directRead,
  directWrite,
  envNumber,
  eventLoopLagP99Ms,
  firstLine,
  GIB,
  MIB,
  mibPerSecond,
  peakRssMib,
  pieces,
  ROOT,
  runScript,
  runtimeSettings,
  writeBenchmarkSection,
} from "./_support.ts";
import { startDelayProxy } from "./delay_proxy.ts";
import { buildForNode, type NodeBuild } from "../tests/sdk/_node_build.ts";

const SIZE = envNumber("PULSE_BENCH_GIB", 1) * GIB;
const RSS_SIZES = (Deno.env.get("PULSE_BENCH_RSS_GIB") ?? "1,4").split(",").map((g) =>
  Number(g) * GIB
);
const RSS_WORKERS = envNumber("PULSE_BENCH_RSS_WORKERS", 8);
const MANY_WORKERS = envNumber("PULSE_BENCH_MANY_WORKERS", 64);
const MANY_SIZE = envNumber("PULSE_BENCH_MANY_MIB", 64) * MIB;
// Clients per process in section 6: each process one connection, as grpc-js
// shares one among the channels of a process that have the same options.
const MANY_PROCESSES = Math.min(8, MANY_WORKERS);
const RTT_MS = envNumber("PULSE_BENCH_RTT_MS", 10);
const RTT_SIZE = envNumber("PULSE_BENCH_RTT_MIB", 64) * MIB;
const HB_CLIENTS = envNumber("PULSE_BENCH_HEARTBEAT_CLIENTS", 64);
const HB_RPS = envNumber("PULSE_BENCH_HEARTBEAT_RPS", 2000);
const HB_SECONDS = envNumber("PULSE_BENCH_HEARTBEAT_SECONDS", 10);
const ONLY = Deno.env.get("PULSE_BENCH_ONLY")?.split(",");
const runs = (section: string) => ONLY === undefined || ONLY.includes(section);

/** One line of the table. */
interface Row {
  section: string;
  what: string;
  runtime: string;
  baseline: string;
  ratio: string;
  goal: string;
}
const rows: Row[] = [];
const notes: string[] = [];
function row(
  section: string,
  what: string,
  runtime: string,
  baseline: string,
  ratio = "",
  goal = "",
) {
  rows.push({ section, what, runtime, baseline, ratio, goal });
  console.error(`  ${section} ${what}: ${runtime} | ${baseline} | ${ratio} | ${goal}`);
}
const mibs = (bytes: number, ms: number) => `${mibPerSecond(bytes, ms).toFixed(0)} MiB/s`;
const ratio = (value: number) => value.toFixed(2);
const size = (bytes: number) => bytes >= GIB ? `${bytes / GIB} GiB` : `${bytes / MIB} MiB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const met = (ok: boolean) => (ok ? "met" : "**not met**");

interface HeartbeatResult {
  requests: number;
  errors: number;
  firstError: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}
function heartbeats(address: string, rate: number): Promise<HeartbeatResult> {
  return runScript<HeartbeatResult>("heartbeat_load.ts", [
    address,
    String(HB_CLIENTS),
    String(HB_SECONDS),
    String(rate),
  ]).result;
}

async function timedSave(
  rt: Runtime,
  workerId: string,
  data: Iterable<Uint8Array>,
  incremental = false,
) {
  const started = performance.now();
  const checkpoint = await rt.saveCheckpoint({ workerId, data, incremental });
  return { checkpoint, ms: performance.now() - started };
}

async function timedLoad(rt: Runtime, workerId: string, expected: number): Promise<number> {
  const started = performance.now();
  const { stream } = await rt.loadCheckpointStream(workerId, {});
  let loaded = 0;
  for await (const piece of stream) loaded += piece.length;
  if (loaded !== expected) throw new Error(`loaded ${loaded} bytes of ${expected}`);
  return performance.now() - started;
}

// The transport's ceiling: the same SDK calls against a server that does nothing.
async function measureBare(): Promise<
  { saveMs?: number; loadMs?: number; closed?: HeartbeatResult; open?: HeartbeatResult }
> {
  if (!runs("save") && !runs("load") && !runs("heartbeat")) return {};
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", `${ROOT}bench/bare_server.ts`, String(runs("load") ? SIZE : 0)],
    cwd: ROOT,
    stdout: "piped",
  }).spawn();
  const address = await firstLine(server.stdout);
  const rt = new Runtime(`grpc://${address}`);
  try {
    const result: Awaited<ReturnType<typeof measureBare>> = {};
    await rt.registerWorker("bare");
    if (runs("save")) result.saveMs = (await timedSave(rt, "bare", pieces(SIZE, { seed: 1 }))).ms;
    if (runs("load")) result.loadMs = await timedLoad(rt, "bare", SIZE);
    if (runs("heartbeat")) {
      result.closed = await heartbeats(address, 0);
      result.open = await heartbeats(address, HB_RPS);
    }
    return result;
  } finally {
    rt.close();
    server.kill("SIGKILL");
    await server.status;
  }
}

async function measureMain(bare: Awaited<ReturnType<typeof measureBare>>) {
  const runtime = await startRuntime({ env: runtimeSettings() });
  const rt = runtime.client();
  const address = runtime.grpcAddress;
  try {
    await rt.registerWorker("bench");
    const direct = `${runtime.dir}/direct.bin`;
    const directWriteMs = await directWrite(direct, SIZE, 2);
    const directReadMs = await directRead(direct);
    await Deno.remove(direct);

    const first = await timedSave(rt, "bench", pieces(SIZE, { seed: 3 }));
    if (runs("save")) {
      row(
        "1",
        `save ${size(SIZE)} vs write + fsync`,
        mibs(SIZE, first.ms),
        mibs(SIZE, directWriteMs),
        ratio(directWriteMs / first.ms),
      );
      if (bare.saveMs !== undefined) {
        row(
          "1",
          "save vs bare grpc-js server (transport ceiling)",
          mibs(SIZE, first.ms),
          mibs(SIZE, bare.saveMs),
          ratio(bare.saveMs / first.ms),
        );
      }
    }
    if (runs("load")) {
      const loadMs = await timedLoad(rt, "bench", SIZE);
      row(
        "2",
        `load latest ${size(SIZE)} vs read`,
        mibs(SIZE, loadMs),
        mibs(SIZE, directReadMs),
        ratio(directReadMs / loadMs),
      );
      if (bare.loadMs !== undefined) {
        row(
          "2",
          "load vs bare grpc-js server (transport ceiling)",
          mibs(SIZE, loadMs),
          mibs(SIZE, bare.loadMs),
          ratio(bare.loadMs / loadMs),
        );
      }
    }
    if (runs("resave")) {
      // Each save against the latest before it: version 1 changes every tenth
      // chunk of the first save, version 2 the same chunks again.
      const resaves: [string, number, boolean, number?][] = [
        ["re-save, 10% of chunks changed, every byte sent", 1, false],
        ["re-save unchanged, incremental", 1, true],
        ["re-save, 10% of chunks changed, incremental", 2, true, 0.25],
      ];
      for (const [name, version, incremental, goal] of resaves) {
        const data = pieces(SIZE, { seed: 3, changedEvery: 10, version });
        const resaved = await timedSave(rt, "bench", data, incremental);
        const resavedRatio = resaved.ms / first.ms;
        row(
          "3",
          `${name}, vs first save`,
          `${(resaved.ms / 1000).toFixed(1)} s`,
          `${(first.ms / 1000).toFixed(1)} s`,
          ratio(resavedRatio),
          goal === undefined ? "" : `≤ ${goal}: ${met(resavedRatio <= goal)}`,
        );
      }
      const namesMs = await namesOnlySave(address, "bench");
      row(
        "3",
        "save naming every chunk of the latest, from a raw client: the runtime's floor for incremental saves, vs first save",
        `${(namesMs / 1000).toFixed(1)} s`,
        `${(first.ms / 1000).toFixed(1)} s`,
        ratio(namesMs / first.ms),
      );
    }
    if (runs("heartbeat")) await measureHeartbeats(rt, runtime, bare);
    if (runs("rtt")) {
      await measureRtt(rt, address, "receive window as configured");
      await measureWideRtt();
    }
    notes.push(
      `Peak RSS of the runtime after sections 1–4 and 7 (VmHWM): ${
        (await peakRssMib(runtime.process.pid)).toFixed(0)
      } MiB.`,
    );
  } finally {
    rt.close();
    await runtime.stop();
    await Deno.remove(runtime.dir, { recursive: true });
  }
}

interface LatestChunks {
  checkpoint: { checkpoint_id: string; size_bytes: number };
  chunk_sha256s: string[];
}

// A save of nothing but the names of the worker's latest checkpoint's chunks,
// all sent at once by a raw grpc-js client that hashes nothing: what is timed
// is the runtime reading every named chunk back and hashing it. Returns the ms.
async function namesOnlySave(address: string, workerId: string): Promise<number> {
  const client = rawClient(address);
  try {
    const latest = await new Promise<LatestChunks>((resolve, reject) =>
      client.GetCheckpoint(
        { worker_id: workerId, include_chunks: true },
        (error: grpc.ServiceError | null, response: LatestChunks) =>
          error ? reject(error) : resolve(response),
      )
    );
    const started = performance.now();
    await rawSave(client, [
      {
        header: {
          worker_id: workerId,
          expect_trailer: true,
          base_checkpoint_id: latest.checkpoint.checkpoint_id,
        },
      },
      ...latest.chunk_sha256s.map((sha256) => ({ chunk_sha256: sha256 })),
      {
        trailer: {
          size_bytes: latest.checkpoint.size_bytes,
          chunks_sha256: chunksSha256(latest.chunk_sha256s),
        },
      },
    ]);
    return performance.now() - started;
  } finally {
    client.close();
  }
}

// Section 7 again with the receive window raised for links with latency.
async function measureWideRtt() {
  const window = 8 * MIB;
  const runtime = await startRuntime({
    env: { ...runtimeSettings(), PULSE_RECEIVE_WINDOW_BYTES: String(window) },
  });
  const rt = runtime.client();
  try {
    await rt.registerWorker("bench");
    await measureRtt(rt, runtime.grpcAddress, `PULSE_RECEIVE_WINDOW_BYTES=${window}`);
  } finally {
    rt.close();
    await runtime.stop();
    await Deno.remove(runtime.dir, { recursive: true });
  }
}

async function measureHeartbeats(
  rt: Runtime,
  runtime: RuntimeProcess,
  bare: Awaited<ReturnType<typeof measureBare>>,
) {
  const address = runtime.grpcAddress;
  const closed = await heartbeats(address, 0);
  await eventLoopLagP99Ms(runtime.metricsUrl); // starts the samples over
  const idle = await heartbeats(address, HB_RPS);
  const idleLagP99 = await eventLoopLagP99Ms(runtime.metricsUrl);
  const load = runScript<HeartbeatResult>("heartbeat_load.ts", [
    address,
    String(HB_CLIENTS),
    String(HB_SECONDS),
    String(HB_RPS),
  ]);
  // The save starts once the generator's clients are connected, and lasts at least as long as it.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const saveSize = SIZE;
  await eventLoopLagP99Ms(runtime.metricsUrl);
  const saving = await timedSave(rt, "bench", pieces(saveSize, { seed: 4 }));
  const savingLagP99 = await eventLoopLagP99Ms(runtime.metricsUrl);
  const during = await load.result;
  const errors = closed.errors + idle.errors + during.errors;
  const c = `${HB_CLIENTS} clients`;
  row(
    "4",
    `heartbeats, closed loop, ${c}: req/s (p50 / p99)`,
    `${closed.rps.toFixed(0)} (${ms(closed.p50Ms)} / ${ms(closed.p99Ms)})`,
    bare.closed ? `bare: ${bare.closed.rps.toFixed(0)}` : "",
    bare.closed ? ratio(closed.rps / bare.closed.rps) : "",
    `≥ 2000: ${met(closed.rps >= 2000)}`,
  );
  row(
    "4",
    `heartbeats at ${HB_RPS} req/s offered, idle: p50 / p99`,
    `${ms(idle.p50Ms)} / ${ms(idle.p99Ms)}`,
    bare.open ? `bare: ${ms(bare.open.p50Ms)} / ${ms(bare.open.p99Ms)}` : "",
    "",
    `p99 < 50 ms: ${met(idle.p99Ms < 50)}`,
  );
  row(
    "4",
    `heartbeats at ${HB_RPS} req/s during a ${size(saveSize)} save: p50 / p99 (served req/s)`,
    `${ms(during.p50Ms)} / ${ms(during.p99Ms)} (${during.rps.toFixed(0)})`,
    `idle: ${ms(idle.p99Ms)}`,
    ratio(during.p99Ms / idle.p99Ms),
    `p99 < 50 ms: ${met(during.p99Ms < 50)}`,
  );
  row(
    "4",
    "the runtime's event-loop lag during the save: p99",
    ms(savingLagP99),
    `idle heartbeats: ${ms(idleLagP99)}`,
    "",
  );
  row("4", "the save under heartbeat load vs alone", mibs(saveSize, saving.ms), "see 1", "");
  if (errors > 0) {
    notes.push(
      `Heartbeat errors: ${errors} (first: ${
        closed.firstError || idle.firstError || during.firstError
      }).`,
    );
  }
}

// Section 7 against `rt`; `setting` names the runtime's receive window in the rows.
async function measureRtt(rt: Runtime, address: string, setting: string) {
  const plain = await timedSave(rt, "bench", pieces(RTT_SIZE, { seed: 5 }));
  const proxy = await startDelayProxy(address, RTT_MS / 2);
  const proxied = new Runtime(`grpc://${proxy.address}`);
  try {
    const delayed = await timedSave(proxied, "bench", pieces(RTT_SIZE, { seed: 6 }));
    const inFlightKib = (mibPerSecond(RTT_SIZE, delayed.ms) * MIB * RTT_MS / 1000) / 1024;
    row(
      "7",
      `save ${size(RTT_SIZE)} through +${RTT_MS} ms RTT proxy vs none, ${setting}`,
      mibs(RTT_SIZE, delayed.ms),
      mibs(RTT_SIZE, plain.ms),
      ratio(plain.ms / delayed.ms),
      `collapses: ${
        delayed.ms > 2 * plain.ms
          ? `**yes**, ~${inFlightKib.toFixed(0)} KiB per RTT in flight`
          : "no"
      }`,
    );
    const plainLoadMs = await timedLoad(rt, "bench", RTT_SIZE);
    const delayedLoadMs = await timedLoad(proxied, "bench", RTT_SIZE);
    row(
      "7",
      `load ${size(RTT_SIZE)} through +${RTT_MS} ms RTT proxy vs none, ${setting}`,
      mibs(RTT_SIZE, delayedLoadMs),
      mibs(RTT_SIZE, plainLoadMs),
      ratio(plainLoadMs / delayedLoadMs),
    );
  } finally {
    proxied.close();
    await proxy.close();
  }
}

// bench/save_clients.ts and the SDK built for Node, once.
let nodeBuild: Promise<NodeBuild> | undefined;
function saveClients(): Promise<NodeBuild> {
  nodeBuild ??= buildForNode(["bench/save_clients.ts"]);
  return nodeBuild;
}

// Starts `processes` save_clients.ts processes of `workers` workers in all,
// lets them save at once, and samples nothing: VmHWM is read after.
async function concurrentSaves(
  address: string,
  workers: number,
  bytes: number,
  processes: number,
  firstSeed: number,
) {
  const children = await Promise.all(Array.from({ length: processes }, async (_, index) => {
    const count = Math.floor(workers / processes) + (index < workers % processes ? 1 : 0);
    const seed = firstSeed + index * 1000;
    const child = new Deno.Command("node", {
      args: [
        (await saveClients()).script("bench/save_clients.ts"),
        address,
        String(count),
        String(bytes),
        String(seed),
      ],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    return child;
  }));
  const outputs = children.map((child) =>
    child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  );
  const readAll = async (reader: ReadableStreamDefaultReader<string>) => {
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += value;
      if (text.includes("ready\n")) return text;
    }
  };
  for (const reader of outputs) await readAll(reader);
  const started = performance.now();
  const go = new TextEncoder().encode("go\n");
  for (const child of children) {
    const writer = child.stdin.getWriter();
    await writer.write(go);
    await writer.close();
  }
  const results = await Promise.all(outputs.map(async (reader) => {
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    return JSON.parse(text.trim().split("\n").pop()!) as { saveMs: number[]; errors: string[] };
  }));
  const elapsedMs = performance.now() - started;
  await Promise.all(children.map((child) => child.status));
  return { elapsedMs, errors: results.flatMap((r) => r.errors) };
}

async function measureRss() {
  const peaks: number[] = [];
  for (const [index, bytes] of RSS_SIZES.entries()) {
    const runtime = await startRuntime({ env: runtimeSettings() });
    try {
      const idle = await peakRssMib(runtime.process.pid);
      const { elapsedMs, errors } = await concurrentSaves(
        runtime.grpcAddress,
        RSS_WORKERS,
        bytes,
        RSS_WORKERS,
        100 + index * 100,
      );
      const peak = await peakRssMib(runtime.process.pid);
      peaks.push(peak);
      const last = index > 0 ? peaks[index - 1]! : undefined;
      row(
        "5",
        `peak RSS, ${RSS_WORKERS} workers × ${size(bytes)} at once (${
          mibs(RSS_WORKERS * bytes, elapsedMs)
        }, ${errors.length} errors)`,
        `${peak.toFixed(0)} MiB`,
        last === undefined
          ? `idle: ${idle.toFixed(0)} MiB`
          : `${size(RSS_SIZES[index - 1]!)}: ${last.toFixed(0)} MiB`,
        last === undefined ? "" : ratio(peak / last),
        `≤ 512 MiB${last === undefined ? "" : ", same for both"}: ${
          met(peak <= 512 && (last === undefined || peak <= last * 1.1))
        }`,
      );
      if (errors.length > 0) notes.push(`Section 5 errors: ${errors.slice(0, 3).join("; ")}`);
    } finally {
      await runtime.stop();
      await Deno.remove(runtime.dir, { recursive: true });
    }
  }
}

async function measureMany() {
  const runtime = await startRuntime({ env: runtimeSettings() });
  try {
    const total = MANY_WORKERS * MANY_SIZE;
    const directDir = `${runtime.dir}/direct`;
    await Deno.mkdir(directDir);
    let directMs = 0;
    // The direct baseline: the same files, written one after another.
    for (let index = 0; index < MANY_WORKERS; index++) {
      directMs += await directWrite(`${directDir}/${index}.bin`, MANY_SIZE, 10_000 + index);
    }
    await Deno.remove(directDir, { recursive: true });
    const { elapsedMs, errors } = await concurrentSaves(
      runtime.grpcAddress,
      MANY_WORKERS,
      MANY_SIZE,
      MANY_PROCESSES,
      20_000,
    );
    row(
      "6",
      `${MANY_WORKERS} workers × ${
        size(MANY_SIZE)
      } at once (${MANY_PROCESSES} client processes), aggregate vs write + fsync`,
      mibs(total, elapsedMs),
      mibs(total, directMs),
      ratio(directMs / elapsedMs),
      `0 errors: ${met(errors.length === 0)} (${errors.length})`,
    );
    if (errors.length > 0) notes.push(`Section 6 errors: ${errors.slice(0, 3).join("; ")}`);
  } finally {
    await runtime.stop();
    await Deno.remove(runtime.dir, { recursive: true });
  }
}

function table(): string {
  return [
    "| # | measurement | runtime | baseline (same run) | ratio | goal |",
    "|---|---|---|---|---|---|",
    ...rows.toSorted((a, b) => Number(a.section) - Number(b.section)).map((r) =>
      `| ${r.section} | ${r.what} | ${r.runtime} | ${r.baseline} | ${r.ratio} | ${r.goal} |`
    ),
  ].join("\n");
}

const started = performance.now();
const bare = await measureBare();
if (runs("save") || runs("load") || runs("resave") || runs("heartbeat") || runs("rtt")) {
  await measureMain(bare);
}
if (runs("rss")) await measureRss();
if (runs("many")) await measureMany();
if (nodeBuild !== undefined) await (await nodeBuild).remove();
const minutes = (performance.now() - started) / 60_000;
const machine = `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
const section = [
  "## fs store",
  "",
  `Measured on loopback, client and runtime on one machine (${machine}), on ${
    new Date().toISOString().slice(0, 10)
  }, in ${minutes.toFixed(1)} min.`,
  "Each figure is side by side with its baseline, measured in the same run: direct figures are a plain",
  'file write plus fsync, or a plain read, of the same bytes; "bare" is a grpc-js server in a Deno process',
  "of its own that does no work (`bench/bare_server.ts`), measured with the same client: the ceiling of",
  "the transport (grpc-js over Deno's `node:http2`). Ratios are runtime over baseline for rates, and",
  "time over baseline time for re-saves and latency. The runtime runs with its defaults (8 MiB chunks,",
  "4 chunk writes in flight, 2 chunks read ahead, 1 MiB receive windows) and any `PULSE_*` setting of",
  "the environment. Sections 1–4 and 7 save from a Deno SDK client in the benchmark's process; 5 and 6",
  "from SDK clients on Node (`bench/save_clients.ts`), whose `node:http2` holds a source back while the",
  "runtime is busy (Deno 2.8.3's does not; see the README's Deno section).",
  "",
  `Command: \`${
    Object.entries(runtimeSettings()).map(([name, value]) => `${name}=${value} `).join("")
  }deno task bench\` (sizes: see \`bench/throughput.ts\`)`,
  "",
  table(),
  "",
  ...notes.map((note) => `${note}\n`),
  "S3: `deno task bench:s3` (`bench/s3_throughput.ts`) measures the same save and load against S3",
  "servers beside `@aws-sdk/lib-storage`; see its section below.",
].join("\n");
console.log(section);
await writeBenchmarkSection(section, "## S3");
