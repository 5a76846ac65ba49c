/**
 * Several addresses through the SDK built for Node, run by `node` against two
 * real runtimes (see ../node_test.ts): four workers registered take the
 * replicas in turn; then, once the test has killed the first replica with
 * SIGKILL (it writes `go`), heartbeats whose turn is the dead one's move on to
 * the other at once, with one round allowed and no retry.
 *
 * Usage: node replicas.js <address>...; prints `ready` after registering,
 * then one JSON line of results.
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { Runtime } from "@pulsecheckpoint/sdk";

const addresses = process.argv.slice(2);
await using rt = new Runtime(addresses, { retry: { maxAttempts: 1 } });
for (let index = 0; index < 4; index++) await rt.registerWorker(`worker-${index}`);
console.log("ready");
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next(); // "go": the first replica is dead
let beats = 0;
for (let index = 0; index < 4; index++) {
  // worker-1 and worker-3 went to the second replica, the one alive.
  const { heartbeatIntervalMs } = await rt.heartbeat(index % 2 === 0 ? "worker-1" : "worker-3");
  if (heartbeatIntervalMs > 0) beats++;
}
console.log(JSON.stringify({ addresses: rt.addresses, beats }));
process.stdin.destroy();
