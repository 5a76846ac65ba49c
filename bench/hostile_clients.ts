/**
 * Hostile clients against a runtime with its default config (issue 12,
 * items 1, 2 and 11), each case on a fresh runtime:
 *
 * (a) Floods of partial messages: 64 SaveCheckpoint calls that each send all
 *     but the last byte of one message and go silent, on one HTTP/2
 *     connection and spread over 8: a message of the largest size the
 *     runtime accepts (`REQUEST_BYTES_MAX`) as the first message, the same
 *     after a valid save header, and the old attack, a 16 MiB message; and,
 *     with authentication on, from a token of role `reader`. Meanwhile
 *     another client registers a worker and saves and loads 64 MiB; its time
 *     against the same on the idle runtime, before the flood, in the same run.
 *     The runtime's RSS (VmRSS, sampled every 100 ms) against its idle RSS.
 * (b) Stalled saves: 16 workers × 4 saves that send a header and one byte and
 *     stop, taking every slot of `limits.saves_max`; another worker's save,
 *     retried by the TS SDK with backoff, against them; and whether the
 *     stalled ones end ABORTED after `server.save_idle_timeout_ms`.
 * (c) Stalled readers: LoadCheckpoint calls whose response is never read;
 *     the runtime's RSS against its idle RSS, bounded by
 *     `server.load_call_bytes_max`.
 *
 * The hostile streams come from `bench/hostile_attacker.ts`, a process of its
 * own speaking raw `node:http2`.
 *
 * Run: `deno run -A bench/hostile_clients.ts` (PULSE_BENCH_ONLY=a, b or c runs
 * one part). Writes the "Hostile clients" section of docs/benchmarks.md.
 */
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { REQUEST_BYTES_MAX } from "@pulsecheckpoint/proto/protocol";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { type RuntimeProcess, startRuntime } from "../tests/support/runtime.ts";
import type { AttackPlan, StreamOutcome } from "./hostile_attacker.ts";
import { MIB, peakRssMib, pieces, ROOT, writeBenchmarkSection } from "./_support.ts";

const VICTIM_BYTES = 64 * MIB;
const FLOOD_STREAMS = 64;
// How long a flood is held open: past server.request_timeout_ms (10 s).
const FLOOD_HOLD_MS = 14_000;
// Stalled saves are held this long: past save_idle_timeout_ms (30 s) after
// chunk_buffer_wait_ms (30 s), for the saves that waited for a buffer first.
const STALL_HOLD_MS = 75_000;
const READER_HOLD_MS = 10_000;
const READER_CHECKPOINT_BYTES = 512 * MIB;
const ONLY = Deno.env.get("PULSE_BENCH_ONLY") ?? "abc";
const ADMIN_TOKEN = "bench-admin-token";
const READER_TOKEN = "bench-reader-token";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const AUTH_ENV = {
  PULSE_AUTH_TOKENS: JSON.stringify([
    { name: "bench-admin", sha256: sha256(ADMIN_TOKEN), role: "admin" },
    { name: "bench-reader", sha256: sha256(READER_TOKEN), role: "reader" },
  ]),
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The resident set size of a process now (VmRSS), in MiB. */
async function rssMib(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const status = new TextDecoder().decode(stdout);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** Samples a process's RSS every 100 ms until stopped; the highest sample. */
function sampleRss(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await rssMib(pid));
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** The attacker process, holding its streams open until `finish`. */
interface Attacker {
  finish(): Promise<StreamOutcome[]>;
}

async function attack(plan: AttackPlan): Promise<Attacker> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      `${ROOT}bench/hostile_attacker.ts`,
      JSON.stringify(plan),
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdout = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await stdout.read();
    if (done) throw new Error(`the attacker exited before it was ready: ${text}`);
    text += value;
  }
  return {
    async finish() {
      const writer = process.stdin.getWriter();
      await writer.write(new TextEncoder().encode("done\n"));
      await writer.close();
      let rest = text.slice(text.indexOf("ready\n") + 6);
      for (let r = await stdout.read(); !r.done; r = await stdout.read()) rest += r.value;
      await process.status;
      return JSON.parse(rest.trim().split("\n").pop()!) as StreamOutcome[];
    },
  };
}

