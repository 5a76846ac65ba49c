/**
 * Configuration: built-in defaults < `config.toml` < environment < flags.
 *
 * Every setting is declared once in `SETTINGS`, under the name it has in the
 * TOML file (`section.key`), with its environment variable, its flag, its
 * parser and its default. The loaded `Config` is keyed by those same names.
 */
import { parse as parseToml } from "smol-toml";
import {
  CHUNK_BUFFERS_MAX,
  CHUNK_READS_AHEAD_MAX,
  CHUNK_WRITES_IN_FLIGHT_MAX,
  RECEIVE_WINDOW_BYTES_MAX,
  RECEIVE_WINDOW_BYTES_MIN,
} from "./limits.ts";
import { LOAD_WINDOW_BYTES } from "@pulsecheckpoint/proto/protocol";
import { isLoopback, parseAddress } from "./address.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";

/** Where objects are stored. */
export type StorageBackend = "fs" | "s3";

/** A bad configuration value; `main.ts` prints it as one line and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

// A parser turns a raw value (a TOML value, or a string from the environment
// or a flag) into a typed one, or returns a description of what is allowed.
type Parser<T> = (raw: unknown) => T | { allowed: string };

interface Setting<T> {
  parse: Parser<T>;
  default: T;
  env?: string;
  flag?: string;
  help: string;
}

function text(raw: unknown): string | { allowed: string } {
  return typeof raw === "string" ? raw : { allowed: "a string" };
}

function nonEmpty(raw: unknown): string | { allowed: string } {
  return typeof raw === "string" && raw.length > 0 ? raw : { allowed: "a non-empty string" };
}

function integer(min: number, max: number): Parser<number> {
  const allowed = { allowed: `an integer from ${min} to ${max}` };
  return (raw) => {
    const value = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    return typeof value === "number" && Number.isInteger(value) &&
        value >= min && value <= max
      ? value
      : allowed;
  };
}

function boolean(raw: unknown): boolean | { allowed: string } {
  if (typeof raw === "boolean") return raw;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  return { allowed: "true or false" };
}

function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => values.includes(raw as T) ? raw as T : { allowed: `one of ${values.join(", ")}` };
}

/** `host:port` or `[v6]:port`, where port 0 asks the system for a free one. */
function address(raw: unknown): string | { allowed: string } {
  return typeof raw === "string" && parseAddress(raw) !== undefined ? raw : {
    allowed: "host:port or [ipv6]:port, with an IP address or DNS name and a port from 0 to 65535",
  };
}

/** A replica id: empty, or 1-128 characters of `[A-Za-z0-9._-]`, as worker ids are. */
function replicaId(raw: unknown): string | { allowed: string } {
  return typeof raw === "string" && (raw === "" || /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(raw))
    ? raw
    : {
      allowed: "empty, or 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit",
    };
}

/** Roles of tokens: admin may do everything, worker acts for its workers, reader reads. */
export const ROLES = ["admin", "worker", "reader"] as const;
/** A role. */
export type Role = typeof ROLES[number];

/** A bearer token, configured by its SHA-256, never in clear. */
export interface AuthToken {
  /** Names the token in logs and errors; unique. */
  name: string;
  /** Lowercase hex SHA-256 of the token; unique. */
  sha256: string;
  role: Role;
  /** Glob (`*` matches any run of characters) of the worker ids it may act for. */
  workers: string;
  /** Glob of the dataset names it may register and read. */
  datasets: string;
  /** Glob of the job ids whose shards and steps it may save, commit and read. */
  jobs: string;
}

function authTokens(raw: unknown): AuthToken[] | { allowed: string } {
  const allowed = {
    allowed:
      'tables with name, sha256 (64 hex digits), role (admin, worker or reader) and optional workers, datasets and jobs globs, e.g. [[auth.tokens]] name = "team-a" sha256 = "..." role = "worker" workers = "team-a-*" (in PULSE_AUTH_TOKENS: the same as a JSON array of objects)',
  };
  // From the environment (where secret stores put them), a JSON array.
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      return allowed;
    }
  }
  if (!Array.isArray(raw)) return allowed;
  const tokens: AuthToken[] = [];
  for (const entry of raw) {
    const { name, sha256, role, workers = "*", datasets = "*", jobs = "*", ...rest } = entry ?? {};
    if (
      typeof name !== "string" || name === "" || typeof sha256 !== "string" ||
      !/^[0-9a-fA-F]{64}$/.test(sha256) || !ROLES.includes(role) || typeof workers !== "string" ||
      typeof datasets !== "string" || typeof jobs !== "string" || Object.keys(rest).length > 0
    ) return allowed;
    tokens.push({ name, sha256: sha256.toLowerCase(), role, workers, datasets, jobs });
  }
  return tokens;
}

