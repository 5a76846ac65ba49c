/**
 * The TypeScript SDK on the direct path, against a real runtime on real S3
 * servers (s3rver in-process, and moto and SeaweedFS from
 * PULSE_TEST_S3_SERVERS): saves and loads move their bytes straight between
 * the SDK and the bucket, come back byte-exact through either path, upload
 * nothing the store has, fall back to the stream where the direct path is not
 * offered or the bucket cannot be reached, and never pass on a chunk that
 * arrived altered.
 */
import assert from "node:assert/strict";
import {
  type IncomingMessage,
  request as httpRequest,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { type DirectFallback, PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { CHUNK_BYTES } from "@pulsecheckpoint/proto/protocol";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { directLoad } from "../support/direct_client.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { rawClient } from "../support/raw_client.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import {
  metricSum,
  type S3Target,
  s3TestServers,
  startS3Runtime,
  stopRuntime,
  withTarget,
} from "../support/s3_targets.ts";
import { tempDir } from "../support/temp_dirs.ts";

async function withS3Runtime(
  target: S3Target,
  run: (runtime: RuntimeProcess) => Promise<void>,
  extra: Record<string, string> = {},
): Promise<void> {
  const runtime = await startS3Runtime(target, { extra });
  try {
    await run(runtime);
  } finally {
    assert.equal(await stopRuntime(runtime), 0);
  }
}

function bytesBy(runtime: RuntimeProcess, path: string, operation?: string): Promise<number> {
  return metricSum(runtime, "pulse_checkpoint_bytes_total", {
    path,
    ...(operation === undefined ? {} : { operation }),
  });
}

// A source that can be read once, in pieces of odd sizes.
async function* once(bytes: Uint8Array, piece = 3 * 1024 * 1024 + 17): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += piece) {
    yield bytes.slice(offset, offset + piece);
  }
}

async function collectStream(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of stream) pieces.push(piece.slice());
  const all = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    all.set(piece, offset);
    offset += piece.length;
  }
  return all;
}

for (const server of s3TestServers()) {
  Deno.test(`[${server.name}] an SDK save goes straight to the bucket, loads back byte-exact through both paths, and a second save of the same bytes uploads nothing`, async () => {
    await withTarget(server, "sdk-direct", async (target) => {
      await withS3Runtime(target, async (runtime) => {
        await using rt = new Runtime(`grpc://${runtime.grpcAddress}`, { parallelism: 3 });
        await rt.registerWorker("w1");
        const bytes = randomBytes(4 * CHUNK_BYTES + 4321);
        const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
        assert.equal(saved.sha256, sha256Hex(bytes));
        assert.equal(await bytesBy(runtime, "direct", "save"), bytes.length);
        assert.equal(
          await metricSum(runtime, "pulse_presigned_urls_total", { method: "PUT" }),
          5,
        );
        // A streamed source (read once), with two uploads at a time.
        const streamed = await rt.saveCheckpoint({
          workerId: "w1",
          data: once(bytes),
          parallelism: 2,
        });
        assert.equal(streamed.sha256, saved.sha256);

        const { data } = await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
        assert.deepEqual(data, bytes);
        const opened = await rt.loadCheckpointStream("w1", { parallelism: 2 });
        assert.equal(opened.checkpoint.checkpointId, streamed.checkpointId);
        assert.deepEqual(await collectStream(opened.stream), bytes);
        const file = join(await tempDir("pulse-direct-"), "model.bin");
        await rt.loadCheckpointToFile("w1", file, { checkpointId: saved.checkpointId });
        assert.deepEqual(await Deno.readFile(file), bytes);
        assert.equal(await bytesBy(runtime, "direct", "load"), 3 * bytes.length);
        assert.equal(await bytesBy(runtime, "stream"), 0, "no byte went through the runtime");

        // The other way: what the SDK saved directly loads through the stream,
        // and what the hand-made client saved loads through the SDK.
        await using streamOnly = new Runtime(`grpc://${runtime.grpcAddress}`, {
          directTransfer: false,
        });
        const throughRuntime = await streamOnly.loadCheckpoint("w1", {
          checkpointId: saved.checkpointId,
        });
        assert.deepEqual(throughRuntime.data, bytes);
        assert.equal(await bytesBy(runtime, "stream", "load"), bytes.length);
        const client = rawClient(runtime.grpcAddress);
        try {
          assert.deepEqual(await directLoad(client, "w1", streamed.checkpointId), bytes);
        } finally {
          client.close();
        }

        const putsBefore = await metricSum(runtime, "pulse_presigned_urls_total", {
          method: "PUT",
        });
        const again = await rt.saveCheckpoint({ workerId: "w1", data: bytes, incremental: true });
        assert.notEqual(again.checkpointId, saved.checkpointId);
        assert.equal(
          await metricSum(runtime, "pulse_presigned_urls_total", { method: "PUT" }),
          putsBefore,
          "no chunk was handed a URL to upload",
        );
        assert.equal(await bytesBy(runtime, "stream", "save"), 0);
        const loaded = await rt.loadCheckpoint("w1", { checkpointId: again.checkpointId });
        assert.deepEqual(loaded.data, bytes);
      });
    });
  });
}

