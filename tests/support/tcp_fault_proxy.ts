/**
 * A fault-injecting TCP proxy in front of a gRPC server, so that clients see
 * real `UNAVAILABLE` failures: connections refused, and connections cut at
 * the worst moment — right after the server answered a call (the work is
 * done, the answer lost) or halfway through a streamed response.
 *
 * It reads the HTTP/2 frames the server sends, so it can cut a connection
 * exactly when a response begins: the server's first HEADERS frame of a call
 * is sent with its answer (grpc-js sends response headers lazily).
 */
import { createConnection, createServer, type Socket } from "node:net";

/** A running proxy; its fault fields may be changed while it runs. */
export interface TcpFaultProxy {
  /** `127.0.0.1:<port>`: give it to the client instead of the server's. */
  readonly address: string;
  /** The next this many connections are closed as soon as they are accepted. */
  refuseConnections: number;
  /** The next this many responses are lost: the connection is cut when one begins. */
  cutResponses: number;
  /** Cut the next `times` connections that carry more than `bytes` bytes from the server. */
  cutAfterServerBytes: { bytes: number; times: number } | undefined;
  /** What the proxy did so far. */
  readonly counts: {
    connections: number;
    refused: number;
    responsesCut: number;
    bytesCut: number;
    /** Bytes forwarded from the server to clients. */
    serverBytes: number;
  };
  /**
   * Stops (true) or resumes (false) reading what clients send, as a stalled
   * server would: TCP backpressure then reaches the clients.
   */
  holdUploads(held: boolean): void;
  /** Stops the proxy and closes its connections. */
  close(): Promise<void>;
}

const FRAME_HEADER_BYTES = 9;
const FRAME_TYPE_HEADERS = 0x1;

/** Starts a proxy on a free loopback port forwarding to `upstream` (`host:port`). */
export async function startTcpFaultProxy(
  upstream: string,
): Promise<TcpFaultProxy> {
  const colon = upstream.lastIndexOf(":");
  const host = upstream.slice(0, colon);
  const port = Number(upstream.slice(colon + 1));
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let uploadsHeld = false;
  const server = createServer();
  const proxy: TcpFaultProxy = {
    address: "",
    refuseConnections: 0,
    cutResponses: 0,
    cutAfterServerBytes: undefined,
    counts: {
      connections: 0,
      refused: 0,
      responsesCut: 0,
      bytesCut: 0,
      serverBytes: 0,
    },
    holdUploads(held: boolean) {
      uploadsHeld = held;
      for (const [client, target] of pairs) {
        if (held) {
          client.unpipe(target);
          client.pause();
        } else {
          client.pipe(target);
        }
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  server.on("connection", (client: Socket) => {
    proxy.counts.connections++;
    if (proxy.refuseConnections > 0) {
      proxy.refuseConnections--;
      proxy.counts.refused++;
      client.destroy();
      return;
    }
    const target = createConnection({ host, port });
    for (const socket of [client, target]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {}); // a cut is the point; the other side sees it
    }
    const cut = () => {
      client.destroy();
      target.destroy();
    };
    client.on("close", cut);
    target.on("close", cut);
    const pair: [Socket, Socket] = [client, target];
    pairs.add(pair);
    client.on("close", () => pairs.delete(pair));
    if (uploadsHeld) client.pause();
    else client.pipe(target);
    relayFrames(target, client, proxy, cut);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: bound } = server.address() as { port: number };
  (proxy as { address: string }).address = `127.0.0.1:${bound}`;
  return proxy;
}

// Forwards the server's bytes frame by frame, cutting when a fault is due.
function relayFrames(
  from: Socket,
  to: Socket,
  proxy: TcpFaultProxy,
  cut: () => void,
): void {
  let pending: Uint8Array = new Uint8Array(0);
  let forwarded = 0;
  from.on("data", (bytes: Uint8Array) => {
    pending = concat(pending, bytes);
    while (pending.length >= FRAME_HEADER_BYTES) {
      const length = (pending[0]! << 16) | (pending[1]! << 8) | pending[2]!;
      const frameBytes = FRAME_HEADER_BYTES + length;
      if (pending.length < frameBytes) return;
      const type = pending[3]!;
      const streamId = new DataView(pending.buffer, pending.byteOffset + 5, 4)
        .getUint32(0) & 0x7fffffff;
      if (
        type === FRAME_TYPE_HEADERS && streamId !== 0 && proxy.cutResponses > 0
      ) {
        proxy.cutResponses--;
        proxy.counts.responsesCut++;
        cut();
        return;
      }
      const limit = proxy.cutAfterServerBytes;
      if (
        limit !== undefined && limit.times > 0 &&
        forwarded + frameBytes > limit.bytes
      ) {
        limit.times--;
        proxy.counts.bytesCut++;
        cut();
        return;
      }
      to.write(pending.slice(0, frameBytes));
      forwarded += frameBytes;
      proxy.counts.serverBytes += frameBytes;
      pending = pending.subarray(frameBytes);
    }
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return new Uint8Array(b);
  const all = new Uint8Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}
