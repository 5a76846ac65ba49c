/**
 * Retries on UNAVAILABLE: the backoff schedule and the retry loop (with a
 * fake wait, no sleeping), then real failures made by a TCP proxy between the
 * SDK and a real runtime — refused connections, answers lost after the
 * runtime did the work, loads cut halfway.
 */
import assert from "node:assert/strict";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { RETRY_DEFAULTS, retryDelayMs, retryPolicy } from "../../sdk/retry.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { startTcpFaultProxy, type TcpFaultProxy } from "../support/tcp_fault_proxy.ts";
import { grpcRequests, waitFor } from "./_helpers.ts";

const MIB = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("retryDelayMs() doubles from initialDelayMs up to maxDelayMs, jittered between half and all", () => {
  const policy = retryPolicy({
    initialDelayMs: 100,
    maxDelayMs: 1000,
    multiplier: 2,
  });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((retry) => retryDelayMs(retry, policy, 0.999999)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((retry) => retryDelayMs(retry, policy, 0)),
    [50, 100, 200, 400, 500, 500],
  );
});

Deno.test("retryPolicy() fills in the seed's defaults and rejects values out of range", async (t) => {
  assert.deepEqual(retryPolicy(undefined), {
    maxAttempts: 3,
    initialDelayMs: 100,
    maxDelayMs: 5000,
    multiplier: 2,
  });
  assert.deepEqual(retryPolicy(undefined), RETRY_DEFAULTS);
  assert.equal(retryPolicy(false).maxAttempts, 1);
  assert.equal(retryPolicy({ maxAttempts: undefined }).maxAttempts, 3);
  const bad: [string, Parameters<typeof retryPolicy>[0], RegExp][] = [
    ["zero attempts", { maxAttempts: 0 }, /retry\.maxAttempts is 0/],
    ["fractional attempts", { maxAttempts: 1.5 }, /retry\.maxAttempts is 1.5/],
    ["negative delay", { initialDelayMs: -1 }, /retry\.initialDelayMs is -1/],
    [
      "max below initial",
      { initialDelayMs: 500, maxDelayMs: 100 },
      /retry\.maxDelayMs is 100, allowed is a number from 500 to 60000/,
    ],
    ["shrinking delays", { multiplier: 0.5 }, /retry\.multiplier is 0.5/],
  ];
  for (const [name, options, message] of bad) {
    await t.step(name, () => {
      assert.throws(
        () => new Runtime("grpc://127.0.0.1:1", { retry: options }),
        (error) => {
          assert.ok(error instanceof PulseError);
          assert.equal(error.code, "INVALID_ARGUMENT");
          assert.match(error.message, /^Cannot create Runtime: /);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

/** A runtime, a proxy in front of it, and an SDK client through the proxy. */
async function withProxy(
  options: ConstructorParameters<typeof Runtime>[1],
  body: (
    rt: Runtime,
    proxy: TcpFaultProxy,
    runtime: RuntimeProcess,
  ) => Promise<void>,
): Promise<void> {
  const runtime = await startRuntime();
  const proxy = await startTcpFaultProxy(runtime.grpcAddress);
  // The stream path, whose calls these tests cut and count: without
  // directTransfer false, the first save would first ask PlanSave (which the
  // fs store answers FAILED_PRECONDITION), and that answer would be the one cut.
  const rt = new Runtime(`grpc://${proxy.address}`, { directTransfer: false, ...options });
  try {
    await body(rt, proxy, runtime);
  } finally {
    rt.close();
    await proxy.close();
    await runtime.stop();
  }
}

const FAST = { initialDelayMs: 20, maxDelayMs: 200 };

Deno.test("a save whose answer is lost is retried with one idempotency key and makes one checkpoint", async () => {
  await withProxy({ retry: FAST }, async (rt, proxy, runtime) => {
    await rt.registerWorker("w1");
    const bytes = randomBytes(3 * MIB);
    proxy.cutResponses = 1; // the runtime commits, the client never hears
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
    assert.equal(proxy.counts.responsesCut, 1);
    assert.equal(await grpcRequests(runtime, "SaveCheckpoint"), 2);
    assert.equal(saved.sha256, sha256Hex(bytes));
    assert.match(saved.idempotencyKey, UUID);
    const page = await rt.listCheckpoints("w1");
    assert.deepEqual(page.items.map((c) => c.checkpointId), [
      saved.checkpointId,
    ]);
  });
});

Deno.test("a save of streamed data is not retried: UNAVAILABLE reaches the caller", async () => {
  await withProxy({ retry: FAST }, async (rt, proxy, runtime) => {
    await rt.registerWorker("w1");
    proxy.cutResponses = 1;
    const stream = ReadableStream.from([randomBytes(MIB)]);
    await assert.rejects(
      rt.saveCheckpoint({ workerId: "w1", data: stream }),
      (error) => error instanceof PulseError && error.code === "UNAVAILABLE",
    );
    assert.equal(await grpcRequests(runtime, "SaveCheckpoint"), 1);
    // The runtime did commit it: a lost answer is not a failed save.
    assert.equal((await rt.listCheckpoints("w1")).items.length, 1);
  });
});

Deno.test("a file save whose answer is lost is retried, reading the file again", async () => {
  await withProxy({ retry: FAST }, async (rt, proxy, runtime) => {
    await rt.registerWorker("w1");
    const bytes = randomBytes(2 * MIB + 7);
    const path = await Deno.makeTempFile();
    try {
      await Deno.writeFile(path, bytes);
      proxy.cutResponses = 1;
      const saved = await rt.saveCheckpointFile(path, { workerId: "w1" });
      assert.equal(await grpcRequests(runtime, "SaveCheckpoint"), 2);
      assert.equal(saved.sha256, sha256Hex(bytes));
      assert.equal((await rt.listCheckpoints("w1")).items.length, 1);
    } finally {
      await Deno.remove(path);
    }
  });
});

Deno.test("unary calls ride out refused connections", async () => {
  await withProxy(
    { retry: { ...FAST, maxAttempts: 5 } },
    async (rt, proxy) => {
      proxy.refuseConnections = 2;
      const worker = await rt.registerWorker("w1");
      assert.equal(worker.state, "ACTIVE");
      assert.equal(proxy.counts.refused, 2);
    },
  );
});

Deno.test("a unary call whose answer is lost is retried", async () => {
  await withProxy({ retry: FAST }, async (rt, proxy, runtime) => {
    proxy.cutResponses = 1;
    await rt.registerWorker("w1", { metadata: { rank: 3 } });
    assert.equal(await grpcRequests(runtime, "RegisterWorker"), 2);
    assert.deepEqual((await rt.getWorker("w1")).metadata, { rank: 3 });
  });
});

Deno.test("a delete whose answer is lost succeeds when its retry finds the checkpoint gone", async () => {
  await withProxy({ retry: FAST }, async (rt, proxy, runtime) => {
    await rt.registerWorker("w1");
    const saved = await rt.saveCheckpoint({
      workerId: "w1",
      data: randomBytes(10),
    });
    proxy.cutResponses = 1;
    await rt.deleteCheckpoint("w1", saved.checkpointId);
    assert.equal(await grpcRequests(runtime, "DeleteCheckpoint"), 2);
    assert.equal((await rt.listCheckpoints("w1")).items.length, 0);
    // Without a lost answer, NOT_FOUND still reaches the caller.
    await assert.rejects(
      rt.deleteCheckpoint("w1", saved.checkpointId),
      (error) => error instanceof PulseError && error.code === "NOT_FOUND",
    );
  });
});

Deno.test("retries stop after maxAttempts, and retry: false makes one attempt", async (t) => {
  await t.step("maxAttempts: 3", async () => {
    await withProxy(
      { retry: { ...FAST, maxAttempts: 3 } },
      async (rt, proxy) => {
        proxy.refuseConnections = 1000;
        await assert.rejects(
          rt.heartbeat("w1"),
          (error) => error instanceof PulseError && error.code === "UNAVAILABLE",
        );
        // About one connection per attempt: grpc-js also reconnects on its
        // own while a retry waits for the channel, and may fail an attempt
        // at once while it backs off.
        assert.ok(
          proxy.counts.refused >= 2 && proxy.counts.refused <= 6,
          `refused ${proxy.counts.refused}`,
        );
      },
    );
  });
  await t.step("retry: false", async () => {
    await withProxy({ retry: false }, async (rt, proxy) => {
      proxy.refuseConnections = 1000;
      await assert.rejects(
        rt.heartbeat("w1"),
        (error) => error instanceof PulseError && error.code === "UNAVAILABLE",
      );
      assert.equal(proxy.counts.refused, 1);
    });
  });
});

Deno.test("a load cut halfway resumes from the last byte received, of the checkpoint the first attempt found", async () => {
  await withProxy(
    { retry: { initialDelayMs: 1000, maxDelayMs: 1000 } },
    async (rt, proxy, runtime) => {
      const direct = runtime.client();
      try {
        await rt.registerWorker("w1");
        const bytes = randomBytes(8 * MIB);
        const first = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
        proxy.cutAfterServerBytes = { bytes: 2 * MIB, times: 1 };
        const load = rt.loadCheckpoint("w1"); // the latest: `first`, for now
        load.catch(() => {}); // awaited below
        // While the retry backs off (at least 500 ms), a newer checkpoint appears.
        await waitFor("the cut", () => proxy.counts.bytesCut === 1);
        const newer = await direct.saveCheckpoint({
          workerId: "w1",
          data: randomBytes(10),
        });
        const loaded = await load;
        assert.equal(loaded.checkpoint.checkpointId, first.checkpointId);
        assert.equal(sha256Hex(loaded.data), sha256Hex(bytes));
        assert.equal(await grpcRequests(runtime, "LoadCheckpoint"), 2);
        // Resumed, not started again: the second call sent only the rest.
        assert.ok(
          proxy.counts.serverBytes < bytes.length + MIB,
          `${proxy.counts.serverBytes} bytes came through the proxy`,
        );
        assert.equal(
          (await rt.latestCheckpoint("w1")).checkpointId,
          newer.checkpointId,
        );
      } finally {
        direct.close();
      }
    },
  );
});

Deno.test("close() during a retry's backoff ends the call with CANCELLED at once", async () => {
  await withProxy(
    { retry: { maxAttempts: 5, initialDelayMs: 5000, maxDelayMs: 5000 } },
    async (rt, proxy) => {
      proxy.refuseConnections = 1000;
      const started = Date.now();
      const call = rt.heartbeat("w1");
      await waitFor("the first refusal", () => proxy.counts.refused >= 1);
      rt.close();
      await assert.rejects(
        call,
        (error) => error instanceof PulseError && error.code === "CANCELLED",
      );
      assert.ok(Date.now() - started < 2000, "waited out the backoff");
    },
  );
});
