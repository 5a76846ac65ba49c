/**
 * Start-up time against the number of worker records (issue 16, item 1):
 * from the runtime's process start to its first successful `ListWorkers` and
 * health check, with 0, 10,000 and 100,000 worker records in the store (and
 * a tenth as many dataset records, plus workers with checkpoints saved
 * through the SDK), on the fs store and on a loopback SeaweedFS. Then how
 * long until `pulse_active_workers` reports every worker: the background
 * scan (`registry.scan_interval_ms` between pages of 500 records).
 *
 * Records are written straight to the store in the runtime's own format
 * (`src/workers/worker_registry.ts`, `src/datasets/dataset_registry.ts`) and
 * layout (`src/keys.ts`), many at once, so that 100,000 take minutes, not
 * hours; the counts grow from one measurement to the next in one store.
 * Worker records carry a heartbeat of now and the runtimes run with
 * `PULSE_HEARTBEAT_TIMEOUT_MS=86400000`, so every seeded worker is ACTIVE
 * while the scan counts.
 *
 * Run: `eval "$(bash scripts/ci_s3_servers.sh)" && deno run -A bench/startup.ts`
 * (without PULSE_TEST_S3_SERVERS, the fs store only). PULSE_BENCH_STARTUP_COUNTS
 * (default `0,10000,100000`), PULSE_BENCH_STARTUP_STORES (default `fs,seaweedfs`),
 * PULSE_BENCH_STARTUP_RUNS (starts per count, default 3; the median is
 * reported) and PULSE_BENCH_SCAN_WAIT_S (longest wait for the gauge, default
 * 600). Writes the "Start-up" section of docs/benchmarks.md.
 */
import * as grpc from "@grpc/grpc-js";
import { DeleteObjectsCommand, paginateListObjectsV2, PutObjectCommand } from "@aws-sdk/client-s3";
import { loadPulsePackage } from "@pulsecheckpoint/proto";
import { type RawClient, rawClient } from "../tests/support/raw_client.ts";
import { startRuntime } from "../tests/support/runtime.ts";
import { configuredServers, runtimeEnv, type S3Target } from "../tests/support/s3_targets.ts";
import { envNumber, writeBenchmarkSection } from "./_support.ts";

const COUNTS = (Deno.env.get("PULSE_BENCH_STARTUP_COUNTS") ?? "0,10000,100000").split(",")
  .map(Number);
const STORES = (Deno.env.get("PULSE_BENCH_STARTUP_STORES") ?? "fs,seaweedfs").split(",");
const RUNS = envNumber("PULSE_BENCH_STARTUP_RUNS", 3);
const SCAN_WAIT_MS = envNumber("PULSE_BENCH_SCAN_WAIT_S", 600) * 1000;
// Writes in flight while seeding.
const SEED_IN_FLIGHT = 64;
// Workers with checkpoints, saved through the SDK before the records are seeded.
const SDK_WORKERS = 10;
const CHECKPOINTS_PER_SDK_WORKER = 5;
// Every seeded worker stays ACTIVE for the duration of the benchmark.
const HEARTBEAT_TIMEOUT_MS = "86400000";

/** Where records go: a store of the runtime, written around it. */
interface Store {
  name: string;
  /** The runtime's environment on this store. */
  env: Record<string, string>;
  /** The directory runtimes run in (the fs store is its `data/`). */
  dir: string;
  put(key: string, body: string): Promise<void>;
  release(): Promise<void>;
}

async function fsStore(): Promise<Store> {
  const dir = await Deno.makeTempDir({ prefix: "pulse-bench-startup-" });
  const made = new Set<string>();
  return {
    name: "fs",
    env: {},
    dir,
    async put(key, body) {
      const path = `${dir}/data/${key}`;
      const parent = path.slice(0, path.lastIndexOf("/"));
      if (!made.has(parent)) {
        await Deno.mkdir(parent, { recursive: true });
        made.add(parent);
      }
      await Deno.writeTextFile(path, body);
    },
    release: () => Deno.remove(dir, { recursive: true }),
  };
}

