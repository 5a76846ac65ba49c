/**
 * No client can exhaust or stall the runtime for the others: a message
 * larger than the request limit is refused before it is buffered, calls that
 * never send their first message are ended, calls beyond the runtime's limit
 * are refused as busy, a save that goes silent is aborted and frees what it
 * held, and one caller holds at most its share of the saves in progress.
 * Each case runs against a real runtime with its limits set low.
 */
import assert from "node:assert/strict";
import type * as grpc from "@grpc/grpc-js";
import { toStruct } from "@pulsecheckpoint/proto";
import { LOAD_WINDOW_BYTES, REQUEST_BYTES_MAX } from "@pulsecheckpoint/proto/protocol";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { type RawClient, rawClient, rawSave, rawSaveError } from "../support/raw_client.ts";
import { startRuntime } from "../support/runtime.ts";

function header(workerId: string) {
  return {
    header: { worker_id: workerId, metadata: toStruct({}), expect_trailer: true },
  };
}

/** A save that sends its header and one byte, then nothing, until it is ended. */
function stalledSave(client: RawClient, workerId: string): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = client.SaveCheckpoint((error: grpc.ServiceError | null) => resolve(error));
    call.write(header(workerId));
    call.write({ data: new Uint8Array([1]) });
  });
}

/** A call that opens and sends nothing at all. */
function silentSave(client: RawClient): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    client.SaveCheckpoint((error: grpc.ServiceError | null) => resolve(error));
  });
}

Deno.test("a message larger than the request limit is RESOURCE_EXHAUSTED, before the runtime buffers it", async () => {
  const runtime = await startRuntime();
  const client = rawClient(runtime.grpcAddress, { "grpc.max_send_message_length": -1 });
  const rt = new Runtime(`grpc://${runtime.grpcAddress}`);
  try {
    await rt.registerWorker("w1");
    const error = await rawSaveError(client, [
      header("w1"),
      { data: new Uint8Array(REQUEST_BYTES_MAX + 1) },
    ]);
    assert.equal(error.code, 8); // RESOURCE_EXHAUSTED
    assert.match(error.details, /larger than max/);
  } finally {
    rt.close();
    client.close();
    await runtime.stop();
  }
});

Deno.test("calls that send no first message end after server.request_timeout_ms; beyond server.calls_max the runtime is UNAVAILABLE", async () => {
  const runtime = await startRuntime({
    env: { PULSE_CALLS_MAX: "3", PULSE_REQUEST_TIMEOUT_MS: "1000" },
  });
  const hog = rawClient(runtime.grpcAddress);
  const rt = new Runtime(`grpc://${runtime.grpcAddress}`, { retry: false });
  try {
    const silent = [silentSave(hog), silentSave(hog), silentSave(hog)];
    await new Promise((resolve) => setTimeout(resolve, 200));
    await assert.rejects(rt.heartbeat("w1"), (error) => {
      assert.ok(error instanceof PulseError);
      assert.equal(error.code, "UNAVAILABLE");
      assert.match(error.message, /3 calls are in flight, limit is 3 \(server\.calls_max\)/);
      return true;
    });
    for (const error of await Promise.all(silent)) {
      assert.equal(error?.code, 10); // ABORTED
      assert.match(error!.details, /first message did not arrive within 1000 ms/);
    }
    // Served again: the worker is simply unknown.
    await assert.rejects(rt.heartbeat("w1"), (error) => (error as PulseError).code === "NOT_FOUND");
  } finally {
    hog.close();
    rt.close();
    await runtime.stop();
  }
});

Deno.test("a silent save is ABORTED after server.save_idle_timeout_ms and frees its slot; one connection holds at most limits.saves_per_token_max saves", async () => {
  const runtime = await startRuntime({
    env: {
      PULSE_SAVE_IDLE_TIMEOUT_MS: "1500",
      PULSE_SAVES_PER_TOKEN_MAX: "2",
      PULSE_SAVES_MAX: "3",
    },
  });
  const hog = rawClient(runtime.grpcAddress);
  const rt = new Runtime(`grpc://${runtime.grpcAddress}`, { retry: false });
  try {
    for (const id of ["w1", "w2", "w3", "w4"]) await rt.registerWorker(id);
    const stalled = [stalledSave(hog, "w1"), stalledSave(hog, "w2")];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const third = await rawSaveError(hog, [header("w3"), { data: new Uint8Array([2]) }]);
    assert.equal(third.code, 8); // RESOURCE_EXHAUSTED
    assert.match(
      third.details,
      /connection \S+ has 2 saves in progress, limit is 2 \(limits\.saves_per_token_max\)/,
    );
    // Another client still has the runtime's last slot.
    const saved = await rt.saveCheckpoint({ workerId: "w4", data: new Uint8Array([4]) });
    assert.equal(saved.sizeBytes, 1);
    for (const error of await Promise.all(stalled)) {
      assert.equal(error?.code, 10); // ABORTED
      assert.match(error!.details, /no message for 1500 ms after 1 bytes/);
    }
    // What the silent saves held is free again: the hog saves as much as it may.
    const again = await Promise.all([
      rawSave(hog, [header("w1"), { data: new Uint8Array([1]) }, { trailer: { size_bytes: 1 } }]),
      rawSave(hog, [header("w2"), { data: new Uint8Array([2]) }, { trailer: { size_bytes: 1 } }]),
    ]);
    assert.deepEqual(again.map((response) => response.checkpoint.size_bytes), [1, 1]);
  } finally {
    hog.close();
    rt.close();
    await runtime.stop();
  }
});

Deno.test("one LoadCheckpoint call may ask for server.load_call_bytes_max at most: a reader that stops reading holds no more than that", async () => {
  const runtime = await startRuntime({
    env: { PULSE_LOAD_CALL_BYTES_MAX: String(LOAD_WINDOW_BYTES) },
  });
  const rt = new Runtime(`grpc://${runtime.grpcAddress}`);
  const client = rawClient(runtime.grpcAddress);
  try {
    await rt.registerWorker("w1");
    const data = new Uint8Array(LOAD_WINDOW_BYTES + 1).fill(7);
    const saved = await rt.saveCheckpoint({ workerId: "w1", data });
    const whole = new Promise<grpc.ServiceError>((resolve, reject) => {
      const call = client.LoadCheckpoint({ worker_id: "w1" });
      call.on("data", () => reject(new Error("a whole-checkpoint call was served")));
      call.on("error", resolve);
    });
    const error = await whole;
    assert.equal(error.code, 8); // RESOURCE_EXHAUSTED
    assert.match(
      error.details,
      new RegExp(
        `${
          LOAD_WINDOW_BYTES + 1
        } bytes in one call, limit is ${LOAD_WINDOW_BYTES} \\(server\\.load_call_bytes_max\\); ask for windows`,
      ),
    );
    // The SDKs load in windows, and get every byte.
    const loaded = await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
    assert.deepEqual(loaded.data, data);
  } finally {
    client.close();
    rt.close();
    await runtime.stop();
  }
});