// Two tokens of one name would be told apart in no log or error, and two of
// one hash would make one secret act with either token's rights.
function checkTokensUnique(tokens: AuthToken[]): void {
  tokens.forEach((token, index) => {
    const other = tokens.findIndex((t) => t.name === token.name || t.sha256 === token.sha256);
    if (other === index) return;
    const same = tokens[other]!.name === token.name ? `the name "${token.name}"` : "one sha256";
    throw new ConfigError(
      `Invalid configuration: auth.tokens "${tokens[other]!.name}" (entry ${
        other + 1
      }) and "${token.name}" (entry ${
        index + 1
      }) have ${same}; every token needs a name and a secret of its own`,
    );
  });
}

// The type of a setting comes from its parser, not from its default.
function setting<T>(spec: Setting<T> & { default: NoInfer<T> }): Setting<T> {
  return spec;
}

/** Every setting, by its TOML name. */
export const SETTINGS = {
  "server.grpc_addr": setting({
    parse: address,
    default: "127.0.0.1:50051",
    env: "PULSE_GRPC_ADDR",
    flag: "grpc-addr",
    help: "gRPC listen address",
  }),
  "server.metrics_addr": setting({
    parse: address,
    default: "127.0.0.1:9090",
    env: "PULSE_METRICS_ADDR",
    flag: "metrics-addr",
    help: "HTTP listen address of /metrics, /healthz and /readyz",
  }),
  "server.replica_id": setting({
    parse: replicaId,
    default: "",
    env: "PULSE_REPLICA_ID",
    flag: "replica-id",
    help:
      "names this runtime among the replicas on one bucket (logs, pulse_replica_info, the holder of GC leases); empty for hostname-pid-random, made at start",
  }),
  "server.heartbeat_timeout_ms": setting({
    parse: integer(1000, 86_400_000),
    default: 30_000,
    env: "PULSE_HEARTBEAT_TIMEOUT_MS",
    help: "a worker without a heartbeat for this long is STALE",
  }),
  "server.drain_timeout_ms": setting({
    parse: integer(0, 3_600_000),
    default: 30_000,
    env: "PULSE_DRAIN_TIMEOUT_MS",
    help: "on SIGINT/SIGTERM, how long in-flight calls may take to finish",
  }),
  "server.receive_window_bytes": setting({
    parse: integer(RECEIVE_WINDOW_BYTES_MIN, RECEIVE_WINDOW_BYTES_MAX),
    default: 1024 * 1024,
    env: "PULSE_RECEIVE_WINDOW_BYTES",
    help:
      "HTTP/2 receive window of each call: a save moves at most this much per round trip, and a call may hold this much unread",
  }),
  "server.calls_max": setting({
    parse: integer(1, 100_000),
    default: 256,
    env: "PULSE_CALLS_MAX",
    help:
      "calls in flight at once in the runtime; each may hold one partly received message (up to about 1 MiB)",
  }),
  "server.streams_per_connection_max": setting({
    parse: integer(1, 10_000),
    default: 64,
    env: "PULSE_STREAMS_PER_CONNECTION_MAX",
    help: "calls at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS)",
  }),
  "server.request_timeout_ms": setting({
    parse: integer(100, 3_600_000),
    default: 10_000,
    env: "PULSE_REQUEST_TIMEOUT_MS",
    help: "how long a call may take to send its first message (a request, a save's header)",
  }),
  "server.save_idle_timeout_ms": setting({
    parse: integer(100, 3_600_000),
    default: 30_000,
    env: "PULSE_SAVE_IDLE_TIMEOUT_MS",
    help: "longest silence between two messages of a save; then it fails with ABORTED",
  }),
  "server.load_call_bytes_max": setting({
    parse: integer(LOAD_WINDOW_BYTES, 2 ** 40),
    default: 2 * LOAD_WINDOW_BYTES,
    env: "PULSE_LOAD_CALL_BYTES_MAX",
    help:
      "most bytes one LoadCheckpoint call may ask for: what the runtime may hold for a reader that stops reading",
  }),
  "server.keepalive_time_ms": setting({
    parse: integer(1000, 86_400_000),
    default: 60_000,
    env: "PULSE_KEEPALIVE_TIME_MS",
    help: "how often the runtime pings each connection (HTTP/2 PING)",
  }),
  "server.keepalive_timeout_ms": setting({
    parse: integer(100, 3_600_000),
    default: 20_000,
    env: "PULSE_KEEPALIVE_TIMEOUT_MS",
    help: "a connection whose ping goes unanswered this long is closed, freeing its calls",
  }),
  "server.tls_cert": setting({
    parse: text,
    default: "",
    env: "PULSE_TLS_CERT",
    flag: "tls-cert",
    help: "PEM certificate chain of the gRPC server; with tls_key, serves TLS",
  }),
  "server.tls_key": setting({
    parse: text,
    default: "",
    env: "PULSE_TLS_KEY",
    flag: "tls-key",
    help: "PEM private key of the gRPC server",
  }),
  "server.tls_client_ca": setting({
    parse: text,
    default: "",
    env: "PULSE_TLS_CLIENT_CA",
    flag: "tls-client-ca",
    help: "PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS)",
  }),
  "auth.allow_anonymous": setting({
    parse: boolean,
    default: false,
    env: "PULSE_AUTH_ALLOW_ANONYMOUS",
    help: "serve gRPC beyond loopback without tokens: everyone who can reach it acts as admin",
  }),
  "auth.tokens": setting<AuthToken[]>({
    parse: authTokens,
    default: [],
    env: "PULSE_AUTH_TOKENS",
    help:
      "[[auth.tokens]] tables: name, sha256 (hex of the token), role, workers, datasets and jobs (globs)",
  }),
  "limits.checkpoint_bytes_max": setting({
    parse: integer(1, Number.MAX_SAFE_INTEGER),
    default: 2 ** 40,
    env: "PULSE_CHECKPOINT_BYTES_MAX",
    help: "largest checkpoint a save may write (default 1 TiB)",
  }),
  "limits.saves_per_worker_max": setting({
    parse: integer(1, 1000),
    default: 4,
    env: "PULSE_SAVES_PER_WORKER_MAX",
    help: "saves in progress at once for one worker",
  }),
  "limits.saves_per_token_max": setting({
    parse: integer(1, 100_000),
    default: 32,
    env: "PULSE_SAVES_PER_TOKEN_MAX",
    help:
      "saves in progress at once per token (per connection while authentication is off), so one tenant cannot take all of saves_max",
  }),
  "limits.saves_max": setting({
    parse: integer(1, 100_000),
    default: 64,
    env: "PULSE_SAVES_MAX",
    help: "saves in progress at once in the runtime",
  }),
  "registry.cache_ms": setting({
    parse: integer(0, 60_000),
    default: 500,
    env: "PULSE_REGISTRY_CACHE_MS",
    help:
      "how long a worker record read from the store is taken as fresh: every runtime on one bucket answers the same within this",
  }),
  "registry.scan_interval_ms": setting({
    parse: integer(0, 3_600_000),
    default: 1000,
    env: "PULSE_REGISTRY_SCAN_INTERVAL_MS",
    help:
      "time between two pages (500 records) of the background count of ACTIVE workers (pulse_active_workers); 0 for none",
  }),
  "storage.backend": setting<StorageBackend>({
    parse: oneOf(["fs", "s3"] as const),
    default: "fs",
    env: "PULSE_STORAGE_BACKEND",
    flag: "storage-backend",
    help: "fs: the embedded store in storage.path; s3: an S3-compatible bucket",
  }),
  "storage.path": setting({
    parse: nonEmpty,
    default: "./data",
    env: "PULSE_DATA_DIR",
    flag: "data-dir",
    help: "directory of the embedded fs store",
  }),
  "storage.endpoint": setting({
    parse: text,
    default: "",
    env: "PULSE_S3_ENDPOINT",
    help: "S3 endpoint URL; empty for AWS S3",
  }),
  "storage.bucket": setting({
    parse: text,
    default: "checkpoints",
    env: "PULSE_S3_BUCKET",
    help: "S3 bucket",
  }),
  "storage.region": setting({
    parse: nonEmpty,
    default: "us-east-1",
    env: "PULSE_S3_REGION",
    help: "S3 region",
  }),
  "storage.prefix": setting({
    parse: (raw) =>
      typeof raw === "string" && /^([A-Za-z0-9._-]+\/)*$/.test(raw) ? raw : {
        allowed: "empty, or path segments of [A-Za-z0-9._-] each ending in /",
      },
    default: "",
    env: "PULSE_S3_PREFIX",
    help: "key prefix of every object in the bucket, e.g. team-a/",
  }),
  "storage.force_path_style": setting({
    parse: boolean,
    default: false,
    env: "PULSE_S3_FORCE_PATH_STYLE",
    help: "address the bucket as endpoint/bucket (MinIO, SeaweedFS, Ceph)",
  }),
  "storage.create_bucket": setting({
    parse: boolean,
    default: false,
    env: "PULSE_S3_CREATE_BUCKET",
    help: "create the bucket at start if it does not exist",
  }),
  "storage.direct_transfer": setting({
    parse: boolean,
    default: true,
    env: "PULSE_DIRECT_TRANSFER",
    help:
      "on S3, offer the direct path: clients move checkpoint bytes to and from the bucket with presigned URLs, the runtime plans and commits",
  }),
  "storage.public_endpoint": setting({
    parse: text,
    default: "",
    env: "PULSE_S3_PUBLIC_ENDPOINT",
    help:
      "the S3 endpoint URL as clients reach it, which presigned URLs name; empty for storage.endpoint",
  }),
  "storage.presign_expiry_ms": setting({
    parse: integer(1000, 7 * 24 * 3_600_000),
    default: 900_000,
    env: "PULSE_PRESIGN_EXPIRY_MS",
    help:
      "how long presigned URLs, and a direct save's hold on its chunks against garbage collection, last",
  }),
  "storage.writes_in_flight": setting({
    parse: integer(1, CHUNK_WRITES_IN_FLIGHT_MAX),
    default: 4,
    env: "PULSE_WRITES_IN_FLIGHT",
    help: "chunk writes in flight per save; a save buffers about this many chunks plus one",
  }),
  "storage.chunk_buffers": setting({
    parse: integer(1, CHUNK_BUFFERS_MAX),
    default: 32,
    env: "PULSE_CHUNK_BUFFERS",
    help: "8 MiB chunk buffers shared by all saves: their memory together (default 256 MiB)",
  }),
  "storage.chunk_buffer_wait_ms": setting({
    parse: integer(100, 3_600_000),
    default: 30_000,
    env: "PULSE_CHUNK_BUFFER_WAIT_MS",
    help:
      "longest wait of a save for a free chunk buffer; then it fails with UNAVAILABLE (the runtime is busy: the SDKs retry) instead of hanging behind the saves that hold them",
  }),
  "storage.reads_ahead": setting({
    parse: integer(0, CHUNK_READS_AHEAD_MAX),
    default: 2,
    env: "PULSE_READS_AHEAD",
    help: "chunks fetched ahead per load, and named chunks read back ahead per incremental save",
  }),
  "storage.hash_workers": setting({
    parse: integer(1, 64),
    default: 2,
    env: "PULSE_HASH_WORKERS",
    help:
      "Web Workers that compute the SHA-256 of saved and loaded chunks, so that hashing takes no time from the event loop that answers every call",
  }),
  "logging.level": setting<LogLevel>({
    parse: oneOf(LOG_LEVELS),
    default: "info",
    env: "PULSE_LOG_LEVEL",
    flag: "log-level",
    help: "least severe level logged",
  }),
  "logging.format": setting<LogFormat>({
    parse: oneOf(LOG_FORMATS),
    default: "json",
    env: "PULSE_LOG_FORMAT",
    flag: "log-format",
    help: "json: one JSON object per line; text: for humans",
  }),
  "retry.max_attempts": setting({
    parse: integer(1, 100),
    default: 3,
    env: "PULSE_MAX_RETRIES",
    help: "attempts of one S3 request, the first included",
  }),
  "retry.initial_delay_ms": setting({
    parse: integer(0, 60_000),
    default: 100,
    env: "PULSE_RETRY_DELAY_MS",
    help: "backoff before the first retry (full jitter, doubling)",
  }),
  "retry.max_delay_ms": setting({
    parse: integer(0, 600_000),
    default: 5000,
    env: "PULSE_RETRY_MAX_DELAY_MS",
    help: "longest backoff between two attempts",
  }),
  "retention.keep_last": setting({
    parse: integer(0, 1_000_000),
    default: 0,
    env: "PULSE_RETENTION_KEEP_LAST",
    help: "newest checkpoints kept per worker after each save; 0 keeps all",
  }),
  "retention.keep_every": setting({
    parse: integer(0, 1_000_000),
    default: 0,
    env: "PULSE_RETENTION_KEEP_EVERY",
    help: "with keep_last, also keep every K-th checkpoint of a worker's history; 0 for none",
  }),
  "retention.keep_last_steps": setting({
    parse: integer(0, 1_000_000),
    default: 0,
    env: "PULSE_RETENTION_KEEP_LAST_STEPS",
    help:
      "newest COMPLETE steps kept per job after each commit (older steps are deleted whole); 0 keeps all",
  }),
  "jobs.commit_timeout_ms": setting({
    parse: integer(1000, 86_400_000),
    default: 600_000,
    env: "PULSE_JOBS_COMMIT_TIMEOUT_MS",
    help:
      "how long CommitStep waits for every rank's shard of a step before it aborts the step, unless the call gives its own timeout",
  }),
  "storage.lease_ms": setting({
    parse: integer(1000, 3_600_000),
    default: 15_000,
    env: "PULSE_STORAGE_LEASE_MS",
    help:
      "how long a lease in the store lasts unless renewed (every quarter of it): a save's hold on its chunks and on its idempotency key, and the garbage collector's lease; a replica that dies is replaced after this",
  }),
  "gc.grace_ms": setting({
    parse: integer(0, 2_592_000_000),
    default: 3_600_000,
    env: "PULSE_GC_GRACE_MS",
    help: "garbage collection keeps unreferenced chunks written this recently",
  }),
  "gc.interval_ms": setting({
    parse: integer(0, 2_592_000_000),
    default: 3_600_000,
    env: "PULSE_GC_INTERVAL_MS",
    help: "time between two garbage collection runs; 0 for none",
  }),
};

