/**
 * The composition root: opens the store, builds the domain modules, serves
 * gRPC (with health and reflection) and the metrics endpoint, and shuts it
 * all down gracefully.
 */
import type { EventEmitter } from "node:events";
import type { ServerHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import { Guard } from "./api/auth.ts";
import { HealthService } from "./api/health_service.ts";
import { createPulseService } from "./api/pulse_service.ts";
import { addReflection } from "./api/reflection.ts";
import { Checkpoints } from "./checkpoints/checkpoints.ts";
import { GarbageCollector } from "./checkpoints/garbage_collector.ts";
import { Retention } from "./checkpoints/retention.ts";
import type { Config } from "./config.ts";
import { DatasetRegistry } from "./datasets/dataset_registry.ts";
import { CONNECTION_WINDOW_STREAMS, GRPC_MESSAGE_BYTES_MAX } from "./limits.ts";
import { log } from "./log.ts";
import { registry, setActiveWorkersSource } from "./metrics.ts";
import { FsStore } from "./storage/fs_store.ts";
import { S3Store } from "./storage/s3_store.ts";
import type { ObjectStore } from "./storage/store.ts";
import { WorkerRegistry } from "./workers/worker_registry.ts";

const TARGET = "pulse::server";

/** A running runtime. */
export interface RunningRuntime {
  /** The gRPC port actually bound (useful when the config asked for port 0). */
  grpcPort: number;
  /** The metrics port actually bound. */
  metricsPort: number;
  /**
   * Stops accepting calls, lets calls in flight finish for up to
   * `server.drain_timeout_ms`, cancels the rest, and releases everything.
   */
  shutdown(): Promise<void>;
}

/** Starts the runtime described by `config`. */
export async function startRuntime(config: Config): Promise<RunningRuntime> {
  log.info(TARGET, "Starting PulseCheckpoint Runtime", {
    deno_version: Deno.version.deno,
    storage_backend: config["storage.backend"],
  });
  const store = await openStore(config);
  const workers = await WorkerRegistry.open(store, {
    heartbeatTimeoutMs: config["server.heartbeat_timeout_ms"],
  });
  setActiveWorkersSource(() => workers.activeCount());
  const checkpoints = new Checkpoints(store, {
    writesInFlight: config["storage.writes_in_flight"],
    chunkBuffers: config["storage.chunk_buffers"],
    readsAhead: config["storage.reads_ahead"],
    checkpointBytesMax: config["limits.checkpoint_bytes_max"],
    savesPerWorkerMax: config["limits.saves_per_worker_max"],
    savesMax: config["limits.saves_max"],
    requireWorker: (action, workerId) => workers.requireRegistered(action, workerId),
    // Set below, before the server takes its first call.
    onSaved: (checkpoint) => retention.schedule(checkpoint.workerId),
  });
  const retention = new Retention(store, checkpoints, {
    keepLast: config["retention.keep_last"],
    keepEvery: config["retention.keep_every"],
  });
  const garbageCollector = new GarbageCollector(store, checkpoints.chunkLeases, {
    graceMs: config["gc.grace_ms"],
    intervalMs: config["gc.interval_ms"],
  });
  const guard = new Guard(config["auth.tokens"]);
  const service = createPulseService({
    guard,
    workers,
    datasets: new DatasetRegistry(store),
    checkpoints,
    garbageCollector,
  });

  const server = new grpc.Server({
    // Room for the largest data message plus its framing; grpc-js defaults to 4 MiB.
    "grpc.max_receive_message_length": GRPC_MESSAGE_BYTES_MAX,
    "grpc.max_send_message_length": GRPC_MESSAGE_BYTES_MAX,
    interceptors: [guard.interceptor()],
  });
  const definition = loadPulsePackage();
  server.addService(
    definition[SERVICE_NAME] as grpc.ServiceDefinition,
    service,
  );
  const health = new HealthService(["", SERVICE_NAME]);
  server.addService(
    definition["grpc.health.v1.Health"] as grpc.ServiceDefinition,
    health.handlers(),
  );
  addReflection(server, definition);
  const grpcPort = await bind(server, config["server.grpc_addr"], await credentialsOf(config));
  widenReceiveWindows(server, config["server.receive_window_bytes"]);
  if (!guard.enabled && !isLoopback(config["server.grpc_addr"])) {
    log.warn(
      TARGET,
      "AUTHENTICATION IS OFF: no [[auth.tokens]] are configured and gRPC listens beyond loopback. " +
        "Anyone who can reach this address can read, overwrite and delete every checkpoint. " +
        "Configure tokens (see SECURITY.md) or listen on 127.0.0.1 only.",
      { grpc_addr: config["server.grpc_addr"] },
    );
  }

  let ready = true;
  const metricsServer = serveMetrics(
    config["server.metrics_addr"],
    () => ready,
  );
  const metricsPort = metricsServer.addr.port;
  log.info(TARGET, "Runtime started", {
    grpc_addr: withPort(config["server.grpc_addr"], grpcPort),
    metrics_addr: withPort(config["server.metrics_addr"], metricsPort),
    store: store.description,
    deno_version: Deno.version.deno,
  });
  garbageCollector.start();

  return {
    grpcPort,
    metricsPort,
    async shutdown() {
      ready = false;
      health.setAll("NOT_SERVING");
      health.endWatches();
      log.info(TARGET, "Shutting down: draining calls in flight", {
        drain_timeout_ms: config["server.drain_timeout_ms"],
      });
      await garbageCollector.stop();
      await drain(server, config["server.drain_timeout_ms"]);
      await retention.idle();
      await workers.flush();
      await metricsServer.shutdown();
      await store.close();
      log.info(TARGET, "Runtime stopped");
    },
  };
}

async function openStore(config: Config): Promise<ObjectStore> {
  if (config["storage.backend"] !== "s3") return await FsStore.open(config["storage.path"]);
  return await S3Store.open({
    bucket: config["storage.bucket"],
    prefix: config["storage.prefix"],
    endpoint: config["storage.endpoint"],
    region: config["storage.region"],
    forcePathStyle: config["storage.force_path_style"],
    createBucket: config["storage.create_bucket"],
    retry: {
      maxAttempts: config["retry.max_attempts"],
      initialDelayMs: config["retry.initial_delay_ms"],
      maxDelayMs: config["retry.max_delay_ms"],
    },
  });
}

function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error) reject(new Error(`Cannot listen on ${address}: ${error.message}`));
      else resolve(port);
    });
  });
}

