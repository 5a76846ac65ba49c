/**
 * A training loop that survives being killed: it saves its state every N
 * steps and, when started again, resumes from the latest checkpoint.
 *
 * The "model" is a vector of weights updated by a deterministic rule, so a run
 * that was killed and resumed ends with exactly the weights of a run that
 * never stopped. Heartbeats go out by themselves while it trains.
 *
 * ```sh
 * deno run --no-prompt --allow-net \
 *   --allow-env=PULSE_ADDR,GRPC_*,grpc_proxy,https_proxy,http_proxy,no_grpc_proxy,no_proxy \
 *   examples/training_loop.ts \
 *   --worker trainer-0 --steps 200 --save-every 10 --step-ms 50
 * ```
 *
 * Options: `--address` (else `PULSE_ADDR`, else `grpc://localhost:50051`),
 * `--worker` (default `trainer-0`), `--steps` (default 200), `--save-every`
 * (default 10), `--step-ms` (time a step takes, default 50).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";

/** Weights of the toy model: 256 KiB of state. */
const PARAMETERS = 65_536;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    address: { type: "string" },
    worker: { type: "string", default: "trainer-0" },
    steps: { type: "string", default: "200" },
    "save-every": { type: "string", default: "10" },
    "step-ms": { type: "string", default: "50" },
  },
});
const address = values.address ?? process.env.PULSE_ADDR ??
  "grpc://localhost:50051";
const workerId = values.worker;
const steps = positiveInteger("steps", values.steps);
const saveEvery = positiveInteger("save-every", values["save-every"]);
const stepMs = Number(values["step-ms"]);

await using rt = new Runtime(address);
await rt.registerWorker(workerId, {
  metadata: { example: "training_loop", steps },
  heartbeat: { onError: (error) => console.warn(`heartbeat: ${error.message}`) },
});

let { step, weights } = await resume(rt, workerId);
while (step < steps) {
  step++;
  train(weights, step);
  await new Promise((resolve) => setTimeout(resolve, stepMs));
  if (step % saveEvery === 0 || step === steps) {
    const checkpoint = await rt.saveCheckpoint({
      workerId,
      data: new Uint8Array(weights.buffer),
      metadata: { step, loss: loss(step) },
    });
    console.log(`saved checkpoint ${checkpoint.checkpointId} at step ${step}`);
  }
}
console.log(`finished at step ${step}`);
await rt.deregisterWorker(workerId);

/** The state of the latest checkpoint, or a fresh one if there is none. */
async function resume(
  rt: Runtime,
  workerId: string,
): Promise<{ step: number; weights: Float32Array }> {
  try {
    const { checkpoint, data } = await rt.loadCheckpoint(workerId);
    const step = Number(checkpoint.metadata.step);
    console.log(
      `resumed from step ${step} (checkpoint ${checkpoint.checkpointId})`,
    );
    // A copy, so that the weights own an aligned buffer of their own.
    return { step, weights: new Float32Array(data.slice().buffer) };
  } catch (error) {
    if (!(error instanceof PulseError && error.code === "NOT_FOUND")) {
      throw error;
    }
    console.log("no checkpoint yet: starting from step 0");
    return { step: 0, weights: new Float32Array(PARAMETERS) };
  }
}

/** One deterministic training step: the same weights for the same steps. */
function train(weights: Float32Array, step: number): void {
  for (let i = 0; i < weights.length; i++) {
    weights[i] = weights[i]! * 0.99 + Math.sin(step * 0.01 + i) * 0.01;
  }
}

function loss(step: number): number {
  return Math.exp(-step / 100);
}

function positiveInteger(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    console.error(`--${name} must be a positive integer, not "${value}"`);
    process.exit(2);
  }
  return number;
}
