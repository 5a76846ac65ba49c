/**
 * A TCP proxy that adds latency: every byte is held `oneWayMs` before it is
 * passed on, in each direction, so a connection through it has a round-trip
 * time of 2 × `oneWayMs` more than without it, and no bandwidth limit. It
 * reads eagerly (TCP windows stay open), so what limits a stream through it
 * is what the protocol keeps in flight: HTTP/2 flow-control windows, over the
 * round-trip time.
 */
import { createConnection, createServer, type Socket } from "node:net";

/** A running proxy. */
export interface DelayProxy {
  /** `127.0.0.1:PORT`: give it to the client instead of the server. */
  address: string;
  close(): Promise<void>;
}

// Bytes held per direction before the proxy stops reading: far above
// bandwidth × delay on loopback, so it never limits, but memory stays bounded.
const HELD_BYTES_MAX = 256 * 1024 * 1024;

/** Starts a proxy on a free loopback port to `upstream` (`host:port`). */
export async function startDelayProxy(upstream: string, oneWayMs: number): Promise<DelayProxy> {
  const colon = upstream.lastIndexOf(":");
  const host = upstream.slice(0, colon);
  const port = Number(upstream.slice(colon + 1));
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const origin = createConnection({ host, port, noDelay: true });
    client.setNoDelay(true);
    for (const socket of [client, origin]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    delayed(client, origin, oneWayMs);
    delayed(origin, client, oneWayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: proxyPort } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${proxyPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// Passes what `from` sends to `to` after `delayMs`, in order, and the end of
// the stream after the last byte.
function delayed(from: Socket, to: Socket, delayMs: number): void {
  let held = 0;
  const later = (action: () => void) => setTimeout(action, delayMs);
  from.on("data", (data: Uint8Array) => {
    held += data.length;
    if (held > HELD_BYTES_MAX) from.pause();
    later(() => {
      held -= data.length;
      if (!to.destroyed) to.write(data);
      if (held <= HELD_BYTES_MAX && from.isPaused()) from.resume();
    });
  });
  from.on("end", () => later(() => to.end()));
  from.on("close", () => later(() => to.destroy()));
}
