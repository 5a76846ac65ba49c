/**
 * What each admin command does with a connected SDK `Runtime`, and how it
 * prints the result: a table or aligned fields for people, JSON with `--json`.
 * `scrub` is not in the SDK yet: it calls the runtime through
 * `scrub_client.ts`, with the same address and options.
 */
import { basename, dirname, join } from "node:path";
import type { BadChunk__Output, ScrubReport__Output } from "@pulsecheckpoint/proto/types";
import type {
  Checkpoint,
  Dataset,
  GcReport,
  Runtime,
  RuntimeOptions,
  Worker,
} from "@pulsecheckpoint/sdk";
import type { CliIo } from "./admin_cli.ts";
import {
  formatBytes,
  formatDuration,
  formatFields,
  formatJson,
  formatTable,
  formatTime,
} from "./format.ts";
import { ProgressBar } from "./progress_bar.ts";
import { scrub as callScrub } from "./scrub_client.ts";

/** A parsed admin command line. */
export interface CommandContext {
  io: CliIo;
  /** e.g. `checkpoints get` */
  command: string;
  /** The words after the command. */
  operands: string[];
  json: boolean;
  output?: string;
  quiet: boolean;
  dryRun: boolean;
  graceMs?: number;
  /** Where the runtime is and how to reach it, as the SDK `Runtime` was given. */
  address: string;
  options: RuntimeOptions;
}

/** An admin command: its operands, the command-specific flags it takes, and what it does. */
export interface CommandSpec {
  /** Names for the usage line; optional ones in brackets, last. */
  operands: string[];
  flags: ("output" | "quiet" | "dry-run" | "grace")[];
  /** Resolves to the exit status when it is not 0 (a scrub that found bad chunks). */
  run(runtime: Runtime, context: CommandContext): Promise<void | number>;
}

/** Downloads at least this large show a progress bar. */
export const PROGRESS_BYTES_MIN = 8 * 1024 * 1024;

/** Every admin command, by its words. */
export const COMMANDS: Record<string, CommandSpec> = {
  "workers list": { operands: [], flags: [], run: workersList },
  "workers get": { operands: ["ID"], flags: [], run: workersGet },
  "datasets list": { operands: [], flags: [], run: datasetsList },
  "checkpoints list": { operands: ["WORKER"], flags: [], run: checkpointsList },
  "checkpoints get": { operands: ["WORKER", "[ID]"], flags: [], run: checkpointsGet },
  "checkpoints download": {
    operands: ["WORKER", "[ID]"],
    flags: ["output", "quiet"],
    run: checkpointsDownload,
  },
  "checkpoints delete": { operands: ["WORKER", "ID"], flags: [], run: checkpointsDelete },
  "gc": { operands: [], flags: ["dry-run", "grace"], run: gc },
  "scrub": { operands: [], flags: ["dry-run", "quiet"], run: scrub },
};

async function workersList(runtime: Runtime, context: CommandContext): Promise<void> {
  const workers = await Array.fromAsync(runtime.workers());
  print(context, workers, () =>
    formatTable(
      ["WORKER", "STATE", "LAST HEARTBEAT", "REGISTERED", "METADATA"],
      workers.map((w) => [
        w.workerId,
        w.state,
        formatTime(w.lastHeartbeat),
        formatTime(w.registeredAt),
        formatJson(w.metadata),
      ]),
    ));
}

async function workersGet(runtime: Runtime, context: CommandContext): Promise<void> {
  const worker: Worker = await runtime.getWorker(context.operands[0]!);
  print(context, worker, () =>
    formatFields([
      ["Worker", worker.workerId],
      ["State", worker.state],
      ["Last heartbeat", formatTime(worker.lastHeartbeat)],
      ["Registered", formatTime(worker.registeredAt)],
      ["Metadata", JSON.stringify(worker.metadata)],
    ]));
}

async function datasetsList(runtime: Runtime, context: CommandContext): Promise<void> {
  const datasets: Dataset[] = await Array.fromAsync(runtime.datasets());
  print(context, datasets, () =>
    formatTable(
      ["DATASET", "PATH", "REGISTERED", "METADATA"],
      datasets.map((d) => [d.name, d.path, formatTime(d.registeredAt), formatJson(d.metadata)]),
    ));
}

async function checkpointsList(runtime: Runtime, context: CommandContext): Promise<void> {
  const workerId = context.operands[0]!;
  const checkpoints = await Array.fromAsync(runtime.checkpoints(workerId));
  // No checkpoints: an unknown worker is an error (NOT_FOUND), as in every other command.
  if (checkpoints.length === 0) await runtime.getWorker(workerId);
  print(context, checkpoints, () =>
    formatTable(
      ["CHECKPOINT", "CREATED", "SIZE", "SHA256", "METADATA"],
      checkpoints.map((c) => [
        c.checkpointId,
        formatTime(c.createdAt),
        formatBytes(c.sizeBytes),
        c.sha256.slice(0, 12),
        formatJson(c.metadata),
      ]),
    ));
}

