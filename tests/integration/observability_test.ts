/**
 * Metrics, health endpoints and logs of a real runtime process: the seed's
 * eight metric names in valid Prometheus text (checked by promtool when it is
 * installed), /healthz and /readyz, and JSON log lines with the seed's fields.
 */
import assert from "node:assert/strict";
import { randomBytes } from "../support/bytes.ts";
import { startRuntime } from "../support/runtime.ts";

const SEED_METRICS = [
  "pulse_checkpoints_total",
  "pulse_checkpoint_bytes_total",
  "pulse_checkpoint_duration_seconds",
  "pulse_active_workers",
  "pulse_s3_requests_total",
  "pulse_s3_request_duration_seconds",
  "pulse_grpc_requests_total",
  "pulse_grpc_request_duration_seconds",
];

async function promtool(): Promise<string | undefined> {
  try {
    await new Deno.Command("promtool", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return "promtool";
  } catch {
    return undefined;
  }
}

Deno.test("/metrics exports the seed's eight metrics as valid Prometheus text", async () => {
  const runtime = await startRuntime({ env: { PULSE_REGISTRY_SCAN_INTERVAL_MS: "50" } });
  const rt = runtime.client();
  try {
    await rt.registerWorker("w1");
    await rt.registerWorker("w2");
    await rt.saveCheckpoint({ workerId: "w1", data: randomBytes(1000) });
    await rt.heartbeat("ghost").catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300)); // the background count of workers
    const response = await fetch(`${runtime.metricsUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(
      response.headers.get("content-type") ?? "",
      /^text\/plain; version=0\.0\.4/,
    );
    const text = await response.text();
    for (const name of SEED_METRICS) {
      assert.match(
        text,
        new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, "m"),
        name,
      );
    }
    assert.match(text, /^pulse_active_workers 2$/m);
    assert.match(text, /^pulse_checkpoints_total\{outcome="ok",path="stream"\} 1$/m);
    assert.match(
      text,
      /^pulse_checkpoint_bytes_total\{operation="save",path="stream"\} 1000$/m,
    );
    assert.match(
      text,
      /^pulse_grpc_requests_total\{method="Heartbeat",code="NOT_FOUND"\} 1$/m,
    );
    assert.match(
      text,
      /^pulse_grpc_requests_total\{method="RegisterWorker",code="OK"\} 2$/m,
    );

    const tool = await promtool();
    if (tool === undefined) {
      console.warn(
        "promtool is not installed: Prometheus text format not checked by it",
      );
    } else {
      const check = new Deno.Command(tool, {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = check.stdin.getWriter();
      await writer.write(new TextEncoder().encode(text));
      await writer.close();
      const { code, stdout, stderr } = await check.output();
      const output = new TextDecoder().decode(stdout) +
        new TextDecoder().decode(stderr);
      // Not even lint warnings (exit 3), such as a gauge named *_total.
      assert.equal(code, 0, output);
    }
  } finally {
    rt.close();
    await runtime.stop();
  }
});

Deno.test("/healthz and /readyz answer while serving", async () => {
  const runtime = await startRuntime();
  try {
    const health = await fetch(`${runtime.metricsUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok\n");
    const ready = await fetch(`${runtime.metricsUrl}/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const missing = await fetch(`${runtime.metricsUrl}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await runtime.stop();
  }
});

Deno.test("logs are JSON lines with timestamp, level, target, message and the event's fields", async () => {
  const runtime = await startRuntime();
  const rt = runtime.client();
  await rt.registerWorker("w1");
  const saved = await rt.saveCheckpoint({
    workerId: "w1",
    data: randomBytes(4096),
  });
  rt.close();
  await runtime.stop();
  const events = runtime.logs.filter((line) => line.startsWith("{")).map((
    line,
  ) => JSON.parse(line));
  assert.ok(events.length >= 3);
  for (const event of events) {
    assert.ok(!Number.isNaN(Date.parse(event.timestamp)), event.timestamp);
    assert.match(event.level, /^(TRACE|DEBUG|INFO|WARN|ERROR)$/);
    assert.match(event.target, /^pulse::/);
    assert.equal(typeof event.message, "string");
  }
  const savedEvent = events.find((e) => e.message === "Checkpoint saved successfully");
  assert.equal(savedEvent?.target, "pulse::checkpoint");
  assert.equal(savedEvent?.worker_id, "w1");
  assert.equal(savedEvent?.checkpoint_id, saved.checkpointId);
  assert.equal(savedEvent?.size_bytes, 4096);
  assert.equal(typeof savedEvent?.duration_ms, "number");
  const started = events.find((e) => e.message === "Starting PulseCheckpoint Runtime");
  assert.equal(started?.deno_version, Deno.version.deno);
});

Deno.test("logging.format = text writes one readable line per event", async () => {
  const runtime = await startRuntime({ env: { PULSE_LOG_FORMAT: "text" } });
  await runtime.stop();
  const started = runtime.logs.find((line) => line.includes("Runtime started"));
  assert.match(
    started ?? "",
    /^\S+Z INFO {2}pulse::server: Runtime started grpc_addr=127\.0\.0\.1:\d+ /,
  );
});