const [s3rver] = s3TestServers();

Deno.test("a save retried with the same idempotency key returns the first checkpoint, from PlanSave's `existing`", async () => {
  await withTarget(s3rver!, "sdk-direct-key", async (target) => {
    await withS3Runtime(target, async (runtime) => {
      await using rt = runtime.client({ directTransfer: true });
      await rt.registerWorker("w1");
      const bytes = randomBytes(CHUNK_BYTES + 1);
      const first = await rt.saveCheckpoint({ workerId: "w1", data: bytes, idempotencyKey: "k" });
      const puts = await metricSum(runtime, "pulse_presigned_urls_total", { method: "PUT" });
      const second = await rt.saveCheckpoint({ workerId: "w1", data: bytes, idempotencyKey: "k" });
      assert.equal(second.checkpointId, first.checkpointId);
      assert.equal(
        await metricSum(runtime, "pulse_presigned_urls_total", { method: "PUT" }),
        puts,
      );
    });
  });
});

Deno.test("on the fs store, on a runtime with direct_transfer = false, and with directTransfer: false, saves and loads go through the stream without a fallback warning", async () => {
  const fallbacks: DirectFallback[] = [];
  const bytes = randomBytes(CHUNK_BYTES + 99);
  const check = async (runtime: RuntimeProcess, options: { directTransfer?: boolean }) => {
    await using rt = new Runtime(`grpc://${runtime.grpcAddress}`, {
      ...options,
      onFallback: (fallback) => fallbacks.push(fallback),
    });
    await rt.registerWorker("w1");
    const saved = await rt.saveCheckpoint({ workerId: "w1", data: once(bytes) });
    const { data } = await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
    assert.deepEqual(data, bytes);
    assert.equal(await bytesBy(runtime, "stream", "save"), bytes.length);
    assert.equal(await bytesBy(runtime, "direct"), 0);
  };
  const fs = await startRuntime();
  try {
    await check(fs, {});
  } finally {
    await stopRuntime(fs);
  }
  await withTarget(s3rver!, "sdk-direct-off", async (target) => {
    await withS3Runtime(target, (runtime) => check(runtime, {}), {
      PULSE_DIRECT_TRANSFER: "false",
    });
  });
  await withTarget(s3rver!, "sdk-direct-forced-off", async (target) => {
    await withS3Runtime(target, (runtime) => check(runtime, { directTransfer: false }));
  });
  assert.deepEqual(fallbacks, []);
});

async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

