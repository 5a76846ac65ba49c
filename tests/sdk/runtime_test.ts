/**
 * The client's life cycle and its checks before a call: close() and
 * `await using` end it (later calls and calls in flight reject with
 * CANCELLED), bad metadata fails before anything is sent, and every save
 * carries an idempotency key — the caller's, or a fresh UUID. Listings as
 * async iterables over every page are here too.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { loadPulsePackage, SERVICE_NAME } from "@pulsecheckpoint/proto";
import { randomBytes } from "../support/bytes.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { grpcRequests, withWorker } from "./_helpers.ts";

const MIB = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function withRuntime(
  body: (runtime: RuntimeProcess) => Promise<void>,
): Promise<void> {
  const runtime = await startRuntime();
  try {
    await body(runtime);
  } finally {
    await runtime.stop();
  }
}

function isCancelled(action: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PulseError, String(error));
    assert.equal(error.code, "CANCELLED");
    assert.equal(
      error.message,
      `Cannot ${action}: the Runtime client is closed`,
    );
    return true;
  };
}

Deno.test("after close(), every call rejects with CANCELLED and closing again is a no-op", async () => {
  await withRuntime(async (runtime) => {
    const rt = runtime.client();
    await rt.registerWorker("w1");
    rt.close();
    rt.close();
    await assert.rejects(rt.getWorker("w1"), isCancelled("get worker"));
    await assert.rejects(
      rt.saveCheckpoint({ workerId: "w1", data: new Uint8Array(1) }),
      isCancelled("save checkpoint"),
    );
    await assert.rejects(rt.loadCheckpoint("w1"), isCancelled("load checkpoint"));
    await assert.rejects(
      rt.startHeartbeats("w1"),
      isCancelled("start heartbeats"),
    );
    await assert.rejects(
      rt.checkpoints("w1").next(),
      isCancelled("list checkpoints"),
    );
  });
});

Deno.test("close() cancels a save and a load in flight", async () => {
  await withRuntime(async (runtime) => {
    const setup = runtime.client();
    await setup.registerWorker("w1");
    await setup.saveCheckpoint({ workerId: "w1", data: randomBytes(32 * MIB) });
    setup.close();

    const rt = runtime.client();
    const { stream } = await rt.loadCheckpointStream("w1");
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(randomBytes(MIB)),
    });
    const save = rt.saveCheckpoint({ workerId: "w1", data: endless });
    save.catch(() => {}); // awaited below
    await new Promise((resolve) => setTimeout(resolve, 100));
    rt.close();
    const cancelled = (error: unknown) => error instanceof PulseError && error.code === "CANCELLED";
    await assert.rejects(save, cancelled);
    await assert.rejects(
      (async () => {
        while (!(await iterator.next()).done) { /* drain */ }
      })(),
      cancelled,
    );
    const check = runtime.client();
    try {
      assert.equal((await check.listCheckpoints("w1")).items.length, 1);
    } finally {
      check.close();
    }
  });
});

Deno.test("await using closes the client at the end of its block", async () => {
  await withRuntime(async (runtime) => {
    let escaped: Runtime;
    {
      await using rt = runtime.client();
      escaped = rt;
      await rt.registerWorker("w1");
    }
    await assert.rejects(escaped.heartbeat("w1"), isCancelled("send heartbeat"));
  });
});

Deno.test("metadata that is not JSON fails with INVALID_ARGUMENT before anything is sent", async () => {
  await withRuntime(async (runtime) => {
    const rt = runtime.client();
    try {
      const bad = { loss: Number.NaN };
      await assert.rejects(
        rt.registerWorker("w1", { metadata: bad }),
        (error) =>
          error instanceof PulseError && error.code === "INVALID_ARGUMENT" &&
          error.message === "Cannot register worker: metadata number NaN is not finite",
      );
      await assert.rejects(
        rt.saveCheckpoint({ workerId: "w1", data: new Uint8Array(1), metadata: bad }),
        (error) => error instanceof PulseError && error.code === "INVALID_ARGUMENT",
      );
      assert.equal(await grpcRequests(runtime, "RegisterWorker"), 0);
      assert.equal(await grpcRequests(runtime, "SaveCheckpoint"), 0);
    } finally {
      rt.close();
    }
  });
});

