/**
 * The SDK on Node 20: built the way JSR's npm layer builds it (transpiled ES
 * modules and declarations, dependencies from npm; see _node_build.ts), then
 * `node` runs the product description's flow against a real runtime, a
 * streamed save against a stalled connection, to show grpc-js backpressure
 * holds on Node, and the connections of _connection_cases.ts (TLS by IP, and
 * the causes of those that fail, in Node's OpenSSL words), and two replicas
 * taken in turn, one of them killed unseen by the caller, and the direct path
 * (Node's global fetch straight to an S3 bucket, s3rver here).
 *
 * Needs `node` and `npm` on PATH and the npm registry (once: the packages are
 * cached in the temporary directory).
 */
import assert from "node:assert/strict";
import { buildForNode } from "./_node_build.ts";
import { run } from "../deploy/_tools.ts";
import { startRuntime } from "../support/runtime.ts";
import { startTcpFaultProxy } from "../support/tcp_fault_proxy.ts";
import { mismatch, startConnectionTargets } from "./_connection_cases.ts";
import { grpcRequests } from "./_helpers.ts";
import {
  metricSum,
  s3TestServers,
  startS3Runtime,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";

const SCRIPTS = [
  "tests/sdk/node/seed_flow.ts",
  "tests/sdk/node/backpressure.ts",
  "tests/sdk/node/connect.ts",
  "tests/sdk/node/replicas.ts",
  "tests/sdk/node/direct.ts",
];

Deno.test("the SDK built for Node runs the product flow against a real runtime", async () => {
  const build = await buildForNode(SCRIPTS);
  const runtime = await startRuntime();
  const rt = runtime.client();
  try {
    const version = await new Deno.Command("node", { args: ["--version"] })
      .output();
    assert.match(new TextDecoder().decode(version.stdout), /^v20\./);
    const result = await run("node", [
      build.script("tests/sdk/node/seed_flow.ts"),
      `grpc://${runtime.grpcAddress}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    assert.equal(report.checkpoints, 4);
    // What the Node client did, seen through the Deno one.
    assert.equal((await rt.getWorker("worker-1")).state, "DEREGISTERED");
    assert.equal((await rt.getDataset("training-data")).path, "s3://bucket/data");
    const first = await rt.loadCheckpoint("worker-1", {
      checkpointId: report.checkpointId,
    });
    assert.equal(new TextDecoder().decode(first.data), "model-state-bytes");
    assert.deepEqual(first.checkpoint.metadata, { epoch: 10, loss: 0.001 });
    // The published declarations are there for TypeScript users on Node.
    const sdkDir = `${build.dir}/node_modules/@pulsecheckpoint/sdk`;
    const declarations = await Deno.readTextFile(`${sdkDir}/runtime.d.ts`);
    assert.match(declarations, /saveCheckpointFile\(path: string/);
  } finally {
    rt.close();
    await runtime.stop();
    await build.remove();
  }
});

Deno.test("on Node, a streamed save reads no further ahead than grpc-js's buffer when the connection stalls", async () => {
  const build = await buildForNode(SCRIPTS);
  const runtime = await startRuntime();
  const proxy = await startTcpFaultProxy(runtime.grpcAddress);
  try {
    const child = new Deno.Command("node", {
      args: [
        build.script("tests/sdk/node/backpressure.ts"),
        `grpc://${proxy.address}`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream())
      [Symbol.asyncIterator]();
    let seen = "";
    while (!seen.includes("ready\n")) {
      const next = await lines.next();
      if (next.done) break;
      seen += next.value;
    }
    proxy.holdUploads(true);
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      seen += next.value;
    }
    const { code } = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(code, 0, stderr);
    const { pulledMiB } = JSON.parse(seen.trim().split("\n").at(-1)!);
    // grpc-js buffers 16 messages of 1 MiB; sockets hold a few MiB more.
    assert.ok(pulledMiB < 48, `pulled ${pulledMiB} MiB`);
  } finally {
    await proxy.close();
    await runtime.stop();
    await build.remove();
  }
});

Deno.test("on Node, TLS by IP address connects, and connections that cannot be made name their likely cause", async () => {
  const build = await buildForNode(SCRIPTS);
  const targets = await startConnectionTargets();
  const casesFile = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(casesFile, JSON.stringify(targets.cases));
    const result = await run("node", [build.script("tests/sdk/node/connect.ts"), casesFile]);
    assert.equal(result.code, 0, result.stderr);
    const outcomes = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(outcomes.map((o) => o.name), targets.cases.map((c) => c.name));
    const wrong = targets.cases.map((testCase, index) => {
      const problem = mismatch(testCase, "register worker", outcomes[index]);
      return problem === undefined ? undefined : `${testCase.name}: ${problem}`;
    }).filter((problem) => problem !== undefined);
    assert.deepEqual(wrong, []);
  } finally {
    await Deno.remove(casesFile);
    await targets.stop();
    await build.remove();
  }
});

Deno.test("on Node, calls take the replicas in turn, and one killed with SIGKILL is not seen by the caller", async () => {
  const build = await buildForNode(SCRIPTS);
  const replicas = [await startRuntime(), await startRuntime()];
  try {
    const addresses = replicas.map((replica) => `grpc://${replica.grpcAddress}`);
    const child = new Deno.Command("node", {
      args: [build.script("tests/sdk/node/replicas.ts"), ...addresses],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream())[Symbol.asyncIterator]();
    let seen = "";
    while (!seen.includes("ready\n")) {
      const next = await lines.next();
      if (next.done) break;
      seen += next.value;
    }
    const workers = await Promise.all(replicas.map(async (replica) => {
      await using own = replica.client();
      return (await own.listWorkers()).items.map((worker) => worker.workerId).sort();
    }));
    assert.deepEqual(workers, [["worker-0", "worker-2"], ["worker-1", "worker-3"]]);
    await replicas[0]!.kill();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      seen += next.value;
    }
    const { code } = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(code, 0, stderr);
    const report = JSON.parse(seen.trim().split("\n").at(-1)!);
    assert.deepEqual(report, { addresses, beats: 4 });
    assert.equal(await grpcRequests(replicas[1]!, "Heartbeat"), 4);
  } finally {
    for (const replica of replicas) await replica.stop();
    await build.remove();
  }
});

Deno.test("on Node, a save and a load take the direct path, straight between fetch and the bucket", async () => {
  const build = await buildForNode(SCRIPTS);
  const [s3rver] = s3TestServers();
  try {
    await withTarget(s3rver!, "node-direct", async (target) => {
      const runtime = await startS3Runtime(target);
      try {
        const result = await run("node", [
          build.script("tests/sdk/node/direct.ts"),
          `grpc://${runtime.grpcAddress}`,
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(result.stderr, /fell back/);
        const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
        assert.deepEqual(report.saved, [report.sent, report.sent]);
        assert.deepEqual(report.loaded, [report.sent, report.sent]);
        const bytes = (labels: Record<string, string>) =>
          metricSum(runtime, "pulse_checkpoint_bytes_total", labels);
        assert.equal(await bytes({ path: "direct", operation: "save" }), 2 * report.size);
        assert.equal(await bytes({ path: "direct", operation: "load" }), 2 * report.size);
        assert.equal(await bytes({ path: "stream" }), 0);
      } finally {
        assert.equal(await stopRuntime(runtime), 0);
      }
    });
  } finally {
    await build.remove();
  }
});
