/**
 * What the benchmarks share: sizes from the environment, checkpoint bytes
 * that never repeat (or repeat on purpose), the direct-storage baselines, the
 * runtime's peak RSS, and child processes that print one JSON line.
 */
import { fileURLToPath } from "node:url";
import { randomBytes } from "../tests/support/bytes.ts";

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
/** Size of each piece handed to the SDK, as a file read would hand them. */
export const PIECE_BYTES = MIB;
/** The runtime's chunk size (src/limits.ts CHUNK_BYTES), for "10% of chunks changed". */
export const CHUNK_BYTES = 8 * MIB;
export const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The runtime settings in the benchmark's environment (`PULSE_*` but
 * `PULSE_BENCH_*`), passed on to the runtimes it starts: measure a setting by
 * running `PULSE_RECEIVE_WINDOW_BYTES=65535 deno task bench`.
 */
export function runtimeSettings(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) =>
      name.startsWith("PULSE_") && !name.startsWith("PULSE_BENCH_")
    ),
  );
}

/** A number from the environment, or its default. */
export function envNumber(name: string, fallback: number): number {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`Cannot run the benchmark: ${name}=${raw} is not a number >= 0`);
  }
  return value;
}

// One random block that every piece is cut from; each piece is stamped with
// its stream, version and index, so no two 8 MiB chunks are alike unless asked.
const block = randomBytes(64 * MIB);

/** What a checkpoint's bytes are made of. */
export interface PiecesOptions {
  /** Distinguishes streams (workers): different seeds share no chunk. */
  seed: number;
  /** Chunks whose index is a multiple of `changedEvery` get `version`'s bytes. */
  changedEvery?: number;
  version?: number;
}

/**
 * `total` bytes in pieces of {@linkcode PIECE_BYTES}, each a fresh buffer (so
 * that concurrent streams never share one). The same options give the same
 * bytes.
 */
export function* pieces(total: number, options: PiecesOptions): Generator<Uint8Array> {
  const piecesPerChunk = CHUNK_BYTES / PIECE_BYTES;
  for (let index = 0; index * PIECE_BYTES < total; index++) {
    const offset = (index * PIECE_BYTES) % block.length;
    const length = Math.min(PIECE_BYTES, total - index * PIECE_BYTES);
    const piece = block.slice(offset, offset + length);
    const chunk = Math.floor(index / piecesPerChunk);
    const changed = options.changedEvery !== undefined && chunk % options.changedEvery === 0;
    const view = new DataView(piece.buffer);
    view.setFloat64(0, index);
    view.setFloat64(8, options.seed);
    view.setFloat64(16, changed ? options.version ?? 0 : 0);
    yield piece;
  }
}

export function mibPerSecond(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

/** Writes `total` bytes to a new file and fsyncs it; returns the milliseconds. */
export async function directWrite(path: string, total: number, seed: number): Promise<number> {
  const started = performance.now();
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (const piece of pieces(total, { seed })) {
    let written = 0;
    while (written < piece.length) written += await file.write(piece.subarray(written));
  }
  await file.sync();
  return performance.now() - started;
}

/** Reads a file whole, a piece at a time; returns the milliseconds. */
export async function directRead(path: string): Promise<number> {
  const started = performance.now();
  using file = await Deno.open(path);
  const buffer = new Uint8Array(PIECE_BYTES);
  while ((await file.read(buffer)) !== null) { /* read it all */ }
  return performance.now() - started;
}

/** The highest resident set size the process has had (VmHWM), in MiB. */
export async function peakRssMib(pid: number): Promise<number> {
  // Through `cat`: Deno asks for --allow-all to read /proc directly.
  const { stdout } = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const status = new TextDecoder().decode(stdout);
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

/** Percentile `p` (0–100) of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A bench script run as a process of its own, which prints one JSON line when done. */
export interface ChildScript<T> {
  process: Deno.ChildProcess;
  /** Its JSON result; rejects if it exits without one. */
  result: Promise<T>;
}

/** Runs `bench/<script>` with `args` in a Deno process of its own. */
export function runScript<T>(script: string, args: string[]): ChildScript<T> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-run",
      `${ROOT}bench/${script}`,
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const result = (async () => {
    const text = new TextDecoder().decode((await process.output()).stdout).trim();
    const last = text.split("\n").pop() ?? "";
    try {
      return JSON.parse(last) as T;
    } catch {
      throw new Error(`bench/${script} printed no result:\n${text}`);
    }
  })();
  return { process, result };
}

/** Reads the one line a child script prints once it is ready, e.g. its address. */
export async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0]!;
}

/**
 * Puts `section` (Markdown starting with its `## ` title line) into
 * docs/benchmarks.md in place of the section of that title, up to the next
 * `## ` heading; a new section goes before `before` if that section exists,
 * else at the end. The rest of the file stays as it is.
 */
export async function writeBenchmarkSection(section: string, before?: string): Promise<void> {
  const path = `${ROOT}docs/benchmarks.md`;
  let text = "# Benchmarks\n";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const headingAt = (title: string) =>
    text.search(new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`, "m"));
  const title = section.slice(0, section.indexOf("\n"));
  let start = headingAt(title);
  let end = start;
  if (start !== -1) {
    const next = text.slice(start + title.length).search(/^## /m);
    end = next === -1 ? text.length : start + title.length + next;
  } else {
    start = end = before === undefined || headingAt(before) === -1
      ? text.length
      : headingAt(before);
  }
  const head = text.slice(0, start).trimEnd();
  const tail = text.slice(end).trim();
  await Deno.writeTextFile(
    path,
    `${head}\n\n${section.trim()}\n${tail === "" ? "" : `\n${tail}\n`}`,
  );
}

/**
 * The 99th percentile of the runtime's event-loop delay since the last call:
 * `pulse_process_eventloop_lag_p99_seconds`, whose
 * samples start over at every scrape. In milliseconds.
 */
export async function eventLoopLagP99Ms(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const value = /^pulse_process_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error("the runtime exports no event-loop lag");
  return Number(value) * 1000;
}