async function checkpointsGet(runtime: Runtime, context: CommandContext): Promise<void> {
  const [workerId, checkpointId] = context.operands;
  const checkpoint = checkpointId === undefined
    ? await runtime.latestCheckpoint(workerId!)
    : await runtime.getCheckpoint(workerId!, checkpointId);
  print(context, checkpoint, () => formatFields(checkpointFields(checkpoint)));
}

function checkpointFields(checkpoint: Checkpoint): [string, string][] {
  return [
    ["Checkpoint", checkpoint.checkpointId],
    ["Worker", checkpoint.workerId],
    ["Created", formatTime(checkpoint.createdAt)],
    ["Size", `${formatBytes(checkpoint.sizeBytes)} (${checkpoint.sizeBytes} bytes)`],
    ["SHA-256", checkpoint.sha256],
    ["Idempotency key", checkpoint.idempotencyKey || "-"],
    ["Metadata", JSON.stringify(checkpoint.metadata)],
  ];
}

// Streams the checkpoint into a temporary file beside the output, never
// holding more than one piece, and renames it over the output once every byte
// arrived and matched the checkpoint's SHA-256 (the SDK's stream checks it).
async function checkpointsDownload(runtime: Runtime, context: CommandContext): Promise<void> {
  const [workerId, checkpointId] = context.operands;
  const output = context.output!;
  const { checkpoint, stream } = await runtime.loadCheckpointStream(workerId!, { checkpointId });
  const progress = context.quiet || checkpoint.sizeBytes < PROGRESS_BYTES_MIN
    ? undefined
    : new ProgressBar(checkpoint.sizeBytes, {
      write: context.io.stderr,
      interactive: context.io.stderrIsTerminal,
    });
  let received = 0;
  try {
    await writeFileAtomically(output, stream, (bytes) => {
      received += bytes;
      progress?.update(received);
    });
  } catch (error) {
    progress?.abandon();
    throw error;
  }
  progress?.finish(received);
  print(
    context,
    { ...checkpoint, output },
    () =>
      `Downloaded ${checkpoint.checkpointId} of worker ${checkpoint.workerId} to ${output}: ` +
      `${
        formatBytes(checkpoint.sizeBytes)
      } (${checkpoint.sizeBytes} bytes), sha256 ${checkpoint.sha256}`,
  );
}

