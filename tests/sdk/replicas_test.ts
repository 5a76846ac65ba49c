/**
 * Several addresses: a Runtime made with the addresses of a runtime's
 * replicas takes them in turn, one call after another, and a replica that
 * dies (SIGKILL) is not seen by callers while another is up: a unary call
 * moves on to the next replica at once, a load resumes there from the first
 * byte it has not received, a save is sent again there under its idempotency
 * key. The twin of the Python SDK's tests/test_replicas.py.
 *
 * Replicas that must share checkpoints run on one s3rver bucket, as replicas
 * share a bucket in production; the others on fs stores of their own. Which
 * replica served what is read from each one's own answers (its workers) or
 * its `pulse_grpc_requests_total` metric.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CHUNK_BYTES, LOAD_WINDOW_BYTES } from "@pulsecheckpoint/proto/protocol";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";
import { Channel } from "../../sdk/_channel.ts";
import { type RuntimeProcess, startRuntime } from "../support/runtime.ts";
import { runtimeEnv, type S3Target, s3TestServers } from "../support/s3_targets.ts";
import { FakeDns } from "./_fake_dns.ts";
import { grpcRequests } from "./_helpers.ts";

const MIB = 1024 * 1024;

async function withReplicas(
  count: number,
  env: Record<string, string> | undefined,
  body: (replicas: RuntimeProcess[]) => Promise<void>,
): Promise<void> {
  const replicas: RuntimeProcess[] = [];
  try {
    for (let index = 0; index < count; index++) replicas.push(await startRuntime({ env }));
    await body(replicas);
  } finally {
    for (const replica of replicas) await replica.stop();
  }
}

// Replicas on one s3rver bucket (a fresh server and prefix for the test).
async function withSharedReplicas(
  label: string,
  body: (replicas: RuntimeProcess[]) => Promise<void>,
): Promise<void> {
  const s3rver = s3TestServers().find((server) => server.name === "s3rver")!;
  const target: S3Target = await s3rver.acquire(label);
  try {
    await withReplicas(2, runtimeEnv(target), body);
  } finally {
    await target.release();
  }
}

function addresses(replicas: RuntimeProcess[]): string[] {
  return replicas.map((replica) => `grpc://${replica.grpcAddress}`);
}

async function workersOf(replica: RuntimeProcess): Promise<string[]> {
  await using own = replica.client();
  const ids: string[] = [];
  for await (const worker of own.workers()) ids.push(worker.workerId);
  return ids.sort();
}

// Registers the worker with every replica: each keeps its worker registry in
// memory, read from the store when it starts.
async function registerOnEach(replicas: RuntimeProcess[], workerId: string): Promise<void> {
  for (const replica of replicas) {
    await using own = replica.client();
    await own.registerWorker(workerId);
  }
}

function pattern(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let index = 0; index < size; index++) data[index] = index % 251;
  return data;
}

Deno.test("calls take the replicas in turn, from the first", async () => {
  await withReplicas(3, undefined, async (replicas) => {
    {
      await using rt = new Runtime(addresses(replicas));
      assert.deepEqual(rt.addresses, addresses(replicas));
      assert.equal(rt.address, addresses(replicas)[0]);
      for (let index = 0; index < 6; index++) await rt.registerWorker(`worker-${index}`);
    }
    assert.deepEqual(await Promise.all(replicas.map(workersOf)), [
      ["worker-0", "worker-3"],
      ["worker-1", "worker-4"],
      ["worker-2", "worker-5"],
    ]);
  });
});

Deno.test("a replica killed with SIGKILL is not seen by callers: its turns go to the next one within the round", async () => {
  await withReplicas(2, undefined, async (replicas) => {
    await registerOnEach(replicas, "worker-1");
    // One round and no more: a call whose turn is the dead replica's succeeds
    // only by moving on to the other at once, without a retry's backoff.
    await using rt = new Runtime(addresses(replicas), { retry: { maxAttempts: 1 } });
    assert.ok((await rt.heartbeat("worker-1")).heartbeatIntervalMs > 0); // the first replica
    await replicas[0]!.kill();
    for (let index = 0; index < 5; index++) {
      assert.ok((await rt.heartbeat("worker-1")).heartbeatIntervalMs > 0);
      assert.equal((await rt.getWorker("worker-1")).state, "ACTIVE");
    }
    const served = await grpcRequests(replicas[1]!, "Heartbeat") +
      await grpcRequests(replicas[1]!, "GetWorker");
    assert.equal(served, 10 + 0); // every call after the kill, and none before
  });
});

Deno.test("a call fails with UNAVAILABLE once every replica failed it in every round, with a backoff after each round but the last", async () => {
  const ports = await Promise.all([closedPort(), closedPort()]);
  const channel = new Channel(ports.map((port) => `grpc://127.0.0.1:${port}`), {
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
  });
  try {
    const attempts = channel.attempts();
    const tried: [number, number][] = [];
    const unavailable = new PulseError("UNAVAILABLE", "down");
    do tried.push([attempts.index, attempts.number]); while (await attempts.retry(unavailable));
    // [replica, round]: the round (what the retry policy counts, and waits
    // after) grows only when both replicas have failed.
    assert.deepEqual(tried, [[0, 1], [1, 1], [0, 2], [1, 2], [0, 3], [1, 3]]);
    // The next call starts on the next replica; another code is never retried.
    const next = channel.attempts();
    assert.equal(next.index, 1);
    assert.equal(await next.retry(new PulseError("NOT_FOUND", "gone")), false);
  } finally {
    channel.close();
  }
  await using rt = new Runtime(ports.map((port) => `grpc://127.0.0.1:${port}`), {
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
  });
  await assert.rejects(
    rt.heartbeat("worker-1"),
    (error) =>
      error instanceof PulseError && error.code === "UNAVAILABLE" &&
      /no connection to grpc:\/\/127\.0\.0\.1:\d+: nothing listens/.test(error.message),
  );
});

async function closedPort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return await Promise.resolve(port);
}

Deno.test("a load whose replica is killed with SIGKILL resumes on another from the first byte not received, byte-exact", async () => {
  await withSharedReplicas("replica-load", async (replicas) => {
    await registerOnEach(replicas, "worker-1");
    // 36 MiB and a byte: two windows from the start, one from 8 MiB or later on.
    const data = pattern(LOAD_WINDOW_BYTES + 4 * MIB + 1);
    let checkpointId: string;
    {
      await using own = replicas[0]!.client();
      checkpointId = (await own.saveCheckpoint({ workerId: "worker-1", data })).checkpointId;
    }
    const loadsBefore = await grpcRequests(replicas[0]!, "LoadCheckpoint");
    // The stream path's windows are what this test follows (on S3 the SDK
    // would otherwise fetch the chunks from the bucket).
    await using rt = new Runtime(addresses(replicas), { directTransfer: false });
    // The description comes from the first replica (its turn), the windows
    // from the second, killed once the first chunk is through: the first
    // serves the rest, from where the bytes stopped, in one window.
    const { checkpoint, stream } = await rt.loadCheckpointStream("worker-1", { checkpointId });
    const received = new Uint8Array(checkpoint.sizeBytes);
    let offset = 0;
    for await (const piece of stream) {
      if (offset === 0) await replicas[1]!.kill();
      received.set(piece, offset);
      offset += piece.length;
    }
    assert.equal(checkpoint.checkpointId, checkpointId);
    assert.notEqual((await replicas[1]!.process.status).signal, null);
    assert.equal(offset, data.length);
    assert.ok(Buffer.from(received).equals(Buffer.from(data)), "the bytes differ");
    // One window from the survivor: the cut one, resumed (two if it had served all).
    assert.equal(await grpcRequests(replicas[0]!, "LoadCheckpoint") - loadsBefore, 1);
  });
});

/**
 * Bytes to save that kill a replica when the save cuts its second chunk out
 * of them (the first chunk is then on its way), and count the attempts that
 * read them from the start.
 */
