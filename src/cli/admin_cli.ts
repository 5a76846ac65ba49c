/**
 * The admin commands of the executable (`workers`, `datasets`,
 * `checkpoints`, `gc`, `scrub`): they talk to a running runtime through the
 * SDK (`scrub` through `scrub_client.ts`), print tables for people or JSON
 * for scripts, and exit 0 on success, 1 on an error (one line on stderr) or
 * a scrub that found bad chunks, and 2 on a usage error. `main.ts` dispatches
 * here when the first word is one of `ADMIN_COMMANDS`.
 */
import { parseArgs } from "node:util";
import { PulseError, Runtime, type RuntimeOptions, type TlsOptions } from "@pulsecheckpoint/sdk";
import { settingFlags } from "../config.ts";
import { type CommandContext, COMMANDS } from "./commands.ts";
import { parseDuration } from "./format.ts";
import { CallError } from "./scrub_client.ts";

/** First words that select an admin command. */
export const ADMIN_COMMANDS: readonly string[] = [
  "workers",
  "datasets",
  "checkpoints",
  "gc",
  "scrub",
];

/** Where the runtime is when neither `--addr` nor `PULSE_ADDR` says. */
export const DEFAULT_ADDRESS = "grpc://localhost:50051";

/** The admin part of `--help`. */
export const ADMIN_USAGE = `Admin commands (against a running runtime):
  workers list                      list workers
  workers get ID                    describe a worker
  datasets list                     list datasets
  checkpoints list WORKER           list a worker's checkpoints, newest first
  checkpoints get WORKER [ID]       describe a checkpoint (default: the latest)
  checkpoints download WORKER [ID] --output FILE
                                    download a checkpoint (default: the latest) to FILE,
                                    verified against its SHA-256; progress on stderr
  checkpoints delete WORKER ID      delete a checkpoint (its chunks go at the next gc)
  gc [--dry-run] [--grace DURATION] delete chunks no checkpoint references (admin token)
  scrub [--dry-run]                 verify every stored chunk against its SHA-256, list the
                                    bad ones and the checkpoints they break, and move the
                                    corrupt ones aside (admin token); progress on stderr

Admin flags:
  --addr ADDRESS        runtime address, grpc://host:port or grpcs://host:port for TLS
                        (default ${DEFAULT_ADDRESS}; env PULSE_ADDR)
  --token TOKEN         bearer token (env PULSE_TOKEN, which keeps it out of ps)
  --ca FILE             CA certificates that verify the runtime (grpcs://)
  --cert FILE           client certificate for mutual TLS, with --key
  --key FILE            client private key for mutual TLS
  --json                print JSON instead of tables
  -o, --output FILE     checkpoints download: the file to write (replaced whole)
  -q, --quiet           checkpoints download, scrub: no progress bar
  --dry-run             gc: count what would be deleted, delete nothing;
                        scrub: verify and report, move nothing
  --grace DURATION      gc: keep chunks written this recently, e.g. 90s, 30m, 1h
                        (default: the runtime's gc.grace_ms)

Exit status: 0 done, 1 failed (one line on stderr) or scrub found bad chunks, 2 usage error.`;

const OPTIONS = {
  addr: { type: "string" },
  token: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  json: { type: "boolean" },
  output: { type: "string", short: "o" },
  quiet: { type: "boolean", short: "q" },
  "dry-run": { type: "boolean" },
  grace: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Where an admin command reads and writes; the process's by default. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress redraws in place). */
  stderrIsTerminal: boolean;
  env(name: string): string | undefined;
}

/** A command line that cannot be run as written; exits 2. */
class UsageError extends Error {}

/** Whether `args` select an admin command rather than `serve` and friends. */
export function isAdminCommand(args: string[]): boolean {
  // The runtime's own flags take values too: `--config gc` names a file.
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    ...OPTIONS,
    config: { type: "string" },
  };
  for (const { flag } of settingFlags()) options[flag] = { type: "string" };
  const { positionals } = parseArgs({ args, options, strict: false, allowPositionals: true });
  return ADMIN_COMMANDS.includes(String(positionals[0]));
}

/**
 * Runs an admin command line.
 * @returns the exit status: 0 done, 1 failed, 2 usage error
 */
