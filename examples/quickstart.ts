/**
 * Quickstart: the product description's Python example, in TypeScript.
 *
 * Registers a worker and a dataset, saves a checkpoint, sends a heartbeat and
 * leaves gracefully. The address is the first argument, else `PULSE_ADDR`,
 * else `grpc://localhost:50051`.
 *
 * ```sh
 * deno run --no-prompt --allow-net \
 *   --allow-env=PULSE_ADDR,GRPC_*,grpc_proxy,https_proxy,http_proxy,no_grpc_proxy,no_proxy \
 *   examples/quickstart.ts grpc://localhost:50051
 * node quickstart.js grpc://localhost:50051   # with the SDK from npm (JSR's npm layer)
 * ```
 *
 * @module
 */
import process from "node:process";
import { Runtime } from "@pulsecheckpoint/sdk";

const address = process.argv[2] ?? process.env.PULSE_ADDR ??
  "grpc://localhost:50051";

// Connect to the runtime (closed when this scope ends).
await using rt = new Runtime(address);

// Register a worker.
await rt.registerWorker("worker-1", {
  metadata: { gpu: "A100", memory: "80GB" },
});

// Register a dataset.
await rt.registerDataset("training-data", { path: "s3://bucket/data" });

// Save a checkpoint (streamed to the runtime, durable when this returns).
const checkpoint = await rt.saveCheckpoint({
  workerId: "worker-1",
  data: new TextEncoder().encode("model-state-bytes"),
  metadata: { epoch: 10, loss: 0.001 },
});
console.log(
  `Saved checkpoint ${checkpoint.checkpointId} (${checkpoint.sizeBytes} bytes, sha256 ${checkpoint.sha256})`,
);

// Send a heartbeat.
await rt.heartbeat("worker-1");

// Graceful shutdown.
await rt.deregisterWorker("worker-1");
console.log("Worker worker-1 deregistered");