/**
 * Gives every new HTTP/2 session receive windows of `streamBytes` per call
 * and CONNECTION_WINDOW_STREAMS times that per connection. grpc-js
 * servers keep the protocol's 64 KiB (its `grpc-node.flow_control_window`
 * option is read by clients only; grpc/grpc-node pull request 3058 would add
 * it to servers), which caps a save at 64 KiB per round trip. This reaches
 * into grpc-js's private `http2Servers`: grpc-js is pinned, and
 * tests/integration/flow_control_test.ts fails if the windows are not
 * advertised.
 */
function widenReceiveWindows(server: grpc.Server, streamBytes: number): void {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map) || http2Servers.size === 0) {
    throw new Error("Cannot widen HTTP/2 receive windows: grpc-js has no http2Servers map");
  }
  for (const http2Server of http2Servers.keys() as Iterable<EventEmitter>) {
    http2Server.on("session", (session: ServerHttp2Session) => {
      try {
        session.settings({ initialWindowSize: streamBytes });
        session.setLocalWindowSize(
          Math.min(2 ** 31 - 1, streamBytes * CONNECTION_WINDOW_STREAMS),
        );
      } catch {
        // The session closed before it could be set up: nothing to widen.
      }
    });
  }
}

// TLS when a certificate is configured; mutual TLS when a client CA is too.
async function credentialsOf(config: Config): Promise<grpc.ServerCredentials> {
  if (config["server.tls_cert"] === "") return grpc.ServerCredentials.createInsecure();
  const read = async (setting: "server.tls_cert" | "server.tls_key" | "server.tls_client_ca") => {
    try {
      return Buffer.from(await Deno.readFile(config[setting]));
    } catch (error) {
      throw new Error(`Cannot read ${setting} ${config[setting]}: ${(error as Error).message}`);
    }
  };
  const clientCa = config["server.tls_client_ca"] === ""
    ? null
    : await read("server.tls_client_ca");
  return grpc.ServerCredentials.createSsl(
    clientCa,
    [{ cert_chain: await read("server.tls_cert"), private_key: await read("server.tls_key") }],
    clientCa !== null, // with a client CA, a client certificate is required and verified
  );
}

function isLoopback(address: string): boolean {
  const { hostname } = splitAddress(address);
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}

// Waits for calls in flight to finish; after `timeoutMs`, cancels the rest.
function drain(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn(
        TARGET,
        "Drain timeout reached: cancelling calls still in flight",
        {
          drain_timeout_ms: timeoutMs,
        },
      );
      server.forceShutdown();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function serveMetrics(
  address: string,
  isReady: () => boolean,
): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port } = splitAddress(address);
  return Deno.serve({ hostname, port, onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/metrics") {
      return new Response(await registry.metrics(), {
        headers: { "content-type": registry.contentType },
      });
    }
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/readyz") {
      return isReady() ? new Response("ready\n") : new Response("shutting down\n", { status: 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
}

/** Splits `host:port` (or `[v6]:port`) into its parts. */
export function splitAddress(
  address: string,
): { hostname: string; port: number } {
  const colon = address.lastIndexOf(":");
  const hostname = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { hostname, port: Number(address.slice(colon + 1)) };
}

function withPort(address: string, port: number): string {
  return `${address.slice(0, address.lastIndexOf(":"))}:${port}`;
}