class KillOnSecondChunk extends Uint8Array {
  static replica: RuntimeProcess | undefined;
  static source: Uint8Array | undefined;
  static starts = 0;

  override subarray(begin?: number, end?: number): Uint8Array<ArrayBuffer> {
    if (this === KillOnSecondChunk.source) {
      if (begin === 0) KillOnSecondChunk.starts++;
      if (begin === CHUNK_BYTES && KillOnSecondChunk.replica !== undefined) {
        KillOnSecondChunk.replica.process.kill("SIGKILL");
        KillOnSecondChunk.replica = undefined;
      }
    }
    return super.subarray(begin, end);
  }
}

Deno.test("a save whose replica is killed with SIGKILL is sent again to another under its key, and makes one checkpoint", async () => {
  await withSharedReplicas("replica-save", async (replicas) => {
    await registerOnEach(replicas, "worker-1");
    const bytes = pattern(3 * CHUNK_BYTES + 4);
    const data = new KillOnSecondChunk(bytes.length);
    data.set(bytes);
    KillOnSecondChunk.source = data;
    KillOnSecondChunk.replica = replicas[0]!;
    // The stream path's save is what this test cuts (on S3 the SDK would
    // otherwise upload the chunks to the bucket).
    await using rt = new Runtime(addresses(replicas), { directTransfer: false });
    const saved = await rt.saveCheckpoint({ workerId: "worker-1", data, idempotencyKey: "step-7" });
    assert.notEqual((await replicas[0]!.process.status).signal, null); // killed mid-save
    assert.equal(KillOnSecondChunk.starts, 2); // the cut attempt and the one on the other replica
    const loaded = await rt.loadCheckpoint("worker-1", { checkpointId: saved.checkpointId });
    assert.ok(Buffer.from(loaded.data).equals(Buffer.from(bytes)), "the bytes differ");
    await using own = replicas[1]!.client();
    const listed = [];
    for await (const checkpoint of own.checkpoints("worker-1")) {
      listed.push([checkpoint.checkpointId, checkpoint.idempotencyKey, checkpoint.sizeBytes]);
    }
    assert.deepEqual(listed, [[saved.checkpointId, "step-7", bytes.length]]);
  });
});