/** The name of a setting, e.g. `server.grpc_addr`. */
export type SettingName = keyof typeof SETTINGS;

/** The loaded configuration, keyed by setting name. */
export type Config = {
  [K in SettingName]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never;
};

/** Where a loaded configuration came from. */
export interface ConfigSources {
  /** Path of the config file; undefined to use `config.toml` if it exists. */
  file?: string;
  /** Reads an environment variable. */
  env: (name: string) => string | undefined;
  /** Names every variable of the environment, so that a misspelled PULSE_* one is refused. */
  envNames?: () => string[];
  /** Values given as flags, by flag name (without `--`). */
  flags: Record<string, string | undefined>;
}

/** Path of the config file when neither `--config` nor `PULSE_CONFIG` names one. */
export const DEFAULT_CONFIG_FILE = "config.toml";

/**
 * Loads the configuration from its sources.
 * @throws {ConfigError} naming the key, the value and what is allowed
 */
export function loadConfig(sources: ConfigSources): Config {
  const config = Object.fromEntries(
    Object.entries(SETTINGS).map(([name, spec]) => [name, spec.default]),
  ) as Record<SettingName, unknown>;
  const apply = (name: SettingName, raw: unknown, origin: string) => {
    const parsed = (SETTINGS[name].parse as Parser<unknown>)(raw);
    if (typeof parsed === "object" && parsed !== null && "allowed" in parsed) {
      throw new ConfigError(
        `Invalid configuration: ${name} = ${
          JSON.stringify(raw)
        } (from ${origin}): expected ${parsed.allowed}`,
      );
    }
    config[name] = parsed;
  };

  const file = sources.file ?? sources.env("PULSE_CONFIG");
  for (
    const [name, raw] of readConfigFile(
      file ?? DEFAULT_CONFIG_FILE,
      file !== undefined,
    )
  ) {
    apply(name, raw, file ?? DEFAULT_CONFIG_FILE);
  }
  checkEnvNames(sources.envNames?.() ?? []);
  for (const [name, spec] of settingEntries()) {
    const raw = spec.env === undefined ? undefined : sources.env(spec.env);
    if (raw !== undefined) apply(name, raw, spec.env!);
  }
  for (const [name, spec] of settingEntries()) {
    const raw = spec.flag === undefined ? undefined : sources.flags[spec.flag];
    if (raw !== undefined) apply(name, raw, `--${spec.flag}`);
  }
  checkTls(config as Config);
  checkTokensUnique((config as Config)["auth.tokens"]);
  checkAnonymous(config as Config);
  return config as Config;
}