Deno.test("every save carries an idempotency key: the caller's, or a fresh UUID per save", async () => {
  await withRuntime(async (runtime) => {
    const rt = runtime.client();
    try {
      await rt.registerWorker("w1");
      const a = await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(5) });
      const b = await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(5) });
      assert.match(a.idempotencyKey, UUID);
      assert.match(b.idempotencyKey, UUID);
      assert.notEqual(a.idempotencyKey, b.idempotencyKey);
      const c = await rt.saveCheckpoint({
        workerId: "w1",
        data: randomBytes(5),
        idempotencyKey: "step-7",
      });
      assert.equal(c.idempotencyKey, "step-7");
      assert.equal((await rt.listCheckpoints("w1")).items.length, 3);
    } finally {
      rt.close();
    }
  });
});

Deno.test("getCheckpoint() with an empty id fails with INVALID_ARGUMENT; without one, and latestCheckpoint(), it gives the newest", async () => {
  await withRuntime(async (runtime) => {
    const rt = runtime.client();
    try {
      await rt.registerWorker("w1");
      await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(3) });
      const newest = await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(3) });
      await assert.rejects(
        rt.getCheckpoint("w1", ""),
        (error) => error instanceof PulseError && error.code === "INVALID_ARGUMENT",
      );
      assert.deepEqual(await rt.latestCheckpoint("w1"), newest);
      assert.deepEqual(await rt.getCheckpoint("w1"), newest);
      assert.deepEqual(await rt.getCheckpoint("w1", newest.checkpointId), newest);
    } finally {
      rt.close();
    }
  });
});

// A server that answers a save without the checkpoint: a fault the runtime
// never produces, so this test stands a bare grpc-js server in for it.
Deno.test("a save answered without its checkpoint rejects with INTERNAL instead of throwing out of grpc-js", async () => {
  const server = new grpc.Server();
  server.addService(loadPulsePackage()[SERVICE_NAME] as grpc.ServiceDefinition, {
    SaveCheckpoint: (
      call: grpc.ServerReadableStream<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      call.on("data", () => {});
      call.on("end", () => callback(null, {}));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => error ? reject(error) : resolve(bound),
    )
  );
  const rt = new Runtime(`grpc://127.0.0.1:${port}`);
  try {
    await assert.rejects(
      rt.saveCheckpoint({ workerId: "w1", data: new Uint8Array(10) }),
      (error) =>
        error instanceof PulseError && error.code === "INTERNAL" &&
        error.message === "Cannot save checkpoint: the runtime answered without the checkpoint",
    );
  } finally {
    rt.close();
    server.forceShutdown();
  }
});

Deno.test("checkpoints(), workers() and datasets() iterate every page, and stop fetching on break", async () => {
  await withWorker(async (rt, runtime) => {
    const ids: string[] = [];
    for (let step = 0; step < 7; step++) {
      const saved = await rt.saveCheckpoint({
        workerId: "w1",
        data: randomBytes(10),
        metadata: { step },
      });
      ids.push(saved.checkpointId);
    }
    const listed: string[] = [];
    for await (const c of rt.checkpoints("w1", { pageSize: 3 })) {
      listed.push(c.checkpointId);
    }
    assert.deepEqual(listed, [...ids].reverse());
    assert.equal(await grpcRequests(runtime, "ListCheckpoints"), 3);

    for await (const c of rt.checkpoints("w1", { pageSize: 3 })) {
      assert.equal(c.checkpointId, ids[6]);
      break;
    }
    assert.equal(await grpcRequests(runtime, "ListCheckpoints"), 4);

    for (const name of ["w2", "w3", "w4"]) await rt.registerWorker(name);
    for (const name of ["d1", "d2", "d3"]) {
      await rt.registerDataset(name, { path: `s3://bucket/${name}` });
    }
    const workers: string[] = [];
    for await (const w of rt.workers({ pageSize: 2 })) workers.push(w.workerId);
    assert.deepEqual(workers, ["w1", "w2", "w3", "w4"]);
    const datasets: string[] = [];
    for await (const d of rt.datasets({ pageSize: 2 })) datasets.push(d.path);
    assert.deepEqual(datasets, [
      "s3://bucket/d1",
      "s3://bucket/d2",
      "s3://bucket/d3",
    ]);
  });
});
