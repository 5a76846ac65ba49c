/**
 * A save the client cancels, or abandons by closing its channel, must never
 * become a checkpoint, however much of its data arrived. Under Deno 2.8.3 a
 * grpc-js client's cancel can reach the runtime as an ordinary end of stream,
 * so clients that can be cancelled mid-save (the SDKs) promise a trailer in
 * the header, as these do, and a stream cut before it commits nothing.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { toStruct } from "@pulsecheckpoint/proto";
import { randomBytes } from "../support/bytes.ts";
import { rawClient } from "../support/raw_client.ts";
import { startRuntime } from "../support/runtime.ts";

const MIB = 1024 * 1024;
const ROUNDS = 24;

Deno.test("cancelled or abandoned saves never become checkpoints", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  await rt.registerWorker("w1");
  const piece = randomBytes(MIB);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const client = rawClient(runtime.grpcAddress);
      const answered = new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.SaveCheckpoint((error: grpc.ServiceError | null) => resolve(error));
        call.on("error", () => {});
        call.write({
          header: {
            worker_id: "w1",
            metadata: toStruct({}),
            idempotency_key: "",
            expect_trailer: true,
          },
        });
        // 0 to 11 MiB: before, at and after the first chunk boundary.
        for (let i = 0; i < round % 12; i++) call.write({ data: piece });
        setTimeout(() => {
          call.cancel();
          if (round % 2 === 1) client.close();
        }, 20 + (round % 5) * 40);
      });
      assert.equal((await answered)?.code, grpc.status.CANCELLED);
      client.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual((await rt.listCheckpoints("w1")).items, []);
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: piece }); // still serving
    assert.deepEqual((await rt.listCheckpoints("w1")).items.map((c) => c.checkpointId), [
      saved.checkpointId,
    ]);
  } finally {
    rt.close();
    await runtime.stop();
  }
});
