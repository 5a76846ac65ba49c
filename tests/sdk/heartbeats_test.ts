/**
 * Automatic heartbeats against a real runtime whose heartbeat timeout is
 * 1.5 s (so it asks for a heartbeat every 500 ms): they keep a worker ACTIVE,
 * and they stop — no heartbeat reaches the runtime any more, and the worker
 * goes STALE — on close(), on `await using`, on deregisterWorker() and on
 * stopHeartbeats(). The loop itself is tested with a fake sender.
 */
import assert from "node:assert/strict";
import { PulseError, type Runtime } from "@pulsecheckpoint/sdk";
import { HeartbeatLoop } from "../../sdk/heartbeat_loop.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { grpcRequests, sleep, waitFor } from "./_helpers.ts";

const HEARTBEAT_TIMEOUT_MS = 1500;
const INTERVAL_MS = HEARTBEAT_TIMEOUT_MS / 3;

async function withRuntime(
  body: (runtime: RuntimeProcess, observer: Runtime) => Promise<void>,
): Promise<void> {
  const runtime = await startRuntime({
    env: { PULSE_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS) },
  });
  const observer = runtime.client();
  try {
    await body(runtime, observer);
  } finally {
    observer.close();
    await runtime.stop();
  }
}

// Waits until three more heartbeats reached the runtime, however long that
// takes on a loaded machine, and checks that they came no faster than one
// loop sends them: at most one per interval, and one more.
async function assertOneLoop(runtime: RuntimeProcess, what = "one loop"): Promise<void> {
  const before = await grpcRequests(runtime, "Heartbeat");
  const started = Date.now();
  let sent = 0;
  await waitFor("three heartbeats", async () => {
    sent = (await grpcRequests(runtime, "Heartbeat")) - before;
    return sent >= 3;
  }, 30_000);
  // 100 ms of slack for the calls' own latency; a second loop would beat twice as often.
  const most = Math.floor((Date.now() - started + 100) / INTERVAL_MS) + 1;
  assert.ok(sent <= most, `${what}: ${sent} heartbeats in ${Date.now() - started} ms`);
}

// Waits longer than the heartbeat timeout and returns the heartbeats counted meanwhile.
async function heartbeatsOverTimeout(runtime: RuntimeProcess): Promise<number> {
  const before = await grpcRequests(runtime, "Heartbeat");
  await sleep(HEARTBEAT_TIMEOUT_MS + 300);
  return (await grpcRequests(runtime, "Heartbeat")) - before;
}

Deno.test("registerWorker({ heartbeat: true }) keeps the worker ACTIVE at the runtime's interval, and close() stops it", async () => {
  await withRuntime(async (runtime, observer) => {
    const rt = runtime.client();
    await rt.registerWorker("w1", { heartbeat: true });
    await assertOneLoop(runtime);
    assert.equal((await observer.getWorker("w1")).state, "ACTIVE");

    rt.close();
    assert.equal(await heartbeatsOverTimeout(runtime), 0);
    assert.equal((await observer.getWorker("w1")).state, "STALE");
  });
});

Deno.test("await using stops heartbeats when the block ends", async () => {
  await withRuntime(async (runtime, observer) => {
    {
      await using rt = runtime.client();
      await rt.registerWorker("w1", { heartbeat: true });
      await waitFor("three heartbeats", async () => await grpcRequests(runtime, "Heartbeat") >= 3);
    }
    assert.equal(await heartbeatsOverTimeout(runtime), 0);
    assert.equal((await observer.getWorker("w1")).state, "STALE");
  });
});