/**
 * PULSE_* variables that are no setting but are read all the same: the
 * config file's path, and the admin commands' address and token (often set
 * in the same shell).
 */
const OTHER_VARIABLES = ["PULSE_CONFIG", "PULSE_ADDR", "PULSE_TOKEN"];

// A misspelled variable would otherwise be ignored without a word, and the
// setting it meant left at its default.
function checkEnvNames(names: string[]): void {
  const known = [
    ...OTHER_VARIABLES,
    ...settingEntries().flatMap(([, spec]) => spec.env === undefined ? [] : [spec.env]),
  ];
  for (const name of names) {
    if (!name.startsWith("PULSE_") || known.includes(name)) continue;
    const nearest = known.reduce((best, candidate) =>
      editDistance(name, candidate) < editDistance(name, best) ? candidate : best
    );
    const hint = editDistance(name, nearest) <= 3 ? `; did you mean ${nearest}?` : "";
    throw new ConfigError(
      `Invalid configuration: unknown environment variable ${name}${hint} (README.md lists every setting)`,
    );
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * Why a path the configuration names is out of the runtime's reach: its Deno
 * permissions, fixed when the executable is built, do not cover it.
 */
export function outsidePermissions(access: "read" | "write", path: string): string {
  return `the runtime has no permission to ${access} it (Deno's --allow-${access}); ` +
    `the executable and the container may ${access} only ${
      access === "read" ? "their working directory" : "./data"
    }: move it there, or run from source with --allow-${access}=${path} (docs/operations.md, "Permissions")`;
}

// Without tokens every caller is admin: that is safe on loopback only,
// unless the operator says otherwise.
function checkAnonymous(config: Config): void {
  const grpcAddr = config["server.grpc_addr"];
  if (
    config["auth.tokens"].length > 0 || config["auth.allow_anonymous"] || isLoopback(grpcAddr)
  ) return;
  throw new ConfigError(
    `Invalid configuration: server.grpc_addr ${grpcAddr} is beyond loopback and no [[auth.tokens]] are configured, so anyone who can reach it would act as admin; configure tokens (SECURITY.md), listen on 127.0.0.1, or set auth.allow_anonymous = true (PULSE_AUTH_ALLOW_ANONYMOUS=true)`,
  );
}

function checkTls(config: Config): void {
  const cert = config["server.tls_cert"];
  const key = config["server.tls_key"];
  if ((cert === "") !== (key === "")) {
    throw new ConfigError(
      "Invalid configuration: server.tls_cert and server.tls_key must be set together",
    );
  }
  if (config["server.tls_client_ca"] !== "" && cert === "") {
    throw new ConfigError(
      "Invalid configuration: server.tls_client_ca needs server.tls_cert and server.tls_key",
    );
  }
}

function settingEntries(): [SettingName, Setting<unknown>][] {
  return Object.entries(SETTINGS) as [SettingName, Setting<unknown>][];
}

// Reads `section.key` pairs from a TOML file. A missing file is an error only
// when it was named explicitly.
function readConfigFile(
  path: string,
  required: boolean,
): [SettingName, unknown][] {
  let source: string;
  try {
    source = Deno.readTextFileSync(path);
  } catch (error) {
    if (!required && error instanceof Deno.errors.NotFound) return [];
    throw new ConfigError(
      error instanceof Deno.errors.NotCapable
        ? `Cannot read config file ${path}: ${outsidePermissions("read", path)}`
        : `Cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  let document: Record<string, unknown>;
  try {
    document = parseToml(source);
  } catch (error) {
    const { line, column } = error as { line?: number; column?: number };
    const reason = (error as Error).message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
    const where = line === undefined ? "" : ` line ${line}, column ${column}:`;
    throw new ConfigError(`Cannot parse config file ${path}:${where} ${reason}`);
  }
  const pairs: [SettingName, unknown][] = [];
  for (const [section, table] of Object.entries(document)) {
    if (typeof table !== "object" || table === null || Array.isArray(table)) {
      throw new ConfigError(
        `Invalid configuration: ${section} in ${path} is not a [section]`,
      );
    }
    for (const [key, value] of Object.entries(table)) {
      const name = `${section}.${key}`;
      if (!(name in SETTINGS)) {
        throw new ConfigError(
          `Invalid configuration: unknown key ${name} in ${path}`,
        );
      }
      pairs.push([name as SettingName, value]);
    }
  }
  return pairs;
}

/** Flags that set a setting, for the argument parser and `--help`. */
export function settingFlags(): {
  flag: string;
  name: SettingName;
  help: string;
}[] {
  return settingEntries()
    .filter(([, spec]) => spec.flag !== undefined)
    .map(([name, spec]) => ({ flag: spec.flag!, name, help: spec.help }));
}