/** How the hostile calls ended, grouped: `count × STATUS at t s: message`. */
function outcomes(list: StreamOutcome[]): string {
  const groups = new Map<string, number[]>();
  for (const o of list) {
    const key = o.status === undefined
      ? "still open"
      : `${o.status === null ? "reset" : grpc.status[o.status]}: ${
        (o.message ?? "").replace(/\b(w|victim|stall)-\d+\b/g, "…").replace(/\d+ bytes/, "N bytes")
          .slice(0, 140)
      }`;
    groups.set(key, [...groups.get(key) ?? [], o.endedMs ?? NaN]);
  }
  return [...groups].map(([key, times]) => {
    const ended = times.filter(Number.isFinite).sort((a, b) => a - b);
    const at = ended.length === 0
      ? ""
      : ` at ${(ended[0]! / 1000).toFixed(1)}–${(ended.at(-1)! / 1000).toFixed(1)} s`;
    return `${times.length} × ${key.replaceAll("|", "\\|")}${at}`;
  }).join("; ");
}

/** What the other client did: register, save 64 MiB, load it back. */
interface VictimTimes {
  totalMs: number;
  saveMs: number;
  loadMs: number;
  error?: string;
}

const victimBytes = (() => {
  const bytes = new Uint8Array(VICTIM_BYTES);
  let at = 0;
  for (const piece of pieces(VICTIM_BYTES, { seed: 7 })) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
})();

async function victim(rt: Runtime, workerId: string): Promise<VictimTimes> {
  const started = performance.now();
  let saveMs = NaN;
  let loadMs = NaN;
  try {
    await rt.registerWorker(workerId);
    let at = performance.now();
    const saved = await rt.saveCheckpoint({ workerId, data: victimBytes });
    saveMs = performance.now() - at;
    at = performance.now();
    const loaded = await rt.loadCheckpoint(workerId, { checkpointId: saved.checkpointId });
    loadMs = performance.now() - at;
    if (loaded.data.length !== VICTIM_BYTES) throw new Error(`loaded ${loaded.data.length} bytes`);
    return { totalMs: performance.now() - started, saveMs, loadMs };
  } catch (error) {
    const message = error instanceof PulseError ? `${error.code}: ${error.message}` : `${error}`;
    return { totalMs: performance.now() - started, saveMs, loadMs, error: message };
  }
}

/** One flood case. */
interface Flood {
  name: string;
  mode: AttackPlan["mode"];
  messageBytes: number;
  connections: number;
  auth: boolean;
}

interface FloodRow {
  flood: Flood;
  idleRss: number;
  /** After the idle save and load, right before the flood. */
  beforeRss: number;
  peakRss: number;
  hwm: number;
  afterRss: number;
  idle: VictimTimes;
  during: VictimTimes;
  ended: string;
}

async function measureFlood(flood: Flood): Promise<FloodRow> {
  const runtime = await startRuntime({ env: flood.auth ? AUTH_ENV : {} });
  const pid = runtime.process.pid;
  const token = flood.auth ? ADMIN_TOKEN : undefined;
  const rt = new Runtime(`grpc://${runtime.grpcAddress}`, { token });
  try {
    const workers = Array.from({ length: 16 }, (_, i) => `w-${i}`);
    for (const id of workers) await rt.registerWorker(id);
    await sleep(1000);
    const idleRss = await rssMib(pid);
    const idle = await victim(rt, "victim-idle");
    const beforeRss = await rssMib(pid);
    const sampler = sampleRss(pid);
    const attacker = await attack({
      address: runtime.grpcAddress,
      connections: flood.connections,
      streamsPerConnection: FLOOD_STREAMS / flood.connections,
      mode: flood.mode,
      messageBytes: flood.messageBytes,
      workers,
      token: flood.auth ? READER_TOKEN : undefined,
    });
    const held = sleep(FLOOD_HOLD_MS);
    await sleep(2000); // the partial messages arrive
    const during = await victim(rt, "victim-during");
    await held;
    const peakRss = await sampler.stop();
    const ended = outcomes(await attacker.finish());
    await sleep(3000);
    const afterRss = await rssMib(pid);
    const hwm = await peakRssMib(pid);
    return { flood, idleRss, beforeRss, peakRss, hwm, afterRss, idle, during, ended };
  } finally {
    rt.close();
    await runtime.stop();
  }
}

