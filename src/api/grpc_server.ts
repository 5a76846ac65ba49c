/**
 * The gRPC server: `pulse.v1.PulseRuntime` with health and reflection, its
 * channel options, TLS credentials, the listening address, the HTTP/2
 * windows it advertises, and its drain on shutdown.
 */
import type { EventEmitter } from "node:events";
import type { ServerHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { HEALTH_SERVICE_NAME, loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import { REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX } from "@pulsecheckpoint/proto/protocol";
import type { Config } from "../config.ts";
import { CONNECTION_WINDOW_STREAMS } from "../limits.ts";
import { listenProblem } from "../address.ts";
import { log } from "../log.ts";
import type { Guard } from "./auth.ts";
import { callLimits } from "./call_limits.ts";
import { HealthService } from "./health_service.ts";
import { createPulseService, type PulseServiceParts } from "./pulse_service.ts";
import { addReflection } from "./reflection.ts";

const TARGET = "pulse::server";

/** A gRPC server that listens. */
export interface GrpcServer {
  /** The port actually bound (useful when the config asked for port 0). */
  port: number;
  /** Tells health watchers the runtime stops serving, and ends their calls. */
  stopServing(): void;
  /** Lets calls in flight finish for up to `timeoutMs`, then cancels the rest. */
  drain(timeoutMs: number): Promise<void>;
}

/** Builds the gRPC server of `parts` and listens on `server.grpc_addr`. */
export async function startGrpcServer(
  config: Config,
  parts: PulseServiceParts & { guard: Guard },
): Promise<GrpcServer> {
  const limits = callLimits({
    callsMax: config["server.calls_max"],
    firstMessageTimeoutMs: config["server.request_timeout_ms"],
  });
  const server = new grpc.Server({
    // One limit for every message a client sends: a data message and its
    // framing (grpc-js defaults to 4 MiB), which grpc-js buffers until it is
    // whole. Replies may be larger: a chunk list.
    "grpc.max_receive_message_length": REQUEST_BYTES_MAX,
    "grpc.max_send_message_length": RESPONSE_BYTES_MAX,
    // Calls at once per connection: with server.calls_max, what bounds the
    // partly received messages held for clients.
    "grpc.max_concurrent_streams": config["server.streams_per_connection_max"],
    // Pings find peers that vanished (a host powered off, a cable cut) and
    // close their connections, and with them every call they held open.
    "grpc.keepalive_time_ms": config["server.keepalive_time_ms"],
    "grpc.keepalive_timeout_ms": config["server.keepalive_timeout_ms"],
    // The call limits first: an unauthenticated flood is refused before any
    // token is hashed.
    interceptors: [limits.interceptor, parts.guard.interceptor()],
  });
  const definition = loadPulsePackage();
  server.addService(definition[SERVICE_NAME] as grpc.ServiceDefinition, createPulseService(parts));
  const health = new HealthService(["", SERVICE_NAME]);
  server.addService(
    definition[HEALTH_SERVICE_NAME] as grpc.ServiceDefinition,
    health.handlers(),
  );
  addReflection(server, definition);
  const port = await bind(server, config["server.grpc_addr"], await credentialsOf(config));
  widenReceiveWindows(server, config["server.receive_window_bytes"]);
  return {
    port,
    stopServing() {
      health.setAll("NOT_SERVING");
      health.endWatches();
    },
    drain: (timeoutMs) => drain(server, timeoutMs),
  };
}

function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error) {
        reject(new Error(`Cannot listen on server.grpc_addr ${address}: ${listenProblem(error)}`));
      } else resolve(port);
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
  const certChain = await read("server.tls_cert");
  const clientCa = config["server.tls_client_ca"] === ""
    ? undefined
    : await read("server.tls_client_ca");
  return grpc.ServerCredentials.createSsl(
    // Roots only verify client certificates, which are asked for only with a
    // client CA. Without one, grpc-js would load the roots of
    // GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (outside the runtime's read permission
    // on many hosts) for nothing: give it the unused certificate instead.
    clientCa ?? certChain,
    [{ cert_chain: certChain, private_key: await read("server.tls_key") }],
    clientCa !== undefined, // with a client CA, a client certificate is required and verified
  );
}

// Waits for calls in flight to finish; after `timeoutMs`, cancels the rest.
function drain(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn(TARGET, "Drain timeout reached: cancelling calls still in flight", {
        drain_timeout_ms: timeoutMs,
      });
      server.forceShutdown();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