Deno.test("when the bucket's public endpoint refuses connections, a save (even of a stream read once) and a load fall back to the stream, told once through onFallback", async () => {
  await withTarget(s3rver!, "sdk-direct-refused", async (target) => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    await withS3Runtime(target, async (runtime) => {
      const fallbacks: DirectFallback[] = [];
      await using rt = new Runtime(`grpc://${runtime.grpcAddress}`, {
        onFallback: (fallback) => fallbacks.push(fallback),
      });
      await rt.registerWorker("w1");
      const bytes = randomBytes(3 * CHUNK_BYTES + 5);
      const saved = await rt.saveCheckpoint({ workerId: "w1", data: once(bytes) });
      assert.equal(saved.sha256, sha256Hex(bytes));
      assert.equal(fallbacks.length, 1);
      assert.equal(fallbacks[0]!.operation, "save");
      assert.match(fallbacks[0]!.reason, new RegExp(endpoint.slice(7)));
      assert.doesNotMatch(fallbacks[0]!.reason, /X-Amz-Signature/i, "no URL in the reason");
      const { data } = await rt.loadCheckpoint("w1");
      assert.deepEqual(data, bytes);
      assert.equal(fallbacks.length, 1, "told once per Runtime");
      assert.equal(await bytesBy(runtime, "stream", "save"), bytes.length);

      // A fresh Runtime learns it on its first load too.
      const loadFallbacks: DirectFallback[] = [];
      await using other = new Runtime(`grpc://${runtime.grpcAddress}`, {
        onFallback: (fallback) => loadFallbacks.push(fallback),
      });
      assert.deepEqual((await other.loadCheckpoint("w1")).data, bytes);
      assert.deepEqual(loadFallbacks.map((f) => f.operation), ["load"]);
    }, { PULSE_S3_PUBLIC_ENDPOINT: endpoint });
  });
});