Deno.test("a name that resolves to several addresses is used round robin, and one killed is left out", async () => {
  // pulse.test resolves to 127.0.0.1 and 127.0.0.2, where two replicas listen
  // on one port. The client (_dns_client.ts) names the test's DNS server in
  // its target (dns://<server>/pulse.test:<port>); all else is the SDK's
  // channel. Once both are connected, calls alternate; after one is killed,
  // the other takes them all.
  const first = await startRuntime();
  const port = first.grpcAddress.slice(first.grpcAddress.lastIndexOf(":") + 1);
  const replicas = [first];
  const dns = new FakeDns("pulse.test", ["127.0.0.1", "127.0.0.2"]);
  const server = await dns.start();
  let client: DnsClient | undefined;
  try {
    replicas.push(await startRuntime({ args: ["--grpc-addr", `127.0.0.2:${port}`] }));
    const second = replicas[1]!;
    assert.equal(second.grpcAddress, `127.0.0.2:${port}`);
    client = new DnsClient(server, port);
    await connectBoth(client, replicas);
    const before = await Promise.all(replicas.map((r) => grpcRequests(r, "RegisterWorker")));
    for (let index = 0; index < 10; index++) await client.register(`worker-${index}`);
    const after = await Promise.all(replicas.map((r) => grpcRequests(r, "RegisterWorker")));
    assert.deepEqual(after.map((count, index) => count - before[index]!), [5, 5]);
    await first.kill();
    for (let index = 0; index < 10; index++) await client.register(`after-${index}`);
    const afterKill = (await workersOf(second)).filter((id) => id.startsWith("after-"));
    assert.deepEqual(afterKill, Array.from({ length: 10 }, (_, index) => `after-${index}`).sort());
    assert.ok(dns.questions.includes("pulse.test/1"), dns.questions.join(", "));
  } finally {
    await client?.close();
    dns.close();
    for (const replica of replicas) await replica.stop();
  }
});

// _dns_client.ts in a process of its own, one worker registered per line.
class DnsClient {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor(server: string, port: string) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        new URL("./_dns_client.ts", import.meta.url).pathname,
        server,
        port,
      ],
      env: { GRPC_NODE_USE_ALTERNATIVE_RESOLVER: "true" },
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout)[Symbol.asyncIterator]();
  }

  async register(workerId: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(`${workerId}\n`));
    const { value } = await this.#lines.next();
    assert.equal(value, "ok");
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
}

// Registers one worker again and again until both replicas have answered
// (round robin sends calls to the connected addresses only, and the second
// may connect a moment after the first).
async function connectBoth(client: DnsClient, replicas: RuntimeProcess[]): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    await client.register("connect");
    const seen = await Promise.all(replicas.map(workersOf));
    if (seen.every((ids) => ids.includes("connect"))) return;
  }
  throw new Error("the calls never reached both addresses");
}
