/**
 * Save and load throughput through the runtime on the embedded fs store,
 * beside a direct file write (plus fsync) and read of the same bytes in the
 * same run, and the runtime's peak RSS while saving a large checkpoint.
 *
 * Run: `deno task bench` (PULSE_BENCH_GIB sets the checkpoint size, default 1;
 * PULSE_BENCH_RSS_GIB the size of the RSS run, default 2). Prints a Markdown
 * table and writes it to docs/benchmarks.md.
 */
import { startRuntime } from "../tests/support/runtime.ts";
import { randomBytes } from "../tests/support/bytes.ts";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const SIZE = Number(Deno.env.get("PULSE_BENCH_GIB") ?? 1) * GIB;
const RSS_SIZE = Number(Deno.env.get("PULSE_BENCH_RSS_GIB") ?? 2) * GIB;
const PIECE = MIB;

// Distinct bytes for every piece without holding the whole checkpoint: a
// 64 MiB random block, each piece stamped with its index, so no chunk repeats.
const block = randomBytes(64 * MIB);
function* pieces(total: number): Generator<Uint8Array> {
  for (let index = 0; index * PIECE < total; index++) {
    const offset = (index * PIECE) % block.length;
    const piece = block.subarray(offset, offset + Math.min(PIECE, total - index * PIECE));
    new DataView(piece.buffer, piece.byteOffset).setFloat64(0, index);
    yield piece;
  }
}

function mibPerSecond(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

async function directWriteAndRead(dir: string, total: number): Promise<[number, number]> {
  const path = `${dir}/direct.bin`;
  let started = performance.now();
  {
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    for (const piece of pieces(total)) {
      let written = 0;
      while (written < piece.length) written += await file.write(piece.subarray(written));
    }
    await file.sync();
  }
  const writeMs = performance.now() - started;
  started = performance.now();
  {
    using file = await Deno.open(path);
    const buffer = new Uint8Array(PIECE);
    while ((await file.read(buffer)) !== null) { /* read it all */ }
  }
  const readMs = performance.now() - started;
  await Deno.remove(path);
  return [writeMs, readMs];
}

// The highest resident set size the process has had (VmHWM), in MiB.
async function peakRssMib(pid: number): Promise<number> {
  // Through `cat`: Deno asks for --allow-all to read /proc directly.
  const { stdout } = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const status = new TextDecoder().decode(stdout);
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

const runtime = await startRuntime();
const rt = runtime.client();
try {
  await rt.registerWorker("bench");
  const [directWriteMs, directReadMs] = await directWriteAndRead(runtime.dir, SIZE);

  let started = performance.now();
  const saved = await rt.saveCheckpoint({ workerId: "bench", data: pieces(SIZE) });
  const saveMs = performance.now() - started;

  started = performance.now();
  const { stream } = await rt.loadCheckpointStream("bench", { checkpointId: saved.checkpointId });
  let loaded = 0;
  for await (const piece of stream) loaded += piece.length;
  const loadMs = performance.now() - started;
  if (loaded !== SIZE) throw new Error(`loaded ${loaded} bytes of ${SIZE}`);

  const rssBefore = await peakRssMib(runtime.process.pid);
  await rt.saveCheckpoint({ workerId: "bench", data: pieces(RSS_SIZE) });
  const rssPeak = await peakRssMib(runtime.process.pid);

  const gib = (bytes: number) => `${bytes / GIB} GiB`;
  const row = (name: string, bytes: number, ms: number, baselineMs: number) =>
    `| ${name} | ${gib(bytes)} | ${mibPerSecond(bytes, ms).toFixed(0)} | ${
      mibPerSecond(bytes, baselineMs).toFixed(0)
    } | ${(baselineMs / ms).toFixed(2)} |`;
  const table = [
    "| operation | size | runtime MiB/s | direct MiB/s | ratio |",
    "|---|---|---|---|---|",
    row("save (SDK → runtime → fs store)", SIZE, saveMs, directWriteMs),
    row("load (fs store → runtime → SDK)", SIZE, loadMs, directReadMs),
    "",
    `Peak RSS of the runtime process (VmHWM): ${rssBefore.toFixed(0)} MiB after the ${
      gib(SIZE)
    } runs, ${rssPeak.toFixed(0)} MiB after saving ${gib(RSS_SIZE)} more.`,
  ].join("\n");
  console.log(table);
  const machine = `${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
  await Deno.writeTextFile(
    new URL("../docs/benchmarks.md", import.meta.url),
    [
      "# Benchmarks",
      "",
      "Measured on loopback, client and runtime on one machine",
      `(${machine}), on ${new Date().toISOString().slice(0, 10)}. Direct figures are a plain`,
      "file write plus fsync, and a plain read, of the same bytes in the same run.",
      "",
      "Command: `deno task bench`",
      "",
      table,
      "",
    ].join("\n"),
  );
} finally {
  rt.close();
  await runtime.stop();
  await Deno.remove(runtime.dir, { recursive: true });
}
