/** Helpers of the SDK tests: a runtime with a worker, the runtime's call counts, and waiting. */
import type { Runtime } from "@pulsecheckpoint/sdk";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";

/** Starts a runtime, registers worker `w1` through a client, runs `body`, and stops both. */
export async function withWorker(
  body: (rt: Runtime, runtime: RuntimeProcess) => Promise<void>,
): Promise<void> {
  const runtime = await startRuntime();
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    await body(rt, runtime);
  } finally {
    rt.close();
    await runtime.stop();
  }
}

/** Calls of `method` the runtime counted, all status codes together. */
export async function grpcRequests(
  runtime: RuntimeProcess,
  method: string,
): Promise<number> {
  const text = await (await fetch(`${runtime.metricsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("pulse_grpc_requests_total{")) continue;
    if (!line.includes(`method="${method}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