export async function runAdminCli(args: string[], io: CliIo = processIo()): Promise<number> {
  let context: CommandContext & { help: boolean };
  try {
    context = parseCommandLine(args, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${error.message}; see --help\n`);
    return 2;
  }
  if (context.help) {
    io.stdout(`${ADMIN_USAGE}\n`);
    return 0;
  }
  let runtime: Runtime;
  try {
    runtime = new Runtime(context.address, context.options);
  } catch (error) {
    io.stderr(`${errorLine(error)}; see --help\n`);
    return 2;
  }
  try {
    return await COMMANDS[context.command]!.run(runtime, context) ?? 0;
  } catch (error) {
    io.stderr(`${errorLine(error)}\n`);
    return 1;
  } finally {
    runtime.close();
  }
}

function parseCommandLine(args: string[], io: CliIo) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [first = "", second = ""] = positionals;
  const command = first === "gc" || first === "scrub" ? first : `${first} ${second}`.trim();
  const spec = COMMANDS[command];
  if (values.help) {
    return { ...emptyContext(io), help: true };
  }
  if (spec === undefined) throw new UsageError(`Unknown command "${command}"`);
  const operands = positionals.slice(command.split(" ").length);
  const required = spec.operands.filter((name) => !name.startsWith("[")).length;
  if (operands.length < required || operands.length > spec.operands.length) {
    throw new UsageError(
      `Usage: ${[command, ...spec.operands].join(" ")}${
        spec.flags.includes("output") ? " --output FILE" : ""
      }`,
    );
  }
  for (const flag of ["output", "quiet", "dry-run", "grace"] as const) {
    if (values[flag] !== undefined && !spec.flags.includes(flag)) {
      throw new UsageError(`--${flag} does not apply to ${command}`);
    }
  }
  if (spec.flags.includes("output") && !values.output) {
    throw new UsageError(`${command} needs --output FILE`);
  }
  let graceMs: number | undefined;
  if (values.grace !== undefined) {
    graceMs = parseDuration(values.grace);
    if (graceMs === undefined) {
      throw new UsageError(
        `--grace ${JSON.stringify(values.grace)} is not a duration such as 90s, 30m, 1h or 1h30m`,
      );
    }
  }
  return {
    help: false,
    io,
    command,
    operands,
    json: values.json ?? false,
    output: values.output,
    quiet: values.quiet ?? false,
    dryRun: values["dry-run"] ?? false,
    graceMs,
    address: values.addr ?? io.env("PULSE_ADDR") ?? DEFAULT_ADDRESS,
    options: runtimeOptions(values, io),
  };
}

function emptyContext(io: CliIo) {
  return {
    io,
    command: "",
    operands: [],
    json: false,
    quiet: false,
    dryRun: false,
    address: "",
    options: {},
  };
}

function runtimeOptions(
  values: { token?: string; ca?: string; cert?: string; key?: string },
  io: CliIo,
): RuntimeOptions {
  const token = values.token ?? io.env("PULSE_TOKEN");
  const options: RuntimeOptions = {
    ...(token === undefined || token === "" ? {} : { token }),
    channelOptions: proxyChannelOptions(),
  };
  if (values.ca === undefined && values.cert === undefined && values.key === undefined) {
    return options;
  }
  const tls: TlsOptions = {};
  for (const name of ["ca", "cert", "key"] as const) {
    const path = values[name];
    if (path === undefined) continue;
    try {
      tls[name] = Deno.readFileSync(path);
    } catch (error) {
      throw new UsageError(`Cannot read --${name} ${path}: ${(error as Error).message}`);
    }
  }
  return { ...options, tls };
}

const PROXY_VARIABLES = ["grpc_proxy", "https_proxy", "http_proxy", "no_grpc_proxy", "no_proxy"];

// grpc-js reads the proxy variables when it connects, and fails without the
// permission to; the executable and `deno task cli` are not given it (only
// PULSE_* and GRPC_*), so then the CLI connects directly.
function proxyChannelOptions(): Record<string, number> {
  const allowed = PROXY_VARIABLES.every((variable) =>
    Deno.permissions.querySync({ name: "env", variable }).state === "granted"
  );
  return allowed ? {} : { "grpc.enable_http_proxy": 0 };
}

/** One line for an error: the runtime's message and its status code. */
function errorLine(error: unknown): string {
  if (error instanceof PulseError || error instanceof CallError) {
    return `Error: ${error.message || "the call failed"} (${error.code})`;
  }
  return `Error: ${error instanceof Error ? error.message : String(error)}`;
}

function processIo(): CliIo {
  const encoder = new TextEncoder();
  const writeAll = (file: typeof Deno.stdout, text: string) => {
    const bytes = encoder.encode(text);
    for (let written = 0; written < bytes.length;) {
      written += file.writeSync(bytes.subarray(written));
    }
  };
  return {
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    env: (name) => Deno.env.get(name),
  };
}