const FLOODS: Flood[] = [
  ...[1, 8].map((connections) => ({
    name: `first message of ${REQUEST_BYTES_MAX} bytes (\`REQUEST_BYTES_MAX\`), all but 1 byte`,
    mode: "partial-first" as const,
    messageBytes: REQUEST_BYTES_MAX,
    connections,
    auth: false,
  })),
  ...[1, 8].map((connections) => ({
    name: `valid header, then a data message of ${REQUEST_BYTES_MAX} bytes, all but 1 byte`,
    mode: "header-then-partial" as const,
    messageBytes: REQUEST_BYTES_MAX,
    connections,
    auth: false,
  })),
  ...[1, 8].map((connections) => ({
    name: "the old attack: a first message of 16 MiB, all but 1 byte",
    mode: "partial-first" as const,
    messageBytes: 16 * MIB,
    connections,
    auth: false,
  })),
  ...[1, 8].map((connections) => ({
    name:
      `auth on, a \`reader\` token: first message of ${REQUEST_BYTES_MAX} bytes, all but 1 byte`,
    mode: "partial-first" as const,
    messageBytes: REQUEST_BYTES_MAX,
    connections,
    auth: true,
  })),
  ...[1, 8].map((connections) => ({
    name:
      `auth on, a \`reader\` token: valid header, then a data message of ${REQUEST_BYTES_MAX} bytes, all but 1 byte`,
    mode: "header-then-partial" as const,
    messageBytes: REQUEST_BYTES_MAX,
    connections,
    auth: true,
  })),
];

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (value: number) => `${value.toFixed(0)} MiB`;

function floodTable(rows: FloodRow[]): string {
  const victimCell = (row: FloodRow) =>
    row.during.error !== undefined
      ? `**failed** after ${s(row.during.totalMs)}: ${row.during.error.slice(0, 160)}`
      : `${s(row.during.totalMs)} (save ${s(row.during.saveMs)}, load ${
        s(row.during.loadMs)
      }) vs idle ${s(row.idle.totalMs)}: **${(row.during.totalMs / row.idle.totalMs).toFixed(2)}**`;
  return [
    `| 64 hostile SaveCheckpoint calls | connections | idle RSS | after the idle save + load | peak RSS during (sampled) | VmHWM of the run | RSS 3 s after they left | goal: ≤ 600 MiB and the other client served | other client: register + save + load 64 MiB, vs idle (ratio) | how the hostile calls ended (while held ${
      FLOOD_HOLD_MS / 1000
    } s) |`,
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((row) =>
      `| ${row.flood.name} | ${row.flood.connections} | ${mib(row.idleRss)} | ${
        mib(row.beforeRss)
      } | ${mib(row.peakRss)} | ${mib(row.hwm)} | ${mib(row.afterRss)} | ${
        row.peakRss <= 600 && row.during.error === undefined ? "met" : "**not met**"
      } | ${victimCell(row)} | ${row.ended} |`
    ),
  ].join("\n");
}

/** A save of one worker against the stalled ones, with a retry policy. */
interface Attempt {
  ms: number;
  error?: string;
}

async function saveWith(rt: Runtime, workerId: string): Promise<Attempt> {
  const started = performance.now();
  try {
    await rt.saveCheckpoint({ workerId, data: victimBytes.subarray(0, MIB) });
    return { ms: performance.now() - started };
  } catch (error) {
    const message = error instanceof PulseError ? `${error.code}: ${error.message}` : `${error}`;
    return { ms: performance.now() - started, error: message };
  }
}

interface StallRow {
  connections: number;
  idleRss: number;
  peakRss: number;
  defaultPolicy: Attempt;
  patient: Attempt;
  ended: string;
}

// The SDK's backoff, with attempts enough to outlast the stalls: up to about 100 s.
const PATIENT_RETRY = { maxAttempts: 30, initialDelayMs: 200, maxDelayMs: 5000 };

