/**
 * The TypeScript SDK's direct path against its stream path, in one run on
 * SeaweedFS (from PULSE_TEST_S3_SERVERS; `eval "$(bash
 * scripts/ci_s3_servers.sh)"` starts it): one runtime, two clients of it
 * (the default, which sends and fetches chunks straight to and from the
 * bucket, and one with `directTransfer: false`, whose bytes pass through the
 * runtime), each saving and loading its own bytes (no chunk shared, so that
 * neither benefits from the other's uploads). Printed: MiB/s of each save and
 * load, and the runtime's CPU seconds per GiB moved
 * (`pulse_process_cpu_seconds_total` from its /metrics before and after).
 *
 * Run: `deno run -A bench/direct_path.ts` (PULSE_BENCH_GIB sets the size,
 * default 1; PULSE_BENCH_SERVER another server of PULSE_TEST_S3_SERVERS).
 * Writes the "S3: the TypeScript SDK's direct path" section of docs/benchmarks.md.
 */
import { Runtime } from "../sdk/mod.ts";
import { type RuntimeProcess, startRuntime } from "../tests/support/runtime.ts";
import { configuredServers, metricSum, runtimeEnv } from "../tests/support/s3_targets.ts";
import { envNumber, GIB, mibPerSecond, pieces, writeBenchmarkSection } from "./_support.ts";

const SIZE = envNumber("PULSE_BENCH_GIB", 1) * GIB;
const SERVER = Deno.env.get("PULSE_BENCH_SERVER") ?? "seaweedfs";
// The runtime's retry defaults, not the tests' fast ones.
const RETRY = { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 5000 };

interface Row {
  path: string;
  saveMs: number;
  saveCpu: number;
  loadMs: number;
  loadCpu: number;
}

function bytesOf(seed: number): Uint8Array {
  const all = new Uint8Array(SIZE);
  let offset = 0;
  for (const piece of pieces(SIZE, { seed })) {
    all.set(piece, offset);
    offset += piece.length;
  }
  return all;
}

const cpu = (runtime: RuntimeProcess) => metricSum(runtime, "pulse_process_cpu_seconds_total");

async function measure(runtime: RuntimeProcess, rt: Runtime, path: string, seed: number) {
  const data = bytesOf(seed);
  const worker = `bench-${path}`;
  await rt.registerWorker(worker);
  let cpuBefore = await cpu(runtime);
  let started = performance.now();
  const saved = await rt.saveCheckpoint({ workerId: worker, data });
  const saveMs = performance.now() - started;
  const saveCpu = (await cpu(runtime)) - cpuBefore;
  cpuBefore = await cpu(runtime);
  started = performance.now();
  const loaded = await rt.loadCheckpoint(worker, { checkpointId: saved.checkpointId });
  const loadMs = performance.now() - started;
  const loadCpu = (await cpu(runtime)) - cpuBefore;
  if (loaded.data.length !== SIZE || loaded.checkpoint.sha256 !== saved.sha256) {
    throw new Error(`${path}: the load differs from the save`);
  }
  return { path, saveMs, saveCpu, loadMs, loadCpu };
}

async function main() {
  const server = configuredServers().find((s) => s.name === SERVER);
  if (server === undefined) throw new Error(`PULSE_TEST_S3_SERVERS names no ${SERVER}`);
  const target = await server.acquire("bench-direct");
  const loadBefore = Deno.loadavg()[0]!;
  const started = Date.now();
  const runtime = await startRuntime({
    env: runtimeEnv(target, {
      retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 5000 },
    }),
  });
  const rows: Row[] = [];
  try {
    await using direct = new Runtime(`grpc://${runtime.grpcAddress}`, { retry: RETRY });
    await using stream = new Runtime(`grpc://${runtime.grpcAddress}`, {
      retry: RETRY,
      directTransfer: false,
    });
    // Each path twice, alternating, each time with bytes of its own.
    for (let round = 0; round < 2; round++) {
      rows.push(await measure(runtime, direct, "direct", 10 + round));
      rows.push(await measure(runtime, stream, "stream", 20 + round));
    }
  } finally {
    await runtime.stop();
    await Deno.remove(runtime.dir, { recursive: true });
    await target.release();
  }
  const gib = SIZE / GIB;
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const when = new Date().toISOString().slice(0, 10);
  const load = `${loadBefore.toFixed(2)} before and ${Deno.loadavg()[0]!.toFixed(2)} after`;
  const lines = rows.map((r) =>
    `| ${r.path} | ${mibPerSecond(SIZE, r.saveMs).toFixed(0)} | ${
      mibPerSecond(SIZE, r.loadMs).toFixed(0)
    } | ${(r.saveCpu / gib).toFixed(2)} | ${(r.loadCpu / gib).toFixed(2)} |`
  );
  const best = (path: string, key: "saveMs" | "loadMs") =>
    Math.min(...rows.filter((r) => r.path === path).map((r) => r[key]));
  const section = `## S3: the TypeScript SDK's direct path

\`eval "$(bash scripts/ci_s3_servers.sh)"; deno run -A bench/direct_path.ts\`
(${gib} GiB per save from a \`Uint8Array\`, on ${SERVER}, one runtime, the client and
the server on one machine: 2 cores, Deno 2.8.3, on ${when}, in ${minutes} min; load
average ${load}). Each path twice, alternating, each save with bytes of its own;
\`direct\` is the default client, \`stream\` one with \`directTransfer: false\`.

| path | save MiB/s | load MiB/s | runtime CPU s/GiB saved | runtime CPU s/GiB loaded |
|---|---|---|---|---|
${lines.join("\n")}

Best of each, direct against stream: save ${
    (best("stream", "saveMs") / best("direct", "saveMs")).toFixed(2)
  }×, load ${(best("stream", "loadMs") / best("direct", "loadMs")).toFixed(2)}×.
`;
  console.log(section);
  await writeBenchmarkSection(section, "## Rot verification of stored chunks");
}

if (import.meta.main) await main();
