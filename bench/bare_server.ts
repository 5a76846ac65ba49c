/**
 * The transport ceiling: a grpc-js server of `pulse.v1.PulseRuntime` in a Deno
 * process of its own that does no work. It answers heartbeats and worker
 * registrations at once, discards what saves send, and serves loads of one
 * checkpoint held in memory, in the runtime's 1 MiB messages with the
 * runtime's wait for "drain". What the runtime reaches over what this reaches
 * is the share of the transport's speed that the runtime keeps.
 *
 * Run: `deno run -A bench/bare_server.ts [LOAD_BYTES]`; prints its address
 * (`127.0.0.1:PORT`), then serves until killed.
 */
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import { MIB, pieces } from "./_support.ts";

const LOAD_BYTES = Number(Deno.args[0] ?? 0);
// As the runtime (src/limits.ts): 16 MiB messages at most, 1 MiB load messages.
const MESSAGE_BYTES_MAX = 16 * MIB;
const LOAD_MESSAGE_BYTES = MIB;

const loadData: Uint8Array[] = [...pieces(LOAD_BYTES, { seed: 424242 })];
const whole = createHash("sha256");
for (const piece of loadData) whole.update(piece);
const now = () => ({ seconds: Math.floor(Date.now() / 1000), nanos: 0 });
const checkpoint = (size: number, sha256: string) => ({
  checkpoint_id: "chk_01JBARESERVER0000000000000",
  worker_id: "bare",
  size_bytes: size,
  sha256,
  metadata: { fields: {} },
  created_at: now(),
  idempotency_key: "",
});
const loadCheckpoint = checkpoint(LOAD_BYTES, whole.digest("hex"));

const server = new grpc.Server({
  "grpc.max_receive_message_length": MESSAGE_BYTES_MAX,
  "grpc.max_send_message_length": MESSAGE_BYTES_MAX,
});
server.addService(loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition, {
  RegisterWorker: (
    call: grpc.ServerUnaryCall<{ worker_id: string }, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    callback(null, { worker: { worker_id: call.request.worker_id, state: "WORKER_STATE_ACTIVE" } });
  },
  Heartbeat: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
    callback(null, { server_time: now(), heartbeat_interval_ms: 10_000 });
  },
  SaveCheckpoint: (
    call: grpc.ServerReadableStream<{ data?: Uint8Array }, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    let size = 0;
    call.on("data", (message: { data?: Uint8Array }) => size += message.data?.length ?? 0);
    call.on("end", () => callback(null, { checkpoint: checkpoint(size, "") }));
    call.on("error", () => {});
  },
  LoadCheckpoint: async (call: grpc.ServerWritableStream<unknown, unknown>) => {
    const drained = () => new Promise((resolve) => call.once("drain", resolve));
    if (!call.write({ checkpoint: loadCheckpoint })) await drained();
    for (const piece of loadData) {
      for (let offset = 0; offset < piece.length; offset += LOAD_MESSAGE_BYTES) {
        if (call.cancelled) return;
        if (!call.write({ data: piece.subarray(offset, offset + LOAD_MESSAGE_BYTES) })) {
          await drained();
        }
      }
    }
    call.end();
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(`127.0.0.1:${port}`);
});