async function measureStalls(connections: number): Promise<StallRow> {
  const runtime = await startRuntime();
  const pid = runtime.process.pid;
  const address = `grpc://${runtime.grpcAddress}`;
  const rt = new Runtime(address);
  const patientRt = new Runtime(address, { retry: PATIENT_RETRY });
  try {
    const workers = Array.from({ length: 16 }, (_, i) => `stall-${i}`);
    for (const id of [...workers, "other"]) await rt.registerWorker(id);
    await sleep(1000);
    const idleRss = await rssMib(pid);
    const sampler = sampleRss(pid);
    const stalledAt = performance.now();
    const attacker = await attack({
      address: runtime.grpcAddress,
      connections,
      streamsPerConnection: 64 / connections,
      mode: "header-then-byte",
      messageBytes: 1,
      workers,
    });
    await sleep(1000);
    // The SDK's default policy (3 attempts, 100 ms doubling), then a patient one.
    const defaultPolicy = await saveWith(rt, "other");
    const patient = await saveWith(patientRt, "other");
    await sleep(Math.max(0, STALL_HOLD_MS - (performance.now() - stalledAt)));
    const peakRss = await sampler.stop();
    const ended = outcomes(await attacker.finish());
    return { connections, idleRss, peakRss, defaultPolicy, patient, ended };
  } finally {
    rt.close();
    patientRt.close();
    await runtime.stop();
  }
}

