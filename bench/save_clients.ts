/**
 * Concurrent saves from a process of its own: `workers` SDK clients (one
 * `Runtime` each) register a worker each, print `ready`, wait for a line on
 * standard input, then all save `bytes` bytes at once. Every worker's bytes
 * are its own (no chunk is shared between workers).
 *
 * It runs on Node, built by tests/sdk/_node_build.ts: Deno 2.8.3's node:http2
 * completes stream writes before they are sent (fixed in Deno 2.9 by
 * denoland/deno pull request 36044), so a Deno client saving from a source
 * faster than the runtime buffers the difference, gigabytes here; on Node a
 * save pulls its source only as fast as the runtime takes it.
 *
 * Run: `node save_clients.js ADDR WORKERS BYTES FIRST_SEED`; prints `ready`,
 * then one JSON line: the milliseconds of each save, and errors.
 */
import { once } from "node:events";
import process from "node:process";
import { Runtime } from "@pulsecheckpoint/sdk";
import { pieces } from "./_support.ts";

const [address, workersText, bytesText, seedText] = process.argv.slice(2);
const WORKERS = Number(workersText);
const BYTES = Number(bytesText);
const FIRST_SEED = Number(seedText);

const workers = Array.from({ length: WORKERS }, (_, index) => ({
  id: `save-${FIRST_SEED + index}`,
  seed: FIRST_SEED + index,
  runtime: new Runtime(`grpc://${address}`),
}));
for (const worker of workers) await worker.runtime.registerWorker(worker.id);
console.log("ready");
await once(process.stdin, "data");
process.stdin.destroy();

const errors: string[] = [];
const saveMs = await Promise.all(workers.map(async (worker) => {
  const started = performance.now();
  try {
    const saved = await worker.runtime.saveCheckpoint({
      workerId: worker.id,
      data: pieces(BYTES, { seed: worker.seed }),
    });
    if (saved.sizeBytes !== BYTES) errors.push(`${worker.id}: saved ${saved.sizeBytes} bytes`);
  } catch (error) {
    errors.push(`${worker.id}: ${(error as Error).message}`);
  }
  return performance.now() - started;
}));
for (const worker of workers) worker.runtime.close();
console.log(JSON.stringify({ saveMs, errors }));
