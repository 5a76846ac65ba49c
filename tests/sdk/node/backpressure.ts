/**
 * Measures how far a streamed save reads ahead of what the connection takes:
 * registers a worker, prints "ready", waits for a line on stdin (the test
 * then stalls the connection), saves from an endless pull-based stream for a
 * second, and prints how many MiB it pulled. Then closes.
 *
 * Usage: node backpressure.js <address>. Run by ../node_test.ts.
 */
import { once } from "node:events";
import process from "node:process";
import { Runtime } from "@pulsecheckpoint/sdk";

const MIB = 1024 * 1024;
const rt = new Runtime(process.argv[2]!, { retry: false });
await rt.registerWorker("pressure");
console.log("ready");
await once(process.stdin, "data");

let pulled = 0;
const piece = new Uint8Array(MIB);
const endless = new ReadableStream<Uint8Array>({
  pull(controller) {
    pulled += piece.length;
    controller.enqueue(piece.slice());
  },
}, { highWaterMark: 0 });
const save = rt.saveCheckpoint({ workerId: "pressure", data: endless });
save.catch(() => {}); // cancelled by close() below
await new Promise((resolve) => setTimeout(resolve, 1000));
console.log(JSON.stringify({ pulledMiB: pulled / MIB }));
rt.close();
process.stdin.destroy();
