/**
 * A standard gRPC client, grpcurl, drives the seed flow through server
 * reflection alone: no .proto file on the client side. `.ci/run` installs
 * grpcurl from the Go module proxy; without it the test is ignored.
 */
import assert from "node:assert/strict";
import { startRuntime } from "../support/runtime.ts";

const GRPCURL = Deno.env.get("GRPCURL") ?? `${Deno.env.get("HOME")}/go/bin/grpcurl`;
const installed = await Deno.stat(GRPCURL).then(() => true, () => false);

async function grpcurl(address: string, method: string, body: string): Promise<unknown[]> {
  const process = new Deno.Command(GRPCURL, {
    args: ["-plaintext", "-d", "@", address, method],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = process.stdin.getWriter();
  await writer.write(new TextEncoder().encode(body));
  await writer.close();
  const { code, stdout, stderr } = await process.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  // grpcurl prints one JSON object per response message, pretty-printed.
  const text = new TextDecoder().decode(stdout).trim();
  return text === "" ? [] : text.split(/\n(?=\{)/).map((part) => JSON.parse(part));
}

Deno.test({
  name: "grpcurl runs the seed flow through reflection, with no .proto file",
  ignore: !installed,
  async fn() {
    const runtime = await startRuntime();
    const at = runtime.grpcAddress;
    try {
      const [registered] = await grpcurl(
        at,
        "pulse.v1.PulseRuntime/RegisterWorker",
        '{"worker_id":"worker-1","metadata":{"gpu":"A100"}}',
      ) as {
        worker: { state: string; metadata: unknown };
      }[];
      assert.equal(registered!.worker.state, "WORKER_STATE_ACTIVE");
      assert.deepEqual(registered!.worker.metadata, { gpu: "A100" });
      await grpcurl(
        at,
        "pulse.v1.PulseRuntime/RegisterDataset",
        '{"name":"training-data","path":"s3://bucket/data"}',
      );
      const data = btoa("model-state-bytes");
      const [saved] = await grpcurl(
        at,
        "pulse.v1.PulseRuntime/SaveCheckpoint",
        `{"header":{"worker_id":"worker-1","metadata":{"epoch":10,"loss":0.001}}}\n{"data":"${data}"}`,
      ) as { checkpoint: { checkpoint_id: string; size_bytes: string } }[];
      assert.equal(saved!.checkpoint.size_bytes, "17");
      await grpcurl(at, "pulse.v1.PulseRuntime/Heartbeat", '{"worker_id":"worker-1"}');
      const loaded = await grpcurl(
        at,
        "pulse.v1.PulseRuntime/LoadCheckpoint",
        '{"worker_id":"worker-1"}',
      ) as {
        checkpoint?: { checkpoint_id: string };
        data?: string;
      }[];
      assert.equal(loaded[0]!.checkpoint!.checkpoint_id, saved!.checkpoint.checkpoint_id);
      assert.equal(loaded[1]!.data, data);
      await grpcurl(at, "pulse.v1.PulseRuntime/DeregisterWorker", '{"worker_id":"worker-1"}');
      const [health] = await grpcurl(at, "grpc.health.v1.Health/Check", "{}") as {
        status: string;
      }[];
      assert.equal(health!.status, "SERVING");
    } finally {
      await runtime.stop();
    }
  },
});
