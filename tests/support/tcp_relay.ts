/**
 * A TCP relay in front of a server that can be switched off and on, for tests
 * of a store that goes away for a while: switched off, it resets every open
 * connection at once and refuses new ones (the client sees resets and
 * refusals, and no request reaches the server); switched on, it relays again.
 * It can also slow what clients send, so that a test can act while uploads
 * are in flight.
 *
 * It passes bytes and closes through as they come: a client that dies in the
 * middle of a request leaves the server with a connection cut in the middle
 * of that request, as it would without the relay.
 */
import { createConnection, createServer, type Socket } from "node:net";

/** A running relay. */
export interface TcpRelay {
  /** `http://127.0.0.1:<port>`: give it to the client instead of the server. */
  readonly endpoint: string;
  /** Whether it refuses connections and has closed the open ones. */
  readonly down: boolean;
  /** Closes every connection and refuses new ones (true), or relays again (false). */
  setDown(down: boolean): void;
  /**
   * Most bytes per second relayed from each client to the server; 0 for no
   * limit. Applies to data read after it is set.
   */
  uploadBytesPerSecond: number;
  /** Connections accepted and refused so far. */
  readonly counts: { accepted: number; refused: number };
  /** Stops the relay and closes its connections. */
  close(): Promise<void>;
}

/** Starts a relay on a free loopback port to `upstream` (`http://host:port`). */
export async function startTcpRelay(upstream: string): Promise<TcpRelay> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const counts = { accepted: 0, refused: 0 };
  let down = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // A reset on one side is passed on by destroying the other; its error
    // event needs a listener, or it would be thrown.
    socket.on("error", () => {});
  };
  const server = createServer((client) => {
    if (down) {
      counts.refused++;
      client.resetAndDestroy();
      return;
    }
    counts.accepted++;
    const origin = createConnection({ host: target.hostname, port: Number(target.port) });
    track(client);
    track(origin);
    throttle(client, origin, () => relay.uploadBytesPerSecond);
    origin.pipe(client);
    client.on("close", () => origin.destroy());
    origin.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const relay: TcpRelay = {
    endpoint: `http://127.0.0.1:${port}`,
    get down() {
      return down;
    },
    setDown(value) {
      down = value;
      if (down) { for (const socket of sockets) socket.resetAndDestroy(); }
    },
    uploadBytesPerSecond: 0,
    counts,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return relay;
}

// Relays `from` to `to` as `pipe` does (ends, backpressure), pausing `from`
// whenever it is ahead of the rate `bytesPerSecond()` returns.
function throttle(from: Socket, to: Socket, bytesPerSecond: () => number): void {
  let startedMs = performance.now();
  let sentBytes = 0;
  let paused = 0; // reasons to stay paused: backpressure, the rate
  const pause = () => {
    if (paused++ === 0) from.pause();
  };
  const resume = () => {
    if (--paused === 0) from.resume();
  };
  from.on("data", (data: Uint8Array) => {
    if (!to.write(data)) {
      pause();
      to.once("drain", resume);
    }
    const rate = bytesPerSecond();
    if (rate <= 0) {
      startedMs = performance.now();
      sentBytes = 0;
      return;
    }
    sentBytes += data.length;
    const aheadMs = (sentBytes / rate) * 1000 - (performance.now() - startedMs);
    if (aheadMs > 0) {
      pause();
      setTimeout(resume, aheadMs);
    }
  });
  from.on("end", () => to.end());
}
