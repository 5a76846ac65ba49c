/**
 * What verifying already-stored chunks costs a save. A save of bytes whose
 * chunks the store already has (a re-save, every byte sent) no longer reuses
 * them unread: each stored chunk is read back, 1 MiB at a time, and compared
 * with the bytes the save sent for it (`chunk_writer.ts`). There is no
 * setting to turn that off, so the cost is measured against a fresh save of
 * as many bytes in the same run, on one runtime (fs store, its defaults):
 *
 * - rounds of a fresh save (new bytes: every chunk written) followed by a
 *   re-save of the same bytes (every chunk deduplicated, so read back and
 *   compared), the metric `pulse_chunks_total{result}` confirming which path
 *   each chunk took; medians of the rounds;
 * - then, with the runtime stopped, the verification's own work alone: the
 *   same stored chunks read back through an `FsStore` in 1 MiB slices and
 *   compared with their bytes, in this process.
 *
 * The chunks were just written, so their reads come from the page cache: on
 * a cold cache the reads run at the disk's speed instead.
 *
 * PULSE_BENCH_VERIFY_GIB [1] size of each checkpoint; PULSE_BENCH_VERIFY_ROUNDS
 * [3]. Run with `deno task bench:verify`. Prints a Markdown section and
 * writes it to docs/benchmarks.md.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { chunkKeyOf } from "../src/keys.ts";
import { CHUNK_VERIFY_SLICE_BYTES } from "../src/limits.ts";
import { FsStore } from "../src/storage/fs_store.ts";
import { startRuntime } from "../tests/support/runtime.ts";
import {
  CHUNK_BYTES,
  envNumber,
  GIB,
  MIB,
  mibPerSecond,
  PIECE_BYTES,
  pieces,
  runtimeSettings,
  writeBenchmarkSection,
} from "./_support.ts";

const SIZE = envNumber("PULSE_BENCH_VERIFY_GIB", 1) * GIB;
const ROUNDS = Math.max(1, envNumber("PULSE_BENCH_VERIFY_ROUNDS", 3));

// The sum of the samples of counter `name` whose label `result` is `result`.
async function chunksTotal(metricsUrl: string, result: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return text.split("\n")
    .filter((line) => line.startsWith("pulse_chunks_total{") && line.includes(`result="${result}"`))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

// The 1-minute load average, through `cat`: Deno asks for --allow-all to read /proc directly.
async function loadAverage(): Promise<string> {
  const { stdout } = await new Deno.Command("cat", { args: ["/proc/loadavg"] }).output();
  return new TextDecoder().decode(stdout).split(" ")[0]!;
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// The chunk names of the bytes of `seed`, in order.
function chunkNames(seed: number): string[] {
  const names: string[] = [];
  let hash = createHash("sha256");
  let filled = 0;
  for (const piece of pieces(SIZE, { seed })) {
    hash.update(piece);
    filled += piece.length;
    if (filled === CHUNK_BYTES) {
      names.push(hash.digest("hex"));
      hash = createHash("sha256");
      filled = 0;
    }
  }
  if (filled > 0) names.push(hash.digest("hex"));
  return names;
}

// The verification alone: every stored chunk of `seed` read back in slices
// and compared with its bytes, as a re-save does. Returns the milliseconds.
async function verifyStored(store: FsStore, seed: number): Promise<number> {
  if (PIECE_BYTES !== CHUNK_VERIFY_SLICE_BYTES) throw new Error("pieces are not slices");
  const names = chunkNames(seed);
  const slicesPerChunk = CHUNK_BYTES / CHUNK_VERIFY_SLICE_BYTES;
  let index = 0;
  const started = performance.now();
  for (const piece of pieces(SIZE, { seed })) {
    const key = chunkKeyOf(names[Math.floor(index / slicesPerChunk)]!);
    const offset = (index % slicesPerChunk) * CHUNK_VERIFY_SLICE_BYTES;
    const stored = await store.get(key, { offset, length: piece.length });
    if (stored === undefined || !Buffer.from(stored).equals(piece)) {
      throw new Error(`stored chunk ${key} differs at ${offset}`);
    }
    index++;
  }
  return performance.now() - started;
}

const runtime = await startRuntime({ env: { PULSE_GC_INTERVAL_MS: "0", ...runtimeSettings() } });
const rt = runtime.client();
const fresh: number[] = [];
const resaved: number[] = [];
const chunksPerSave = Math.ceil(SIZE / CHUNK_BYTES);
const started = performance.now();
const loadBefore = await loadAverage();
let verifyMs: number;
try {
  await rt.registerWorker("bench");
  for (let round = 0; round < ROUNDS; round++) {
    const seed = 100 + round;
    for (const [times, result] of [[fresh, "written"], [resaved, "deduplicated"]] as const) {
      const before = await chunksTotal(runtime.metricsUrl, result);
      const t0 = performance.now();
      await rt.saveCheckpoint({ workerId: "bench", data: pieces(SIZE, { seed }) });
      times.push(performance.now() - t0);
      const took = await chunksTotal(runtime.metricsUrl, result) - before;
      if (took !== chunksPerSave) {
        throw new Error(`${took} chunks ${result} by a save of ${chunksPerSave} chunks`);
      }
    }
    console.error(
      `  round ${round + 1}: fresh ${fresh.at(-1)!.toFixed(0)} ms, re-save ${
        resaved.at(-1)!.toFixed(0)
      } ms`,
    );
  }
} finally {
  rt.close();
  await runtime.stop();
}
{
  const store = await FsStore.open(`${runtime.dir}/data`);
  try {
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) times.push(await verifyStored(store, 100 + round));
    verifyMs = median(times);
  } finally {
    await store.close();
  }
}
await Deno.remove(runtime.dir, { recursive: true });
const loadAfter = await loadAverage();

const freshMs = median(fresh);
const resavedMs = median(resaved);
const rate = (ms: number) => `${mibPerSecond(SIZE, ms).toFixed(0)} MiB/s`;
const size = `${SIZE / GIB >= 1 ? `${SIZE / GIB} GiB` : `${SIZE / MIB} MiB`}`;
const minutes = (performance.now() - started) / 60_000;
const section = [
  "## Rot verification of stored chunks",
  "",
  `Measured on loopback, client and runtime on one machine (${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}), on ${
    new Date().toISOString().slice(0, 10)
  }, in ${
    minutes.toFixed(1)
  } min; medians of ${ROUNDS} rounds; the machine's load average was ${loadBefore} before and ${loadAfter} after`,
  "(others' work shares it: compare the ratios, not the rates, with other sections).",
  "A save whose chunks the store already has reads each one back (1 MiB at a time) and compares it",
  "with the bytes it sent before it commits, rewriting it if it rotted; there is no setting to turn",
  "that off, so it is measured against a fresh save of as many bytes in the same run (every chunk",
  "written), each round a fresh save of new bytes and then a re-save of the same bytes, every byte",
  "sent (`pulse_chunks_total{result}` confirms every chunk took the path named). The last row is the",
  "verification's own work alone, in the benchmark's process on the stopped runtime's store. The",
  "chunks were just written, so the reads come from the page cache; on a cold cache they run at the",
  "disk's read speed.",
  "",
  `Command: \`deno task bench:verify\` (\`PULSE_BENCH_VERIFY_GIB\`, \`PULSE_BENCH_VERIFY_ROUNDS\`)`,
  "",
  "| measurement | runtime | baseline (same run) | ratio |",
  "|---|---|---|---|",
  `| re-save of ${size} already stored, every byte sent (each chunk read back and compared), vs a fresh save | ${
    rate(resavedMs)
  } (${(resavedMs / 1000).toFixed(1)} s) | ${rate(freshMs)} (${(freshMs / 1000).toFixed(1)} s) | ${
    (resavedMs / freshMs).toFixed(2)
  } (time) |`,
  `| the verification alone: ${size} of stored chunks read back in 1 MiB slices and compared, vs the fresh save | ${
    rate(verifyMs)
  } (${(verifyMs / 1000).toFixed(1)} s) | ${rate(freshMs)} | ${
    (verifyMs / resavedMs).toFixed(2)
  } of the re-save's time |`,
  "",
  "A re-save does that work in its chunks' write slots, while the next chunks arrive: the last row's",
  "ratio estimates the share of a re-save's time the verification takes, less what overlaps.",
  "",
].join("\n");
console.log(section);
await writeBenchmarkSection(section, "## Profiles");