async function writeFileAtomically(
  path: string,
  source: AsyncIterable<Uint8Array>,
  onWritten: (bytes: number) => void,
): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${crypto.randomUUID()}.partial`);
  try {
    {
      using file = await Deno.open(temporary, { write: true, createNew: true });
      for await (const piece of source) {
        for (let written = 0; written < piece.length;) {
          written += await file.write(piece.subarray(written));
        }
        onWritten(piece.length);
      }
      await file.sync();
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

async function checkpointsDelete(runtime: Runtime, context: CommandContext): Promise<void> {
  const [workerId, checkpointId] = context.operands as [string, string];
  await runtime.deleteCheckpoint(workerId, checkpointId);
  print(
    context,
    { deleted: true, workerId, checkpointId },
    () => `Deleted checkpoint ${checkpointId} of worker ${workerId}`,
  );
}

async function gc(runtime: Runtime, context: CommandContext): Promise<void> {
  const report: GcReport = await runtime.runGc({
    dryRun: context.dryRun,
    graceMs: context.graceMs,
  });
  print(context, report, () => formatGcReport(report));
}

/** The report of a garbage collection run, for people. */
export function formatGcReport(report: GcReport): string {
  const deleted = `${chunks(report.chunksDeleted)}, ${formatBytes(report.bytesReclaimed)}`;
  return [
    report.dryRun
      ? "Garbage collection, dry run: nothing was deleted"
      : "Garbage collection finished",
    formatFields([
      ["Grace period", formatDuration(report.graceMs)],
      ["Manifests scanned", String(report.manifestsScanned)],
      ["Chunks scanned", `${chunks(report.chunksScanned)}, ${formatBytes(report.bytesScanned)}`],
      ["Referenced", chunks(report.chunksReferenced)],
      [
        "Protected",
        `${chunks(report.chunksProtected)} (written within the grace period, or in use)`,
      ],
      [report.dryRun ? "Would delete" : "Deleted", deleted],
      ["Duration", formatDuration(report.durationMs)],
    ]),
  ].join("\n");
}

// Verifies every chunk on the runtime, with a progress bar of the bytes
// verified on stderr; exits 1 when it found bad chunks.
async function scrub(_runtime: Runtime, context: CommandContext): Promise<number> {
  let progress: ProgressBar | undefined;
  let verified = 0;
  const badChunks: BadChunk__Output[] = [];
  let report: ScrubReport__Output;
  try {
    report = await callScrub(context.address, context.options, { dryRun: context.dryRun }, {
      onProgress: (message) => {
        if (progress === undefined && !context.quiet && message.bytes_total >= PROGRESS_BYTES_MIN) {
          progress = new ProgressBar(message.bytes_total, {
            write: context.io.stderr,
            interactive: context.io.stderrIsTerminal,
          });
        }
        verified = message.bytes_verified;
        progress?.update(verified);
      },
      onBadChunk: (bad) => badChunks.push(bad),
    });
  } catch (error) {
    progress?.abandon();
    throw error;
  }
  progress?.finish(verified);
  print(context, scrubJson(report, badChunks), () => formatScrubReport(report, badChunks));
  const bad = report.chunks_corrupt + report.chunks_missing;
  if (bad === 0) return 0;
  context.io.stderr(
    `Scrub found ${
      chunks(bad)
    } (${report.chunks_corrupt} corrupt, ${report.chunks_missing} missing) ` +
      `breaking ${
        plural(report.checkpoints_broken, "checkpoint")
      }; a save with their bytes repairs them\n`,
  );
  return 1;
}

/** A scrub's report and bad chunks as --json prints them: the SDK's style, camelCase. */
export function scrubJson(report: ScrubReport__Output, badChunks: BadChunk__Output[]): unknown {
  return {
    dryRun: report.dry_run,
    chunksScanned: report.chunks_scanned,
    bytesScanned: report.bytes_scanned,
    manifestsScanned: report.manifests_scanned,
    chunksCorrupt: report.chunks_corrupt,
    chunksMissing: report.chunks_missing,
    chunksQuarantined: report.chunks_quarantined,
    checkpointsBroken: report.checkpoints_broken,
    durationMs: report.duration_ms,
    badChunks: badChunks.map((bad) => ({
      sha256: bad.sha256,
      problem: problemOf(bad),
      sizeBytes: bad.size_bytes,
      checkpoints: bad.checkpoints.map((ref) => ({
        workerId: ref.worker_id,
        checkpointId: ref.checkpoint_id,
      })),
      checkpointsTotal: bad.checkpoints_total,
      quarantineKey: bad.quarantine_key,
      inUse: bad.in_use,
    })),
  };
}

/** A scrub's report for people: a headline, a table of the bad chunks, the counts. */
export function formatScrubReport(
  report: ScrubReport__Output,
  badChunks: BadChunk__Output[],
): string {
  const headline = report.dry_run
    ? "Scrub, dry run: nothing was moved"
    : badChunks.length === 0
    ? "Scrub finished: every chunk passed its SHA-256 check"
    : "Scrub finished";
  const table = badChunks.length === 0 ? [] : [
    formatTable(
      ["CHUNK", "PROBLEM", "SIZE", "MOVED TO", "CHECKPOINTS"],
      badChunks.map((bad) => [
        bad.sha256,
        problemOf(bad),
        bad.problem === "CHUNK_PROBLEM_MISSING" ? "-" : formatBytes(bad.size_bytes),
        movedTo(bad, report.dry_run),
        checkpointsOf(bad),
      ]),
    ),
  ];
  return [
    headline,
    ...table,
    formatFields([
      ["Chunks scanned", `${chunks(report.chunks_scanned)}, ${formatBytes(report.bytes_scanned)}`],
      ["Manifests scanned", String(report.manifests_scanned)],
      ["Corrupt", chunks(report.chunks_corrupt)],
      ["Missing", chunks(report.chunks_missing)],
      ["Moved aside", `${chunks(report.chunks_quarantined)} (to quarantine/)`],
      ["Checkpoints broken", String(report.checkpoints_broken)],
      ["Duration", formatDuration(report.duration_ms)],
    ]),
  ].join("\n");
}

function problemOf(bad: BadChunk__Output): string {
  return bad.problem === "CHUNK_PROBLEM_MISSING" ? "missing" : "corrupt";
}

function movedTo(bad: BadChunk__Output, dryRun: boolean): string {
  if (bad.quarantine_key !== "") return bad.quarantine_key;
  if (bad.problem === "CHUNK_PROBLEM_MISSING") return "-";
  if (bad.in_use) return "no: in use by a save";
  return dryRun ? "no: dry run" : "no";
}

function checkpointsOf(bad: BadChunk__Output): string {
  const listed = bad.checkpoints.map((ref) => `${ref.worker_id}/${ref.checkpoint_id}`);
  const more = bad.checkpoints_total - listed.length;
  if (listed.length === 0) return "none";
  return more > 0 ? `${listed.join(", ")} (+${more} more)` : listed.join(", ");
}

function chunks(count: number): string {
  return plural(count, "chunk");
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function print(context: CommandContext, value: unknown, text: () => string): void {
  context.io.stdout(`${context.json ? JSON.stringify(value, null, 2) : text()}\n`);
}
