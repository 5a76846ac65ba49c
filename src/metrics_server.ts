/**
 * The HTTP endpoint beside gRPC: `/metrics` for Prometheus, `/healthz`
 * while the process runs, `/readyz` while it accepts calls.
 */
import { registry } from "./metrics.ts";
import { listenProblem, splitAddress } from "./address.ts";

/** Serves the endpoint on `address`; `isReady` answers `/readyz`. */
export function serveMetrics(
  address: string,
  isReady: () => boolean,
): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port } = splitAddress(address);
  try {
    return Deno.serve({ hostname, port, onListen: () => {} }, handle);
  } catch (error) {
    throw new Error(`Cannot listen on server.metrics_addr ${address}: ${listenProblem(error)}`);
  }

  async function handle(request: Request): Promise<Response> {
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
  }
}
