/**
 * Starts the runtime as a real process, with exactly the permission flags of
 * `deno task start` (read from deno.json), in a directory of its own, and
 * stops or kills it.
 */
import { fileURLToPath } from "node:url";
import { Runtime, type RuntimeOptions } from "@pulsecheckpoint/sdk";
import { tempDir } from "./temp_dirs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = `${ROOT}main.ts`;
const CONFIG = `${ROOT}deno.json`;

/**
 * The permission flags of `deno task start`, the ones the compiled binary
 * gets, for a runtime whose working directory is not the repository: the
 * compiled binary reads its npm packages from inside itself without asking,
 * `deno run` reads them from the repository's node_modules, so read access to
 * that one directory is added.
 */
export async function startFlags(): Promise<string[]> {
  const deno = JSON.parse(await Deno.readTextFile(CONFIG));
  const words = (deno.tasks.start as string).split(/\s+/);
  return words.filter((word) => word.startsWith("--allow-")).map((flag) =>
    flag.startsWith("--allow-read=") ? `${flag},${ROOT}node_modules` : flag
  );
}

/** Options of `startRuntime`. */
export interface StartOptions {
  /** Working directory; its `data/` holds the fs store. A new temporary one if absent. */
  dir?: string;
  /** Environment variables beside PATH and HOME. */
  env?: Record<string, string>;
  /** Extra command-line arguments after `serve`. */
  args?: string[];
  /** Extra flags for `deno run`, after the start task's (e.g. `--cpu-prof-dir`). */
  denoFlags?: string[];
}

/** A runtime process started by a test. */
export class RuntimeProcess {
  readonly dir: string;
  readonly grpcAddress: string;
  readonly metricsUrl: string;
  readonly process: Deno.ChildProcess;
  readonly logs: string[];

  constructor(
    dir: string,
    grpcAddress: string,
    metricsUrl: string,
    process: Deno.ChildProcess,
    logs: string[],
  ) {
    this.dir = dir;
    this.grpcAddress = grpcAddress;
    this.metricsUrl = metricsUrl;
    this.process = process;
    this.logs = logs;
  }

  /**
   * A new SDK client of this runtime. On the stream path unless `options`
   * say otherwise: the runtime's tests follow the bytes through it (on S3 the
   * SDK would otherwise move them straight to the bucket, see
   * tests/sdk/direct_path_test.ts, which passes `{ directTransfer: true }`).
   */
  client(options: RuntimeOptions = { directTransfer: false }): Runtime {
    return new Runtime(`grpc://${this.grpcAddress}`, options);
  }

  /** Sends SIGTERM and waits for the exit; returns the exit code. */
  async stop(): Promise<number> {
    try {
      this.process.kill("SIGTERM");
    } catch {
      // already exited
    }
    return (await this.process.status).code;
  }

  /** Kills the process with SIGKILL, as a crash would, and waits for it. */
  async kill(): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.process.status;
  }
}

// Removed when the test process exits: a test may start a runtime again on
// the directory of one it stopped.
function temporaryDir(): Promise<string> {
  return tempDir("pulse-test-");
}

/**
 * Starts the runtime on free loopback ports and waits until it serves.
 * @throws if it exits or does not start within 30 s
 */
export async function startRuntime(
  options: StartOptions = {},
): Promise<RuntimeProcess> {
  const dir = options.dir ?? await temporaryDir();
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--config",
      CONFIG,
      ...await startFlags(),
      ...options.denoFlags ?? [],
      MAIN,
      "serve",
      "--grpc-addr",
      "127.0.0.1:0",
      "--metrics-addr",
      "127.0.0.1:0",
      ...options.args ?? [],
    ],
    cwd: dir,
    clearEnv: true,
    env: { ...inheritedEnv(), NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  });
  const process = command.spawn();
  const logs: string[] = [];
  const started = new Promise<{ grpc: string; metrics: string }>(
    (resolve, reject) => {
      collectLines(process.stdout, logs, (line) => {
        if (!line.includes("Runtime started")) return;
        // A JSON line, or a text line with key=value fields.
        const event = line.startsWith("{")
          ? JSON.parse(line)
          : Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
        resolve({ grpc: event.grpc_addr, metrics: event.metrics_addr });
      }).then(() =>
        reject(
          new Error(`runtime exited before it started:\n${logs.join("\n")}`),
        )
      );
      collectLines(process.stderr, logs, () => {});
    },
  );
  const timeout = new Promise<never>((_, reject) => {
    const timer = setTimeout(
      () => reject(new Error("runtime did not start in 30 s")),
      30_000,
    );
    started.finally(() => clearTimeout(timer)).catch(() => {});
  });
  try {
    const { grpc, metrics } = await Promise.race([started, timeout]);
    return new RuntimeProcess(dir, grpc, `http://${metrics}`, process, logs);
  } catch (error) {
    try {
      process.kill("SIGKILL");
    } catch { /* exited */ }
    await process.status;
    throw error;
  }
}

async function collectLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      onLine(line);
    }
  }
  if (rest) lines.push(rest);
}

/**
 * What a runtime process needs of the test's environment: nothing of PULSE_*
 * (which the test process may hold for itself, such as PULSE_TEST_S3_SERVERS,
 * and which the runtime refuses when it knows no such setting) or AWS_*.
 */
export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
