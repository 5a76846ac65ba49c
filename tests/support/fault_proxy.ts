/**
 * A fault-injecting HTTP proxy in front of an S3 server, for tests of how the
 * S3 store survives a flaky network and a throttling or failing server.
 *
 * Each request draws one fate from a seeded generator (reproducible runs):
 * answered 503 SlowDown, answered 500 InternalError, its connection dropped
 * (before forwarding, or halfway through the response body), delayed, or
 * forwarded untouched. With `down` set, every connection is closed at once.
 */
import {
  type IncomingMessage,
  request as httpRequest,
  type Server,
  type ServerResponse,
} from "node:http";
import { Agent, createServer } from "node:http";
import type { Socket } from "node:net";
import { seededRandom } from "./random.ts";

/** Chances in [0, 1] of each fault per request; their sum is at most 1. */
export interface FaultRates {
  /** Answer 503 SlowDown, as S3 does when throttling. */
  slowDown?: number;
  /** Answer 500 InternalError. */
  internalError?: number;
  /** Close the connection without an answer, or mid-body. */
  drop?: number;
  /** Wait `delayMs` before forwarding. */
  delay?: number;
}

/** What the proxy did, by fate. */
export interface FaultCounts {
  requests: number;
  forwarded: number;
  slowDown: number;
  internalError: number;
  dropped: number;
  delayed: number;
  refused: number;
}

/** A running proxy; its fields may be changed while it runs. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the client instead of the server. */
  readonly endpoint: string;
  /** The chances of each fault. */
  rates: FaultRates;
  /** How long a delayed request waits. */
  delayMs: number;
  /** When true, every connection is closed as soon as it is accepted. */
  down: boolean;
  /** What the proxy did so far. */
  readonly counts: FaultCounts;
  /** Stops the proxy and closes its connections. */
  close(): Promise<void>;
}

/** Options of `startFaultProxy`. */
export interface FaultProxyOptions {
  rates?: FaultRates;
  delayMs?: number;
  /** Seed of the generator that draws the fates. */
  seed?: number;
}

type Fate = keyof FaultRates | "forward";

// Headers that describe one connection, not the message: never forwarded.
const HOP_BY_HOP_HEADERS = [
  "connection",
  "keep-alive",
  "transfer-encoding",
  "expect",
  "upgrade",
  "proxy-connection",
];

/** Starts a proxy on a free loopback port forwarding to `upstream`. */
export async function startFaultProxy(
  upstream: string,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const random = seededRandom(options.seed ?? 1);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const counts: FaultCounts = {
    requests: 0,
    forwarded: 0,
    slowDown: 0,
    internalError: 0,
    dropped: 0,
    delayed: 0,
    refused: 0,
  };
  const server: Server = createServer();
  const proxy: FaultProxy = {
    endpoint: "",
    rates: options.rates ?? {},
    delayMs: options.delayMs ?? 0,
    down: false,
    counts,
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on("connection", (socket: Socket) => {
    if (proxy.down) {
      counts.refused++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    counts.requests++;
    handle(request, response, drawFate(proxy.rates, random())).catch(() => {
      response.socket?.destroy();
    });
  });

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
    fate: Fate,
  ): Promise<void> {
    // Read the whole request first, as a server would before answering.
    const body = await readAll(request);
    if (proxy.down) fate = "drop";
    switch (fate) {
      case "slowDown":
        counts.slowDown++;
        return answerError(
          response,
          503,
          "SlowDown",
          "Reduce your request rate.",
        );
      case "internalError":
        counts.internalError++;
        return answerError(response, 500, "InternalError", "Injected failure.");
      case "drop":
        counts.dropped++;
        // Half of the drops happen after the server did the work, halfway
        // through the response: the client must not trust a cut body.
        if (random() < 0.5) {
          request.socket.destroy();
          return;
        }
        return forward(request, body, response, { cutBody: true });
      case "delay":
        counts.delayed++;
        await new Promise((resolve) => setTimeout(resolve, proxy.delayMs));
        return forward(request, body, response, { cutBody: false });
      case "forward":
        return forward(request, body, response, { cutBody: false });
    }
  }

  function forward(
    request: IncomingMessage,
    body: Uint8Array,
    response: ServerResponse,
    { cutBody }: { cutBody: boolean },
  ): Promise<void> {
    counts.forwarded++;
    const headers = withoutHopByHop(request.headers);
    headers["content-length"] = String(body.length);
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        // The Host header stays the proxy's: the client signed it.
        headers,
        agent,
      }, (incoming) => {
        relay(incoming, response, cutBody).then(resolve, reject);
      });
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  (proxy as { endpoint: string }).endpoint = `http://127.0.0.1:${port}`;
  return proxy;
}

async function relay(
  incoming: IncomingMessage,
  response: ServerResponse,
  cutBody: boolean,
): Promise<void> {
  const body = await readAll(incoming);
  const headers = withoutHopByHop(incoming.headers);
  headers["content-length"] = String(body.length);
  response.writeHead(incoming.statusCode ?? 502, headers);
  if (!cutBody) {
    response.end(body);
    return;
  }
  // Send half of the body (none of an empty one) and close the connection.
  response.write(body.subarray(0, Math.floor(body.length / 2)), () => {
    response.socket?.destroy();
  });
}

function answerError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}` +
    `</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
  response.writeHead(status, {
    "content-type": "application/xml",
    "content-length": String(new TextEncoder().encode(xml).length),
  });
  response.end(xml);
}

function drawFate(rates: FaultRates, draw: number): Fate {
  let threshold = 0;
  for (const fate of ["slowDown", "internalError", "drop", "delay"] as const) {
    threshold += rates[fate] ?? 0;
    if (draw < threshold) return fate;
  }
  return "forward";
}

function withoutHopByHop(
  headers: IncomingMessage["headers"],
): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP_HEADERS.includes(name)) {
      kept[name] = value;
    }
  }
  return kept;
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of stream) {
    parts.push(part);
    length += part.length;
  }
  const all = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
