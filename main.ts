/**
 * The PulseCheckpoint Runtime executable: `serve` runs the runtime; other
 * commands help operate it. Run `main.ts --help` for commands and flags.
 */
import { parseArgs } from "node:util";
import { ADMIN_USAGE, isAdminCommand, runAdminCli } from "./src/cli/admin_cli.ts";
import { type Config, ConfigError, loadConfig, settingFlags, SETTINGS } from "./src/config.ts";
import { captureGrpcLogs } from "./src/grpc_log.ts";
import { configureLog, log } from "./src/log.ts";
import { checkPermissions } from "./src/permissions.ts";

/** The runtime's version, reported by `version` and `--version`. */
export const VERSION = "0.1.0";

/**
 * Signals this soon after the first are the same request: one Ctrl-C under
 * `deno task start` reaches the runtime twice (from the terminal and from
 * `deno task`). A signal later than this forces the exit.
 */
const SIGNAL_BURST_MS = 1000;

const USAGE = `PulseCheckpoint Runtime ${VERSION}

Usage: pulse-runtime <command> [flags]

Commands:
  serve           run the runtime
  config check    load the configuration, print it, and exit
  version         print the version (also --version)
  workers, datasets, checkpoints, gc
                  admin commands against a running runtime (below)

Flags:
  --config PATH   config file (default: config.toml if present; env PULSE_CONFIG)
${
  settingFlags().map(({ flag, name, help }) => `  --${`${flag} VALUE`.padEnd(26)}${help} (${name})`)
    .join("\n")
}
  -h, --help      print this help
  -V, --version   print the version

Precedence: defaults < config file < environment (PULSE_*) < flags.
A bad value exits with status 2 and one line naming the key and what is allowed.

${ADMIN_USAGE}`;

function parseCommandLine(args: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "V" },
  };
  for (const { flag } of settingFlags()) options[flag] = { type: "string" };
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  return { values: values as Record<string, string | boolean | undefined>, positionals };
}

async function serve(config: Config): Promise<void> {
  configureLog({ level: config["logging.level"], format: config["logging.format"] });
  captureGrpcLogs((severity, text) => log[severity]("grpc-js", text));
  // Loaded here rather than at the top: the admin commands run with fewer
  // permissions than serve, and the S3 client reads AWS_* variables on load.
  const { startRuntime } = await import("./src/server.ts");
  const starting = startRuntime(config);
  let firstSignalAt: number | undefined;
  const stop = async (signal: Deno.Signal) => {
    if (firstSignalAt !== undefined) {
      if (performance.now() - firstSignalAt < SIGNAL_BURST_MS) return; // the same keypress
      log.warn("pulse::server", "Second signal: exiting at once", { signal });
      Deno.exit(1);
    }
    firstSignalAt = performance.now();
    log.info("pulse::server", "Signal received", { signal });
    // A signal during the start drains once the runtime is up; a start
    // that fails exits 1 below.
    const running = await starting.catch(() => undefined);
    if (running === undefined) return;
    await running.shutdown();
    Deno.exit(0);
  };
  // Listened for before the runtime is up: a signal right after its
  // "Runtime started" line must drain it, not kill it.
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  try {
    await starting;
  } catch (error) {
    // A store that cannot be reached, a port in use, an unreadable certificate:
    // one line for the operator, and a status that says it failed.
    log.error("pulse::server", "Cannot start", { error });
    console.error(`Cannot start: ${(error as Error).message}`);
    Deno.exit(1);
  }
}

// Loads the configuration of `serve` (checked against the permissions it
// will run with) and `config check`; null after printing why it is bad.
function configOf(
  values: Record<string, string | boolean | undefined>,
  serving: boolean,
): Config | null {
  try {
    const flags = Object.fromEntries(
      settingFlags().map(({ flag }) => [flag, values[flag] as string | undefined]),
    );
    const config = loadConfig({
      file: values.config as string | undefined,
      env: (name) => Deno.env.get(name),
      envNames: () => Object.keys(Deno.env.toObject()),
      flags,
    });
    if (serving) checkPermissions(config);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return null;
  }
}

async function main(args: string[]): Promise<number> {
  if (isAdminCommand(args)) {
    captureGrpcLogs((_severity, text) => console.error(text));
    return await runAdminCli(args);
  }
  let parsed;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    console.error(`${(error as Error).message}; see --help`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals.join(" ");
  if (values.version || command === "version") {
    console.log(`pulse-runtime ${VERSION} (deno ${Deno.version.deno})`);
    return 0;
  }
  if (values.help || command === "") {
    console.log(USAGE);
    return 0;
  }
  if (command !== "serve" && command !== "config check") {
    console.error(`Unknown command "${command}"; see --help`);
    return 2;
  }
  const config = configOf(values, command === "serve");
  if (config === null) return 2;
  if (command === "config check") {
    for (const name of Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]) {
      console.log(`${name} = ${JSON.stringify(config[name])}`);
    }
    return 0;
  }
  await serve(config);
  return -1; // keeps running until a signal
}

if (import.meta.main) {
  const status = await main(Deno.args);
  if (status >= 0) Deno.exit(status);
}
