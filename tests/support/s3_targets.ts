/**
 * S3 buckets to run the runtime process against, for the integration tests
 * and the S3 benchmark: s3rver, started for each case, and every server named
 * in PULSE_TEST_S3_SERVERS (`name=http://127.0.0.1:port,...`, started by
 * `scripts/ci_s3_servers.sh`), plus PULSE_TEST_S3_ENDPOINT when set (with
 * PULSE_TEST_S3_BUCKET and PULSE_TEST_S3_REGION).
 *
 * Each case gets a key prefix of its own; on shared servers it deletes what
 * it wrote when it ends. The bucket is inspected directly with the AWS SDK,
 * not through the runtime, so that tests can check what is really stored.
 */
import { DeleteObjectCommand, paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3";
import { Buffer } from "node:buffer";
import { type Runtime } from "@pulsecheckpoint/sdk";
import { type RuntimeProcess, startRuntime } from "./runtime.ts";
import { startS3rver } from "./s3rver.ts";

// The test servers' credentials (scripts/ci_s3_servers.sh), unless the
// environment names others; s3rver is made to accept whichever are set.
if (!Deno.env.get("AWS_ACCESS_KEY_ID")) {
  Deno.env.set("AWS_ACCESS_KEY_ID", "pulsetest");
  Deno.env.set("AWS_SECRET_ACCESS_KEY", "pulsetestsecret");
}

/** The bucket cases use on shared servers; the runtime creates it if missing. */
export const SHARED_BUCKET = "pulse-test";
// Deletes in flight when a case cleans up after itself on a shared server.
const CLEANUP_DELETES_IN_FLIGHT = 16;

/** A bucket and key prefix on one server, for the duration of one case. */
export interface S3Target {
  /** The server's name: `s3rver`, `moto`, `seaweedfs`, ... */
  server: string;
  endpoint: string;
  bucket: string;
  region: string;
  /** Key prefix of every object of this case, ending in `/`. */
  prefix: string;
  /** A client of the server, for looking at the bucket directly. */
  client: S3Client;
  /** Deletes what the case wrote (shared servers) or stops the server (s3rver). */
  release(): Promise<void>;
}

/** A server the tests run against. */
export interface S3TestServer {
  name: string;
  /** Whether the server is shared by every case (and must be cleaned up). */
  shared: boolean;
  /** A fresh prefix (and, for s3rver, a fresh server). */
  acquire(label: string): Promise<S3Target>;
}

/** s3rver, then the servers of PULSE_TEST_S3_SERVERS and PULSE_TEST_S3_ENDPOINT. */
export function s3TestServers(): S3TestServer[] {
  return [s3rverServer(), ...configuredServers()];
}

/** The servers of PULSE_TEST_S3_SERVERS and PULSE_TEST_S3_ENDPOINT only. */
export function configuredServers(): S3TestServer[] {
  const servers: S3TestServer[] = [];
  const list = Deno.env.get("PULSE_TEST_S3_SERVERS") ?? "";
  for (const entry of list.split(",").map((e) => e.trim()).filter(Boolean)) {
    const separator = entry.indexOf("=");
    if (separator <= 0) {
      throw new Error(
        `PULSE_TEST_S3_SERVERS: expected name=url, got ${JSON.stringify(entry)}`,
      );
    }
    servers.push(
      sharedServer(entry.slice(0, separator), entry.slice(separator + 1), SHARED_BUCKET),
    );
  }
  const endpoint = Deno.env.get("PULSE_TEST_S3_ENDPOINT");
  if (endpoint) {
    const bucket = Deno.env.get("PULSE_TEST_S3_BUCKET") || SHARED_BUCKET;
    servers.push(sharedServer("PULSE_TEST_S3_ENDPOINT", endpoint, bucket));
  }
  return servers;
}

function s3rverServer(): S3TestServer {
  return {
    name: "s3rver",
    shared: false,
    async acquire(label) {
      const server = await startS3rver();
      const client = s3Client(server.endpoint, "us-east-1");
      return {
        server: "s3rver",
        endpoint: server.endpoint,
        bucket: server.bucket,
        region: "us-east-1",
        prefix: uniquePrefix(label),
        client,
        async release() {
          client.destroy();
          await server.stop();
        },
      };
    },
  };
}

function sharedServer(
  name: string,
  endpoint: string,
  bucket: string,
): S3TestServer {
  const region = Deno.env.get("PULSE_TEST_S3_REGION") || "us-east-1";
  return {
    name,
    shared: true,
    acquire(label) {
      const client = s3Client(endpoint, region);
      const target: S3Target = {
        server: name,
        endpoint,
        bucket,
        region,
        prefix: uniquePrefix(label),
        client,
        async release() {
          try {
            await deleteUnder(target, "");
          } finally {
            client.destroy();
          }
        },
      };
      return Promise.resolve(target);
    },
  };
}

/** A client configured as the runtime's: path style, checksums only where required. */
export function s3Client(endpoint: string, region: string): S3Client {
  return new S3Client({
    endpoint,
    region,
    // Test servers on localhost have no per-bucket DNS names.
    forcePathStyle: true,
    // As the runtime: s3rver stores aws-chunked bodies with trailing
    // checksums verbatim, so the SDK must send plain bodies.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

function uniquePrefix(label: string): string {
  return `it-${label}-${crypto.randomUUID()}/`;
}

/** Settings of the retry wrapper, as `PULSE_*` variables. */
export interface RetryEnv {
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * The environment of a runtime on `target`: S3 backend, path style, bucket
 * created if missing, the test credentials, and fast retries (test servers
 * recover in milliseconds). `endpoint` replaces the server's (a proxy).
 */
export function runtimeEnv(
  target: S3Target,
  options: { endpoint?: string; retry?: RetryEnv; extra?: Record<string, string> } = {},
): Record<string, string> {
  const retry = options.retry ?? {};
  return {
    PULSE_STORAGE_BACKEND: "s3",
    PULSE_S3_ENDPOINT: options.endpoint ?? target.endpoint,
    PULSE_S3_BUCKET: target.bucket,
    PULSE_S3_REGION: target.region,
    PULSE_S3_PREFIX: target.prefix,
    PULSE_S3_FORCE_PATH_STYLE: "true",
    PULSE_S3_CREATE_BUCKET: "true",
    AWS_ACCESS_KEY_ID: Deno.env.get("AWS_ACCESS_KEY_ID")!,
    AWS_SECRET_ACCESS_KEY: Deno.env.get("AWS_SECRET_ACCESS_KEY")!,
    PULSE_MAX_RETRIES: String(retry.maxAttempts ?? 5),
    PULSE_RETRY_DELAY_MS: String(retry.initialDelayMs ?? 20),
    PULSE_RETRY_MAX_DELAY_MS: String(retry.maxDelayMs ?? 200),
    ...options.extra,
  };
}

/** Starts a runtime process on `target`, in a new temporary directory. */
export function startS3Runtime(
  target: S3Target,
  options: Parameters<typeof runtimeEnv>[1] = {},
): Promise<RuntimeProcess> {
  return startRuntime({ env: runtimeEnv(target, options) });
}

/** Stops a runtime process and removes its directory. */
export async function stopRuntime(runtime: RuntimeProcess): Promise<number> {
  const code = await runtime.stop();
  await Deno.remove(runtime.dir, { recursive: true });
  return code;
}

/** Keys (without the case's prefix) stored under `prefix`, sorted. */
export async function listKeys(target: S3Target, prefix: string): Promise<string[]> {
  return [...(await listSizes(target, prefix)).keys()].sort();
}

/** Sizes of the objects stored under `prefix`, by key (without the case's prefix). */
export async function listSizes(target: S3Target, prefix: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const pages = paginateListObjectsV2({ client: target.client }, {
    Bucket: target.bucket,
    Prefix: target.prefix + prefix,
  });
  for await (const page of pages) {
    for (const object of page.Contents ?? []) {
      sizes.set(object.Key!.slice(target.prefix.length), object.Size ?? 0);
    }
  }
  return sizes;
}

/** Deletes one object (key without the case's prefix). */
export async function deleteObject(target: S3Target, key: string): Promise<void> {
  await target.client.send(
    new DeleteObjectCommand({ Bucket: target.bucket, Key: target.prefix + key }),
  );
}

/** Deletes every object under `prefix` (without the case's prefix). */
export async function deleteUnder(target: S3Target, prefix: string): Promise<void> {
  const keys = await listKeys(target, prefix);
  const next = keys[Symbol.iterator]();
  const deleter = async () => {
    for (let step = next.next(); !step.done; step = next.next()) {
      await deleteObject(target, step.value);
    }
  };
  await Promise.all(Array.from({ length: CLEANUP_DELETES_IN_FLIGHT }, deleter));
}

/** Runs `run` on a fresh target of `server`, released afterwards whatever happens. */
export async function withTarget(
  server: S3TestServer,
  label: string,
  run: (target: S3Target) => Promise<void>,
): Promise<void> {
  const target = await server.acquire(label);
  try {
    await run(target);
  } finally {
    await target.release();
  }
}

/** Loads a checkpoint whole through `loadCheckpointStream` (the SDK checks its SHA-256). */
export async function loadBytes(
  rt: Runtime,
  workerId: string,
  checkpointId: string,
): Promise<Uint8Array> {
  const { checkpoint, stream } = await rt.loadCheckpointStream(workerId, { checkpointId });
  const pieces: Uint8Array[] = [];
  let length = 0;
  for await (const piece of stream) {
    pieces.push(piece);
    length += piece.length;
  }
  if (length !== checkpoint.sizeBytes) {
    throw new Error(
      `loaded ${length} bytes of ${checkpointId}, its size is ${checkpoint.sizeBytes}`,
    );
  }
  return Buffer.concat(pieces);
}

/** Asserts two byte arrays are equal, without node:assert's slow element walk. */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: ${actual.length} bytes, expected ${expected.length}`);
  }
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.length);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (!a.equals(b)) {
    let at = 0;
    while (a[at] === b[at]) at++;
    throw new Error(`${label}: bytes differ from offset ${at}`);
  }
}

/** The sum of the samples of a Prometheus counter whose labels include `labels`. */
export async function metricSum(
  runtime: RuntimeProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${runtime.metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => match[2]?.includes(`${k}="${v}"`));
    if (has) sum += Number(match[3]);
  }
  return sum;
}
