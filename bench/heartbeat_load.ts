/**
 * A heartbeat load generator: `clients` gRPC channels of their own (one TCP
 * connection each, as separate worker processes would have), each a worker
 * that sends `Heartbeat` calls for `seconds`.
 *
 * - rate 0: closed loop, each client sends its next heartbeat when the last
 *   one is answered; measures the highest sustained rate.
 * - rate R: open loop, R heartbeats per second in all, each sent at its
 *   scheduled time whether or not earlier ones were answered; latency counts
 *   from the scheduled time, so a stalled server shows as latency (no
 *   coordinated omission).
 *
 * Run: `deno run -A bench/heartbeat_load.ts ADDR CLIENTS SECONDS RATE`; prints
 * one JSON line: requests, errors, rps, p50Ms, p99Ms, maxMs.
 */
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import { percentile } from "./_support.ts";

const [address, clientsText = "64", secondsText = "10", rateText = "0"] = Deno.args;
const CLIENTS = Number(clientsText);
const SECONDS = Number(secondsText);
const RATE = Number(rateText);

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
interface PulseClient extends grpc.Client {
  Heartbeat(request: { worker_id: string }, callback: Callback): void;
  RegisterWorker(request: { worker_id: string }, callback: Callback): void;
}
const Client = grpc.makeGenericClientConstructor(
  loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition,
  SERVICE_NAME,
);

function call(client: PulseClient, method: "Heartbeat" | "RegisterWorker", workerId: string) {
  return new Promise<void>((resolve, reject) =>
    client[method]({ worker_id: workerId }, (error) => error ? reject(error) : resolve())
  );
}

const clients = Array.from(
  { length: CLIENTS },
  () =>
    new Client(address!, grpc.credentials.createInsecure(), {
      // A connection of its own per client, as separate worker processes have;
      // grpc-js otherwise shares one among channels with the same options.
      "grpc.use_local_subchannel_pool": 1,
    }) as unknown as PulseClient,
);
const workerId = (index: number) => `hb-${index}`;
// Registered and warmed up (connected) before the clock starts.
await Promise.all(clients.map((client, index) => call(client, "RegisterWorker", workerId(index))));
await Promise.all(clients.map((client, index) => call(client, "Heartbeat", workerId(index))));

const latencies: number[] = [];
let errors = 0;
let firstError = "";
const started = performance.now();
const deadline = started + SECONDS * 1000;

async function closedLoop(client: PulseClient, index: number) {
  while (performance.now() < deadline) {
    const sent = performance.now();
    try {
      await call(client, "Heartbeat", workerId(index));
      latencies.push(performance.now() - sent);
    } catch (error) {
      errors++;
      firstError ||= (error as Error).message;
    }
  }
}

async function openLoop(client: PulseClient, index: number) {
  const intervalMs = (CLIENTS / RATE) * 1000;
  const inFlight: Promise<void>[] = [];
  for (let due = started + Math.random() * intervalMs; due < deadline; due += intervalMs) {
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const scheduled = due;
    inFlight.push(
      call(client, "Heartbeat", workerId(index)).then(
        () => void latencies.push(performance.now() - scheduled),
        (error) => {
          errors++;
          firstError ||= (error as Error).message;
        },
      ),
    );
  }
  await Promise.all(inFlight);
}

await Promise.all(
  clients.map((client, index) => (RATE > 0 ? openLoop : closedLoop)(client, index)),
);
const seconds = (performance.now() - started) / 1000;
for (const client of clients) client.close();
latencies.sort((a, b) => a - b);
console.log(JSON.stringify({
  clients: CLIENTS,
  targetRps: RATE,
  requests: latencies.length,
  errors,
  firstError,
  rps: latencies.length / seconds,
  p50Ms: percentile(latencies, 50),
  p99Ms: percentile(latencies, 99),
  maxMs: latencies.at(-1) ?? NaN,
}));