Deno.test("deregisterWorker() stops the worker's heartbeats before it leaves, with no failed heartbeat", async () => {
  await withRuntime(async (runtime, observer) => {
    const rt = runtime.client();
    const errors: PulseError[] = [];
    try {
      await rt.registerWorker("w1", {
        heartbeat: { onError: (error) => errors.push(error) },
      });
      await rt.registerWorker("w2", { heartbeat: true });
      await waitFor("two heartbeats", async () => await grpcRequests(runtime, "Heartbeat") >= 2);
      await rt.deregisterWorker("w1");
      await assertOneLoop(runtime, "only w2 still beats");
      assert.equal((await observer.getWorker("w1")).state, "DEREGISTERED");
      assert.equal((await observer.getWorker("w2")).state, "ACTIVE");
      assert.deepEqual(errors, []);
    } finally {
      rt.close();
    }
  });
});

Deno.test("stopHeartbeats() stops one worker's heartbeats; startHeartbeats() twice runs one loop", async () => {
  await withRuntime(async (runtime, observer) => {
    const rt = runtime.client();
    try {
      await rt.registerWorker("w1");
      await rt.startHeartbeats("w1");
      await rt.startHeartbeats("w1");
      await assertOneLoop(runtime, "startHeartbeats() twice runs one loop");
      await rt.stopHeartbeats("w1");
      await rt.stopHeartbeats("w1"); // a no-op
      assert.equal(await heartbeatsOverTimeout(runtime), 0);
      assert.equal((await observer.getWorker("w1")).state, "STALE");
    } finally {
      rt.close();
    }
  });
});

Deno.test("startHeartbeats() of an unknown worker rejects with NOT_FOUND and leaves no loop running", async () => {
  await withRuntime(async (runtime) => {
    const rt = runtime.client();
    try {
      await assert.rejects(
        rt.startHeartbeats("ghost"),
        (error) => error instanceof PulseError && error.code === "NOT_FOUND",
      );
      assert.equal(await heartbeatsOverTimeout(runtime), 0);
      // The test's sanitizers also fail it if a timer is left behind.
    } finally {
      rt.close();
    }
  });
});

Deno.test("the heartbeat loop follows the interval it is given, reports failures, and stops on NOT_FOUND", async () => {
  const answers: (number | PulseError)[] = [
    30, // first heartbeat: the runtime asks for 30 ms... kept at the 50 ms floor
    new PulseError("UNAVAILABLE", "runtime restarting"),
    80,
    new PulseError("NOT_FOUND", "worker w1 is not registered"),
  ];
  const sentAt: number[] = [];
  const timeouts: number[] = [];
  const errors: string[] = [];
  const loop = new HeartbeatLoop((timeoutMs) => {
    sentAt.push(Date.now());
    timeouts.push(timeoutMs);
    const answer = answers.shift();
    if (answer === undefined) throw new Error("a heartbeat after NOT_FOUND");
    return answer instanceof PulseError ? Promise.reject(answer) : Promise.resolve(answer);
  }, { onError: (error) => errors.push(error.code) });
  await loop.start();
  await waitFor("the loop to stop", () => loop.stopped, 2000);
  assert.deepEqual(errors, ["UNAVAILABLE", "NOT_FOUND"]);
  assert.equal(loop.beats, 2);
  // Each heartbeat gives up after the interval in force when it was sent.
  assert.deepEqual(timeouts, [10_000, 50, 50, 80]);
  const gaps = sentAt.slice(1).map((at, i) => at - sentAt[i]!);
  assert.ok(gaps[0]! >= 45 && gaps[1]! >= 45 && gaps[2]! >= 75, `${gaps}`);
  await sleep(200);
  assert.equal(sentAt.length, 4);
  await loop.stop();
});

Deno.test("stop() cancels a heartbeat in flight and waits for it", async () => {
  let aborted = false;
  let calls = 0;
  const loop = new HeartbeatLoop((_timeoutMs, signal) => {
    calls++;
    if (calls === 1) return Promise.resolve(50);
    return new Promise((_, reject) => {
      signal.addEventListener("abort", () => {
        aborted = true;
        reject(new PulseError("CANCELLED", "cancelled"));
      });
    });
  });
  await loop.start();
  await waitFor("the second heartbeat", () => calls === 2, 2000);
  await loop.stop();
  assert.equal(aborted, true);
  assert.equal(loop.stopped, true);
});