// Fault injection: an HTTP proxy in front of the bucket (as its public
// endpoint) that flips one byte in the body of every GET answered 200.
async function startFlippingProxy(upstream: string) {
  const target = new URL(upstream);
  const server: Server = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
    const pieces: Uint8Array[] = [];
    request.on("data", (piece: Uint8Array) => pieces.push(piece));
    request.on("end", () => {
      const headers = { ...request.headers };
      delete headers["connection"];
      delete headers["transfer-encoding"];
      const outgoing = httpRequest({
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers, // the Host header stays the proxy's: the URL was signed for it
      }, (incoming) => {
        const body: Uint8Array[] = [];
        incoming.on("data", (piece: Uint8Array) => body.push(piece));
        incoming.on("end", () => {
          const all = Buffer.concat(body);
          if (request.method === "GET" && incoming.statusCode === 200 && all.length > 0) {
            all[Math.floor(all.length / 2)]! ^= 0x01;
          }
          const answer = { ...incoming.headers };
          delete answer["transfer-encoding"];
          answer["content-length"] = String(all.length);
          response.writeHead(incoming.statusCode ?? 502, answer);
          response.end(all);
        });
      });
      outgoing.on("error", () => response.destroy());
      outgoing.end(Buffer.concat(pieces));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

Deno.test("a chunk altered on its way from the bucket fails the load with DATA_LOSS naming the checkpoint and the chunk, and no file appears", async () => {
  await withTarget(s3rver!, "sdk-direct-altered", async (target) => {
    const proxy = await startFlippingProxy(target.endpoint);
    try {
      await withS3Runtime(target, async (runtime) => {
        await using rt = runtime.client({ directTransfer: true });
        await rt.registerWorker("w1");
        const bytes = randomBytes(2 * CHUNK_BYTES + 10);
        const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
        const isDataLoss = (error: unknown) => {
          assert.ok(error instanceof PulseError);
          assert.equal(error.code, "DATA_LOSS");
          assert.match(error.message, new RegExp(`checkpoint ${saved.checkpointId}: chunk 0 `));
          return true;
        };
        const opened = await rt.loadCheckpointStream("w1");
        let passedOn = 0;
        await assert.rejects(async () => {
          for await (const piece of opened.stream) passedOn += piece.length;
        }, isDataLoss);
        assert.equal(passedOn, 0, "no byte of the altered chunk was passed on");
        const dir = await tempDir("pulse-direct-");
        await assert.rejects(rt.loadCheckpointToFile("w1", join(dir, "model.bin")), isDataLoss);
        assert.deepEqual([...Deno.readDirSync(dir)], []);
      }, { PULSE_S3_PUBLIC_ENDPOINT: proxy.endpoint });
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("a job shard saved on the direct path commits its step and loads back", async () => {
  await withTarget(s3rver!, "sdk-direct-shard", async (target) => {
    await withS3Runtime(target, async (runtime) => {
      await using rt = runtime.client({ directTransfer: true });
      const shards = [randomBytes(CHUNK_BYTES + 3), randomBytes(1000)];
      for (const [rank, data] of shards.entries()) {
        await rt.saveShard({ jobId: "job-1", step: 10, rank, worldSize: 2, data });
      }
      const step = await rt.commitStep({ jobId: "job-1", step: 10, worldSize: 2 });
      assert.equal(step.state, "COMPLETE");
      assert.deepEqual(await rt.loadShard("job-1", 0), shards[0]);
      assert.deepEqual(await rt.loadShard("job-1", 1, { step: 10 }), shards[1]);
      assert.equal(await bytesBy(runtime, "direct", "save"), shards[0]!.length + 1000);
      assert.equal(await bytesBy(runtime, "stream"), 0);
    });
  });
});

Deno.test("through a proxy that fails a fifth of the bucket's requests (503, 500, connections dropped, bodies cut), direct saves and loads retry and come back byte-exact", async () => {
  await withTarget(s3rver!, "sdk-direct-faults", async (target) => {
    const proxy = await startFaultProxy(target.endpoint, {
      rates: { slowDown: 0.08, internalError: 0.06, drop: 0.06 },
      seed: 14,
    });
    try {
      await withS3Runtime(target, async (runtime) => {
        const fallbacks: DirectFallback[] = [];
        await using rt = new Runtime(`grpc://${runtime.grpcAddress}`, {
          retry: { maxAttempts: 8, initialDelayMs: 5, maxDelayMs: 50 },
          onFallback: (fallback) => fallbacks.push(fallback),
        });
        await rt.registerWorker("w1");
        const bytes = randomBytes(6 * CHUNK_BYTES + 77);
        const saved = await rt.saveCheckpoint({ workerId: "w1", data: once(bytes) });
        const { data } = await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
        assert.deepEqual(data, bytes);
        assert.deepEqual(fallbacks, []);
        assert.ok(
          proxy.counts.slowDown + proxy.counts.internalError + proxy.counts.dropped > 0,
          `faults injected: ${JSON.stringify(proxy.counts)}`,
        );
        assert.equal(await bytesBy(runtime, "stream"), 0);
      }, { PULSE_S3_PUBLIC_ENDPOINT: proxy.endpoint });
    } finally {
      await proxy.close();
    }
  });
});

const expiring = s3TestServers().find((server) => server.name === "seaweedfs");
Deno.test({
  name:
    "an upload and a download whose URL expired before it reached the bucket get fresh URLs from the runtime and complete",
  ignore: expiring === undefined,
  fn: async () => {
    await withTarget(expiring!, "sdk-direct-expired", async (target) => {
      // Every request waits 2.5 s in the proxy, past the URLs' 1 s, until
      // the first has been held back; then requests pass at once.
      const proxy = await startFaultProxy(target.endpoint, { rates: { delay: 1 }, delayMs: 2500 });
      const released = (async () => {
        while (proxy.counts.delayed === 0) await new Promise((r) => setTimeout(r, 5));
        proxy.rates = {};
      })();
      try {
        await withS3Runtime(target, async (runtime) => {
          await using rt = new Runtime(`grpc://${runtime.grpcAddress}`, { parallelism: 1 });
          await rt.registerWorker("w1");
          const bytes = randomBytes(CHUNK_BYTES + 5);
          const saved = await rt.saveCheckpoint({ workerId: "w1", data: bytes });
          await released;
          const puts = await metricSum(runtime, "pulse_presigned_urls_total", { method: "PUT" });
          assert.ok(puts > 2, `two chunks, and fresh URLs for those that expired (${puts} in all)`);
          proxy.rates = { delay: 1 };
          const released2 = (async () => {
            const before = proxy.counts.delayed;
            while (proxy.counts.delayed === before) await new Promise((r) => setTimeout(r, 5));
            proxy.rates = {};
          })();
          const { data } = await rt.loadCheckpoint("w1", { checkpointId: saved.checkpointId });
          await released2;
          assert.deepEqual(data, bytes);
          assert.ok(
            (await metricSum(runtime, "pulse_plans_total", { operation: "load" })) >= 2,
            "the load planned again",
          );
        }, { PULSE_PRESIGN_EXPIRY_MS: "1000", PULSE_S3_PUBLIC_ENDPOINT: proxy.endpoint });
      } finally {
        await proxy.close();
      }
    });
  },
});

Deno.test("a direct save of a stream reads no further ahead than parallelism + 1 chunks while its uploads are held back", async () => {
  await withTarget(s3rver!, "sdk-direct-bounded", async (target) => {
    // Every request to the bucket waits 1.5 s in the proxy.
    const proxy = await startFaultProxy(target.endpoint, { rates: { delay: 1 }, delayMs: 1500 });
    try {
      await withS3Runtime(target, async (runtime) => {
        await using rt = new Runtime(`grpc://${runtime.grpcAddress}`, { parallelism: 2 });
        await rt.registerWorker("w1");
        const bytes = randomBytes(8 * CHUNK_BYTES);
        let pulled = 0;
        const piece = 1024 * 1024;
        const source = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (pulled === bytes.length) return controller.close();
            controller.enqueue(bytes.slice(pulled, pulled + piece));
            pulled += piece;
          },
        }, { highWaterMark: 0 });
        const saving = rt.saveCheckpoint({ workerId: "w1", data: source });
        while (proxy.counts.delayed < 2) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 500)); // time to read ahead, if it would
        assert.ok(
          pulled <= 3 * CHUNK_BYTES + piece,
          `read ${pulled / piece} MiB with two uploads held back`,
        );
        proxy.rates = {};
        const saved = await saving;
        assert.equal(saved.sha256, sha256Hex(bytes));
        assert.equal(await bytesBy(runtime, "direct", "save"), bytes.length);
      }, { PULSE_S3_PUBLIC_ENDPOINT: proxy.endpoint });
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("bad direct-path options are INVALID_ARGUMENT naming the option and the limit", async () => {
  const refused = (make: () => unknown, message: RegExp) =>
    assert.throws(make, (error) => {
      assert.ok(error instanceof PulseError);
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.match(error.message, message);
      return true;
    });
  for (const parallelism of [0, 65, 1.5, "8"]) {
    refused(
      () => new Runtime("grpc://127.0.0.1:1", { parallelism: parallelism as number }),
      /^Cannot create Runtime: parallelism is .*, allowed is an integer from 1 to 64$/,
    );
  }
  refused(
    () => new Runtime("grpc://127.0.0.1:1", { directTransfer: "no" as unknown as boolean }),
    /directTransfer is no, allowed is true or false/,
  );
  await using rt = new Runtime("grpc://127.0.0.1:1");
  await assert.rejects(
    rt.saveCheckpoint({ workerId: "w1", data: new Uint8Array(1), parallelism: 100 }),
    /Cannot save checkpoint: options.parallelism is 100, allowed is an integer from 1 to 64/,
  );
  await assert.rejects(
    rt.loadCheckpoint("w1", { parallelism: 0 }),
    /Cannot load checkpoint: options.parallelism is 0, allowed is an integer from 1 to 64/,
  );
});