async function seaweedStore(target: S3Target): Promise<Store> {
  const dir = await Deno.makeTempDir({ prefix: "pulse-bench-startup-" });
  return {
    name: "seaweedfs",
    env: runtimeEnv(target, { retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 5000 } }),
    dir,
    async put(key, body) {
      await target.client.send(
        new PutObjectCommand({ Bucket: target.bucket, Key: target.prefix + key, Body: body }),
      );
    },
    async release() {
      // DeleteObjects, 1000 keys a request: one DELETE per key takes long at 100,000.
      const pages = paginateListObjectsV2({ client: target.client }, {
        Bucket: target.bucket,
        Prefix: target.prefix,
      });
      for await (const page of pages) {
        const objects = (page.Contents ?? []).map((object) => ({ Key: object.Key! }));
        if (objects.length === 0) continue;
        await target.client.send(
          new DeleteObjectsCommand({ Bucket: target.bucket, Delete: { Objects: objects } }),
        );
      }
      target.client.destroy();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

// Runs `task(i)` for every i in [from, to), SEED_IN_FLIGHT at once.
async function inParallel(from: number, to: number, task: (i: number) => Promise<void>) {
  let next = from;
  const lane = async () => {
    while (next < to) await task(next++);
  };
  await Promise.all(Array.from({ length: SEED_IN_FLIGHT }, lane));
}

const pad = (i: number) => String(i).padStart(6, "0");

/** Writes worker records `from`..`to`-1 and a tenth as many dataset records. */
async function seed(store: Store, from: number, to: number): Promise<number> {
  const started = performance.now();
  const now = new Date().toISOString();
  await inParallel(from, to, (i) =>
    store.put(
      `workers/seeded-${pad(i)}.json`,
      JSON.stringify({
        worker_id: `seeded-${pad(i)}`,
        metadata: { rank: i, host: `node-${i % 512}` },
        registered_at: now,
        last_heartbeat: now,
        deregistered: false,
      }),
    ));
  await inParallel(Math.ceil(from / 10), Math.ceil(to / 10), (i) =>
    store.put(
      `datasets/seeded-${pad(i)}.json`,
      JSON.stringify({
        name: `seeded-${pad(i)}`,
        path: `s3://bench/datasets/${i}`,
        metadata: {},
        registered_at: now,
      }),
    ));
  return performance.now() - started;
}

function runtimeEnvOf(store: Store): Record<string, string> {
  return { ...store.env, PULSE_HEARTBEAT_TIMEOUT_MS: HEARTBEAT_TIMEOUT_MS };
}

/** Workers with checkpoints and datasets, made through the SDK (and the runtime's format). */
async function seedThroughSdk(store: Store): Promise<void> {
  const runtime = await startRuntime({ dir: store.dir, env: runtimeEnvOf(store) });
  const rt = runtime.client();
  try {
    for (let w = 0; w < SDK_WORKERS; w++) {
      await rt.registerWorker(`sdk-${w}`);
      await rt.registerDataset(`sdk-${w}`, { path: `s3://bench/sdk/${w}` });
      for (let c = 0; c < CHECKPOINTS_PER_SDK_WORKER; c++) {
        await rt.saveCheckpoint({ workerId: `sdk-${w}`, data: new Uint8Array(64 * 1024).fill(c) });
      }
    }
  } finally {
    rt.close();
    await runtime.stop();
  }
}

function unary(client: RawClient, method: string, request: unknown): Promise<unknown> {
  return new Promise((resolve, reject) =>
    client[method](
      request,
      (error: unknown, response: unknown) => error ? reject(error) : resolve(response),
    )
  );
}

function healthClient(address: string): RawClient {
  const Health = grpc.makeGenericClientConstructor(
    loadPulsePackage()["grpc.health.v1.Health"] as grpc.ServiceDefinition,
    "Health",
  );
  return new Health(address, grpc.credentials.createInsecure()) as RawClient;
}

async function activeWorkers(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return Number(/^pulse_active_workers(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** One start, in ms from the spawn: its log line, serving health checks and `ListWorkers`. */
interface Start {
  listeningMs: number;
  healthMs: number;
  listMs: number;
  /** Until `pulse_active_workers` counted every worker, when asked. */
  countMs?: number;
}

// Resolves to the ms since `started` when `call` succeeds.
const timed = (started: number, call: Promise<unknown>) =>
  call.then(() => performance.now() - started);

async function startOnce(
  store: Store,
  options: { expected?: number; scanOff?: boolean } = {},
): Promise<Start> {
  const env = runtimeEnvOf(store);
  if (options.scanOff) env.PULSE_REGISTRY_SCAN_INTERVAL_MS = "0";
  const started = performance.now();
  const runtime = await startRuntime({ dir: store.dir, env });
  const listeningMs = performance.now() - started;
  const client = rawClient(runtime.grpcAddress);
  const health = healthClient(runtime.grpcAddress);
  try {
    const [healthMs, listMs] = await Promise.all([
      timed(
        started,
        unary(health, "Check", { service: "" }).then((response) => {
          if ((response as { status: string }).status !== "SERVING") throw new Error("not SERVING");
        }),
      ),
      timed(started, unary(client, "ListWorkers", { page_size: 100 })),
    ]);
    const start = { listeningMs, healthMs, listMs };
    if (options.expected === undefined) return start;
    while (performance.now() - started < SCAN_WAIT_MS) {
      if (await activeWorkers(runtime.metricsUrl) >= options.expected) {
        return { ...start, countMs: performance.now() - started };
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { ...start, countMs: Infinity };
  } finally {
    client.close();
    health.close();
    await runtime.stop();
  }
}

/** One row: a store and a count of seeded workers. */
interface Row {
  store: string;
  workers: number;
  seedMs: number;
  listeningMs: number;
  healthMs: number;
  listMs: number;
  /** The first ListWorkers with the background scan off. */
  listScanOffMs: number;
  countMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function measureStore(store: Store): Promise<Row[]> {
  await seedThroughSdk(store);
  const rows: Row[] = [];
  let seeded = 0;
  for (const count of COUNTS) {
    const seedMs = await seed(store, seeded, count);
    seeded = count;
    const starts: Start[] = [];
    const scanOff: Start[] = [];
    for (let run = 0; run < RUNS; run++) {
      starts.push(await startOnce(store));
      scanOff.push(await startOnce(store, { scanOff: true }));
    }
    const counted = await startOnce(store, { expected: count + SDK_WORKERS });
    const row: Row = {
      store: store.name,
      workers: count,
      seedMs,
      listeningMs: median(starts.map((s) => s.listeningMs)),
      healthMs: median(starts.map((s) => s.healthMs)),
      listMs: median(starts.map((s) => s.listMs)),
      listScanOffMs: median(scanOff.map((s) => s.listMs)),
      countMs: counted.countMs!,
    };
    console.error(`bench: startup ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return rows;
}

function table(rows: Row[]): string {
  const zero = (store: string) => rows.find((r) => r.store === store && r.workers === 0);
  const s = (ms: number) => Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "not reached";
  return [
    '| store | worker records | seeded in | spawn → "Runtime started" | → health check SERVING | → first `ListWorkers` (100 a page) | `ListWorkers` vs 0 workers | → first `ListWorkers`, background scan off | → `pulse_active_workers` full |',
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const base = zero(r.store);
      const ratio = base === undefined ? "" : (r.listMs / base.listMs).toFixed(2);
      return `| ${r.store} | ${r.workers.toLocaleString("en")} (+${SDK_WORKERS}) | ${
        s(r.seedMs)
      } | ${s(r.listeningMs)} | ${s(r.healthMs)} | ${s(r.listMs)} | ${ratio} | ${
        s(r.listScanOffMs)
      } | ${s(r.countMs)} |`;
    }),
  ].join("\n");
}

const rows: Row[] = [];
for (const name of STORES) {
  let store: Store;
  if (name === "fs") {
    store = await fsStore();
  } else {
    const server = configuredServers().find((s) => s.name === name);
    if (server === undefined) {
      console.error(`bench: ${name} is not in PULSE_TEST_S3_SERVERS; skipped`);
      continue;
    }
    store = await seaweedStore(await server.acquire("bench-startup"));
  }
  try {
    rows.push(...await measureStore(store));
  } finally {
    await store.release();
  }
}

const machine = `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
const markdown = table(rows);
const command = `eval "$(bash scripts/ci_s3_servers.sh)" && ${
  Deno.env.has("PULSE_BENCH_STARTUP_COUNTS")
    ? `PULSE_BENCH_STARTUP_COUNTS=${COUNTS.join(",")} `
    : ""
}deno run -A bench/startup.ts`;
console.log(`Command: \`${command}\`\n\n${markdown}`);
await writeBenchmarkSection(
  [
    "## Start-up",
    "",
    `Measured on loopback (${machine}), on ${new Date().toISOString().slice(0, 10)}:`,
    "the time from spawning the runtime process (`deno run` with the start task's flags) to its",
    "first successful `grpc.health.v1.Health/Check` and `ListWorkers` (sent together as soon as",
    'it logs "Runtime started"), median of',
    `${RUNS} starts, and as many with \`PULSE_REGISTRY_SCAN_INTERVAL_MS=0\`, with N worker records in the store, N/10 dataset records and ${SDK_WORKERS}`,
    `workers of ${CHECKPOINTS_PER_SDK_WORKER} checkpoints each saved through the SDK. The records`,
    'are written straight to the store in the runtime\'s format, 64 at once ("seeded in": the',
    "records added since the row above). The last column is one more start: until",
    "`pulse_active_workers` counts every worker, the background scan of 500 records per",
    "`registry.scan_interval_ms` (1 s by default). SeaweedFS is the `weed server` of",
    "`scripts/ci_s3_servers.sh`.",
    "",
    `Command: \`${command}\` (\`bench/startup.ts\`)`,
    "",
    markdown,
    "",
  ].join("\n"),
  "## Profiles",
);
