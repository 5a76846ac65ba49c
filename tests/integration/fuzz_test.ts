/**
 * Fuzzing every method of a real runtime with at least 10,000 random and
 * malformed messages (bounded to 90 s): random bytes, well-formed messages
 * with hostile field values, and well-formed messages with flipped bits or
 * cut short. The runtime must never crash, never answer UNKNOWN, never hit
 * its own internal-error path, and the checkpoints saved before must stay
 * intact.
 *
 * PULSE_FUZZ_MESSAGES and PULSE_FUZZ_SEED change the count and the seed.
 */
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { loadPulsePackage, SERVICE_NAME, toStruct } from "@pulsecheckpoint/proto";
import { CHUNK_BYTES } from "../../src/limits.ts";
import { randomBytes, sha256Hex } from "../support/bytes.ts";
import { seededRandom } from "../support/random.ts";
import { startRuntime } from "../support/runtime.ts";

const MESSAGES = Number(Deno.env.get("PULSE_FUZZ_MESSAGES") ?? 10_000);
const SEED = Number(Deno.env.get("PULSE_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const TIME_LIMIT_MS = 90_000;
const IN_FLIGHT = 16;

// deno-lint-ignore no-explicit-any
type Method = grpc.MethodDefinition<any, any>;

Deno.test(`fuzzing every method with ${MESSAGES} messages never crashes or corrupts (seed ${SEED})`, async () => {
  console.log(`fuzz: PULSE_FUZZ_SEED=${SEED} PULSE_FUZZ_MESSAGES=${MESSAGES}`);
  const random = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (max: number) => Math.floor(random() * max);

  const runtime = await startRuntime();
  const rt = runtime.client();
  const ids = ["fuzz-0", "fuzz-1", "fuzz-2"];
  const kept = new Map<string, { workerId: string; sha256: string }>();
  // Hashes of the kept checkpoints' chunks, for saves that name them.
  const chunkNames: string[] = [];
  for (const id of ids) {
    await rt.registerWorker(id);
    const bytes = randomBytes(9 * 1024 * 1024);
    const saved = await rt.saveCheckpoint({ workerId: id, data: bytes });
    kept.set(saved.checkpointId, { workerId: id, sha256: saved.sha256 });
    chunkNames.push(
      sha256Hex(bytes.subarray(0, CHUNK_BYTES)),
      sha256Hex(bytes.subarray(CHUNK_BYTES)),
    );
  }

  const service = loadPulsePackage()[SERVICE_NAME] as Record<string, Method>;
  const methods = Object.entries(service);
  const client = new grpc.Client(runtime.grpcAddress, grpc.credentials.createInsecure());
  const raw = (bytes: Uint8Array) => Buffer.from(bytes);

  const hostileStrings = [
    "",
    "../../etc/passwd",
    "a/b",
    ".",
    "x".repeat(129),
    "x".repeat(5000),
    "\u0000",
    "é😀",
    "chk_",
    "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ...ids,
  ];
  const hostileNumbers = [0, 1, 7, 500, 501, 2 ** 31, 2 ** 32 - 1];
  const field = (): unknown => {
    switch (int(6)) {
      case 0:
        return pick(hostileStrings);
      case 1:
        return pick(hostileNumbers);
      case 2:
        return toStruct({
          k: pick(hostileStrings),
          n: random() * 1e9,
          nested: { list: [1, null] },
        });
      case 3:
        return randomBytes(int(64));
      default:
        return pick(hostileStrings);
    }
  };
  // A message of the method's request type with hostile values in its fields;
  // a save's first message is mostly a header alone, later ones mostly data,
  // chunk names or a trailer.
  const shaped = (method: Method, index: number): Buffer => {
    const request: Record<string, unknown> = {
      worker_id: pick(hostileStrings),
      checkpoint_id: pick(hostileStrings),
      name: pick(hostileStrings),
      path: pick(hostileStrings),
      page_size: pick(hostileNumbers),
      page_token: pick(["", "Y2hlY2twb2ludHMv", "%%%", "bm9wZQ"]),
      offset: pick(hostileNumbers),
      length: pick(hostileNumbers),
      metadata: field(),
      include_chunks: random() < 0.5,
    };
    if (method.path.endsWith("/SaveCheckpoint")) {
      const kind = random();
      if (index === 0 || kind < 0.2) {
        request.header = {
          worker_id: pick(hostileStrings),
          metadata: field(),
          idempotency_key: pick(hostileStrings),
          expect_trailer: random() < 0.5,
          base_checkpoint_id: pick([...hostileStrings, ...kept.keys()]),
        };
      }
      if (index > 0 || kind < 0.2) {
        if (kind < 0.4) request.data = randomBytes(int(4096));
        else if (kind < 0.7) request.chunk_sha256 = pick([...hostileStrings, ...chunkNames]);
        else if (kind < 0.9) {
          request.trailer = {
            size_bytes: pick(hostileNumbers),
            sha256: pick(hostileStrings),
            chunks_sha256: pick(hostileStrings),
          };
        }
      }
    }
    try {
      return method.requestSerialize(request);
    } catch {
      return raw(randomBytes(int(32))); // a value the encoder refused: send noise instead
    }
  };
  const message = (method: Method, index = 0): Buffer => {
    const kind = random();
    if (kind < 0.4) return raw(randomBytes(int(200)));
    const bytes = new Uint8Array(shaped(method, index));
    if (kind < 0.8 || bytes.length === 0) return Buffer.from(bytes);
    if (random() < 0.5) return Buffer.from(bytes.subarray(0, int(bytes.length)));
    const at = int(bytes.length);
    bytes[at] = bytes[at]! ^ (1 << int(8));
    return Buffer.from(bytes);
  };

  const codes = new Map<string, number>();
  const record = (error: grpc.ServiceError | null) => {
    const name = grpc.status[error?.code ?? grpc.status.OK]!;
    codes.set(name, (codes.get(name) ?? 0) + 1);
  };
  const call = (method: Method): Promise<void> =>
    new Promise((resolve) => {
      const identity = (b: Buffer) => b;
      const deadline = new Date(Date.now() + 10_000);
      if (method.requestStream) {
        const stream = client.makeClientStreamRequest(
          method.path,
          identity,
          identity,
          new grpc.Metadata(),
          { deadline },
          (error) => {
            record(error);
            resolve();
          },
        );
        stream.on("error", () => {});
        for (let i = 0, n = 1 + int(5); i < n; i++) stream.write(message(method, i));
        stream.end();
      } else if (method.responseStream) {
        const stream = client.makeServerStreamRequest(
          method.path,
          identity,
          identity,
          message(method),
          { deadline },
        );
        stream.on("data", () => {});
        stream.on("error", (error: grpc.ServiceError) => record(error));
        stream.on("status", (status: grpc.StatusObject) => {
          if (status.code === grpc.status.OK) record(null);
          resolve();
        });
      } else {
        client.makeUnaryRequest(
          method.path,
          identity,
          identity,
          message(method),
          { deadline },
          (error) => {
            record(error);
            resolve();
          },
        );
      }
    });

  const started = Date.now();
  let sent = 0;
  const lanes = Array.from({ length: IN_FLIGHT }, async () => {
    while (sent < MESSAGES && Date.now() - started < TIME_LIMIT_MS) {
      sent++;
      await call(pick(methods)[1]);
    }
  });
  await Promise.all(lanes);
  client.close();
  console.log(`fuzz: ${sent} calls in ${Date.now() - started} ms:`, Object.fromEntries(codes));

  try {
    assert.ok(sent >= Math.min(MESSAGES, 10_000) || Date.now() - started >= TIME_LIMIT_MS);
    assert.equal(codes.get("UNKNOWN") ?? 0, 0, "UNKNOWN answered");
    const internal = runtime.logs.filter((line) => line.includes('"Internal error"'));
    assert.deepEqual(internal.slice(0, 3), [], "the internal-error path was hit");
    for (const [checkpointId, { workerId, sha256 }] of kept) {
      const { data } = await rt.loadCheckpoint(workerId, { checkpointId });
      assert.equal(sha256Hex(data), sha256);
    }
  } finally {
    rt.close();
    assert.equal(await runtime.stop(), 0, "the runtime did not exit cleanly");
  }
});