function stallTable(rows: StallRow[]): string {
  const cell = (a: Attempt) =>
    a.error === undefined
      ? `succeeded in ${s(a.ms)}`
      : `**failed** after ${s(a.ms)}: ${a.error.slice(0, 140)}`;
  return [
    `| 64 stalled saves (header + 1 byte) | idle RSS | peak RSS | another worker's save, SDK default retry (3 attempts) | the same, SDK retry of 30 attempts (200 ms doubling to 5 s) | within 60 s | how the stalled saves ended (held ${
      STALL_HOLD_MS / 1000
    } s) |`,
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| 16 workers × 4 on ${r.connections} connection${r.connections > 1 ? "s" : ""} | ${
        mib(r.idleRss)
      } | ${mib(r.peakRss)} | ${cell(r.defaultPolicy)} | ${cell(r.patient)} | ${
        r.patient.error === undefined && r.patient.ms <= 60_000 ? "met" : "**not met**"
      } | ${r.ended} |`
    ),
  ].join("\n");
}

interface ReaderRow {
  readers: number;
  askedBytes: number;
  idleRss: number;
  peakRss: number;
  ended: string;
  /** Loads the runtime logged as done while the callers were held. */
  finished: number;
  /** For the baseline row (readers 0): the SDK's load of the whole checkpoint. */
  loadMs?: number;
}

// The baseline: the SDK loads the whole checkpoint, reading as fast as it comes.
async function measureSdkLoad(runtime: RuntimeProcess, idleRss: number): Promise<ReaderRow> {
  const sampler = sampleRss(runtime.process.pid);
  const rt = runtime.client();
  const started = performance.now();
  try {
    const { stream } = await rt.loadCheckpointStream("reader-target");
    for await (const _ of stream) { /* read it all */ }
  } finally {
    rt.close();
  }
  const loadMs = performance.now() - started;
  const peakRss = await sampler.stop();
  return { readers: 0, askedBytes: 0, idleRss, peakRss, ended: "", finished: 0, loadMs };
}

async function measureReaders(dir: string, readers: number, asked: number): Promise<ReaderRow> {
  const runtime = await startRuntime({ dir });
  const pid = runtime.process.pid;
  try {
    await sleep(1000);
    const idleRss = await rssMib(pid);
    if (readers === 0) return await measureSdkLoad(runtime, idleRss);
    const logged = runtime.logs.length;
    const sampler = sampleRss(pid);
    const attacker = await attack({
      address: runtime.grpcAddress,
      connections: readers,
      streamsPerConnection: 1,
      mode: "stalled-load",
      messageBytes: asked,
      workers: ["reader-target"],
    });
    await sleep(READER_HOLD_MS);
    const peakRss = await sampler.stop();
    const finished = runtime.logs.slice(logged).filter((line) =>
      line.includes("Checkpoint loaded")
    ).length;
    const ended = outcomes(await attacker.finish());
    return { readers, askedBytes: asked, idleRss, peakRss, ended, finished };
  } finally {
    await runtime.stop();
  }
}

async function readerRows(): Promise<ReaderRow[]> {
  const first = await startRuntime();
  const rt = first.client();
  try {
    await rt.registerWorker("reader-target");
    await rt.saveCheckpoint({
      workerId: "reader-target",
      data: pieces(READER_CHECKPOINT_BYTES, { seed: 3 }),
    });
  } finally {
    rt.close();
    await first.stop();
  }
  const window = 64 * MIB; // server.load_call_bytes_max's default
  const rows = [];
  for (const [readers, asked] of [[0, 0], [1, window], [8, window], [1, 0]] as const) {
    rows.push(await measureReaders(first.dir, readers, asked));
  }
  await Deno.remove(first.dir, { recursive: true });
  return rows;
}

function readerTable(rows: ReaderRow[]): string {
  return [
    `| LoadCheckpoint callers that never read (a ${
      READER_CHECKPOINT_BYTES / MIB
    } MiB checkpoint) | bytes asked per call | RSS before | peak RSS while held 10 s | growth per reader | loads finished while held | how the calls ended |`,
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      r.readers === 0
        ? `| baseline: one SDK load that reads it all (windows of 32 MiB), ${
          s(r.loadMs!)
        } | 32 MiB | ${mib(r.idleRss)} | ${mib(r.peakRss)} | ${mib(r.peakRss - r.idleRss)} |  |  |`
        : `| ${r.readers}, one connection each | ${
          r.askedBytes === 0 ? "0 (all of it)" : `${r.askedBytes / MIB} MiB`
        } | ${mib(r.idleRss)} | ${mib(r.peakRss)} | ${
          mib((r.peakRss - r.idleRss) / r.readers)
        } | ${r.finished} | ${r.ended || "—"} |`
    ),
  ].join("\n");
}

const sections: string[] = [];
if (ONLY.includes("a")) {
  const rows: FloodRow[] = [];
  // PULSE_BENCH_FLOODS=0,3 runs those cases of FLOODS only.
  const picked = Deno.env.get("PULSE_BENCH_FLOODS")?.split(",").map(Number);
  for (const flood of FLOODS.filter((_, i) => picked === undefined || picked.includes(i))) {
    rows.push(await measureFlood(flood));
    console.error(`bench: flood ${JSON.stringify(rows.at(-1))}`);
  }
  sections.push("### (a) Floods of partial messages", "", floodTable(rows), "");
}
if (ONLY.includes("b")) {
  const rows: StallRow[] = [];
  for (const connections of [16, 1]) {
    rows.push(await measureStalls(connections));
    console.error(`bench: stalls ${JSON.stringify(rows.at(-1))}`);
  }
  sections.push("### (b) Stalled saves", "", stallTable(rows), "");
}
if (ONLY.includes("c")) {
  const rows = await readerRows();
  console.error(`bench: readers ${JSON.stringify(rows)}`);
  sections.push("### (c) Stalled readers", "", readerTable(rows), "");
}

const machine = `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
const command = `${
  ONLY === "abc" ? "" : `PULSE_BENCH_ONLY=${ONLY} `
}deno run -A bench/hostile_clients.ts`;
console.log(sections.join("\n"));
await writeBenchmarkSection(
  [
    "## Hostile clients",
    "",
    `Measured on loopback (${machine}), on ${new Date().toISOString().slice(0, 10)}, each case`,
    "on a fresh runtime with the default config. The hostile calls come from",
    "`bench/hostile_attacker.ts`, a process of its own that writes gRPC frames on raw",
    "`node:http2` streams; RSS is the runtime's VmRSS sampled every 100 ms from",
    "`/proc/<pid>/status`, idle RSS measured before the case, in the same run. The other client",
    "is the TS SDK in the benchmark's process.",
    "",
    `Command: \`${command}\` (\`bench/hostile_clients.ts\`)`,
    "",
    ...sections,
  ].join("\n"),
  "## Profiles",
);
