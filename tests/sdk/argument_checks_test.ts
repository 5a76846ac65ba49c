/**
 * Arguments of the wrong shape, as JavaScript callers can pass them, fail in
 * every public method with INVALID_ARGUMENT naming the argument, before
 * anything is sent: the client points at a port where nothing listens, so a
 * call that went out would fail with UNAVAILABLE instead.
 */
import assert from "node:assert/strict";
import { PulseError, Runtime } from "@pulsecheckpoint/sdk";

// A Runtime as JavaScript sees it: its methods, taking any arguments.
type Untyped = { [M in keyof Runtime]: (...args: unknown[]) => unknown };

const ID = "chk_01JD3Y0C8ZB4Q1Z6W8KZV2N9XH";
const DATA = new Uint8Array(1);

const METHOD_CASES: [string, (rt: Untyped) => unknown, string][] = [
  [
    "loadCheckpoint() with the checkpoint id where its options go",
    (rt) => rt.loadCheckpoint("worker-1", ID),
    `Cannot load checkpoint: options is the string "${ID}", expected an options object such as { checkpointId: "${ID}" }`,
  ],
  [
    "loadCheckpoint() with an empty checkpoint id",
    (rt) => rt.loadCheckpoint("w1", { checkpointId: "" }),
    'Cannot load checkpoint: options.checkpointId is the string "", expected a checkpoint id, or nothing for the latest checkpoint',
  ],
  [
    "loadCheckpointStream() with the checkpoint id where its options go",
    (rt) => rt.loadCheckpointStream("w1", ID),
    `Cannot load checkpoint: options is the string "${ID}", expected an options object such as { checkpointId: "${ID}" }`,
  ],
  [
    "loadCheckpointToFile() without its path",
    (rt) => rt.loadCheckpointToFile("w1", { checkpointId: ID }),
    "Cannot load checkpoint: path is an object, expected a string",
  ],
  [
    "loadCheckpointToFile() with the checkpoint id where its options go",
    (rt) => rt.loadCheckpointToFile("w1", "state.bin", ID),
    `Cannot load checkpoint: options is the string "${ID}", expected an options object such as { checkpointId: "${ID}" }`,
  ],
  [
    "getCheckpoint() with options in place of the id",
    (rt) => rt.getCheckpoint("w1", { checkpointId: ID }),
    "Cannot get checkpoint: checkpointId is an object, expected a checkpoint id, or nothing for the latest checkpoint",
  ],
  [
    "getCheckpoint() with an empty id",
    (rt) => rt.getCheckpoint("w1", ""),
    'Cannot get checkpoint: checkpointId is the string "", expected a checkpoint id, or nothing for the latest checkpoint',
  ],
  [
    "latestCheckpoint() with a number",
    (rt) => rt.latestCheckpoint(7),
    "Cannot get checkpoint: workerId is the number 7, expected a string",
  ],
  [
    "registerWorker() with a number",
    (rt) => rt.registerWorker(42),
    "Cannot register worker: workerId is the number 42, expected a string",
  ],
  [
    "registerWorker() with metadata in place of its options",
    (rt) => rt.registerWorker("w1", "gpu=A100"),
    'Cannot register worker: options is the string "gpu=A100", expected an options object',
  ],
  [
    "registerWorker() with an array of metadata",
    (rt) => rt.registerWorker("w1", { metadata: ["A100"] }),
    "Cannot register worker: options.metadata is an array, expected a JSON object",
  ],
  [
    "registerWorker() with metadata that is not JSON",
    (rt) => rt.registerWorker("w1", { metadata: { loss: Number.NaN } }),
    "Cannot register worker: metadata number NaN is not finite",
  ],
  [
    "registerWorker() with heartbeat set to a string",
    (rt) => rt.registerWorker("w1", { heartbeat: "yes" }),
    'Cannot register worker: options.heartbeat is the string "yes", expected true, false or heartbeat options',
  ],
  [
    "heartbeat() without a worker",
    (rt) => rt.heartbeat(),
    "Cannot send heartbeat: workerId is undefined, expected a string",
  ],
  [
    "startHeartbeats() with an onError that is not a function",
    (rt) => rt.startHeartbeats("w1", { onError: "log" }),
    'Cannot start heartbeats: options.onError is the string "log", expected a function',
  ],
  [
    "stopHeartbeats() with a number",
    (rt) => rt.stopHeartbeats(1),
    "Cannot stop heartbeats: workerId is the number 1, expected a string",
  ],
  [
    "deregisterWorker() with null",
    (rt) => rt.deregisterWorker(null),
    "Cannot deregister worker: workerId is null, expected a string",
  ],
  [
    "getWorker() with an object",
    (rt) => rt.getWorker({ workerId: "w1" }),
    "Cannot get worker: workerId is an object, expected a string",
  ],
  [
    "listWorkers() with a page size in place of its options",
    (rt) => rt.listWorkers(50),
    "Cannot list workers: options is the number 50, expected an options object",
  ],
  [
    "listWorkers() with a negative page size",
    (rt) => rt.listWorkers({ pageSize: -1 }),
    "Cannot list workers: options.pageSize is the number -1, expected a non-negative integer",
  ],
  [
    "workers() with a page token that is not a string",
    (rt) => rt.workers({ pageToken: 5 }),
    "Cannot list workers: options.pageToken is the number 5, expected a string",
  ],
  [
    "registerDataset() with the path where its options go",
    (rt) => rt.registerDataset("d1", "s3://bucket/data"),
    'Cannot register dataset: options is the string "s3://bucket/data", expected an options object such as { path }',
  ],
  [
    "registerDataset() without a path",
    (rt) => rt.registerDataset("d1", {}),
    "Cannot register dataset: options.path is undefined, expected a string",
  ],
  [
    "getDataset() with a number",
    (rt) => rt.getDataset(1),
    "Cannot get dataset: name is the number 1, expected a string",
  ],
  [
    "listDatasets() with true",
    (rt) => rt.listDatasets(true),
    "Cannot list datasets: options is the boolean true, expected an options object",
  ],
  [
    "datasets() with a fractional page size",
    (rt) => rt.datasets({ pageSize: 2.5 }),
    "Cannot list datasets: options.pageSize is the number 2.5, expected a non-negative integer",
  ],
  [
    "saveCheckpoint() with the worker id in place of its options",
    (rt) => rt.saveCheckpoint("w1", DATA),
    'Cannot save checkpoint: options is the string "w1", expected an options object',
  ],
  [
    "saveCheckpoint() without a worker",
    (rt) => rt.saveCheckpoint({ data: DATA }),
    "Cannot save checkpoint: options.workerId is undefined, expected a string",
  ],
  [
    "saveCheckpoint() of a string",
    (rt) => rt.saveCheckpoint({ workerId: "w1", data: "model-state" }),
    'Cannot save checkpoint: options.data is the string "model-state", expected a Uint8Array, a ReadableStream or an (async) iterable of Uint8Arrays',
  ],
  [
    "saveCheckpoint() of an ArrayBuffer",
    (rt) => rt.saveCheckpoint({ workerId: "w1", data: new ArrayBuffer(4) }),
    "Cannot save checkpoint: options.data is an ArrayBuffer, expected a Uint8Array, a ReadableStream or an (async) iterable of Uint8Arrays",
  ],
  [
    "saveCheckpoint() with a numeric idempotency key",
    (rt) => rt.saveCheckpoint({ workerId: "w1", data: DATA, idempotencyKey: 7 }),
    "Cannot save checkpoint: options.idempotencyKey is the number 7, expected a string",
  ],
  [
    "saveCheckpoint() with incremental set to a string",
    (rt) => rt.saveCheckpoint({ workerId: "w1", data: DATA, incremental: "yes" }),
    'Cannot save checkpoint: options.incremental is the string "yes", expected true or false',
  ],
  [
    "saveCheckpointFile() with the worker id in place of its options",
    (rt) => rt.saveCheckpointFile("model.bin", "w1"),
    'Cannot save checkpoint: options is the string "w1", expected an options object',
  ],
  [
    "saveCheckpointFile() without a path",
    (rt) => rt.saveCheckpointFile({ workerId: "w1" }),
    "Cannot save checkpoint: path is an object, expected a string",
  ],
  [
    "listCheckpoints() with a page size in place of its options",
    (rt) => rt.listCheckpoints("w1", 10),
    "Cannot list checkpoints: options is the number 10, expected an options object",
  ],
  [
    "checkpoints() without a worker",
    (rt) => rt.checkpoints(),
    "Cannot list checkpoints: workerId is undefined, expected a string",
  ],
  [
    "deleteCheckpoint() without a checkpoint id",
    (rt) => rt.deleteCheckpoint("w1"),
    "Cannot delete checkpoint: checkpointId is undefined, expected a checkpoint id",
  ],
  [
    "runGc() with true",
    (rt) => rt.runGc(true),
    "Cannot run garbage collection: options is the boolean true, expected an options object",
  ],
  [
    "runGc() with dryRun set to a string",
    (rt) => rt.runGc({ dryRun: "yes" }),
    'Cannot run garbage collection: options.dryRun is the string "yes", expected true or false',
  ],
  [
    "runGc() with a negative grace period",
    (rt) => rt.runGc({ graceMs: -5 }),
    "Cannot run garbage collection: options.graceMs is the number -5, expected a non-negative integer of milliseconds",
  ],
  [
    "loadShard() with the step where its options go",
    (rt) => rt.loadShard("job-1", 0, 100),
    "Cannot load shard: options is the number 100, expected an options object such as { step: 100 }",
  ],
  [
    "loadShardToFile() without its path",
    (rt) => rt.loadShardToFile("job-1", 0, { step: 1 }),
    "Cannot load shard: path is an object, expected a string",
  ],
  [
    "loadStepMetadata() with a step as text",
    (rt) => rt.loadStepMetadata("job-1", { step: "7" }),
    'Cannot load step metadata: options.step is the string "7", expected a non-negative integer',
  ],
  [
    "saveShard() without a rank",
    (rt) => rt.saveShard({ jobId: "job-1", step: 1, worldSize: 2, data: DATA }),
    "Cannot save shard: options.rank is undefined, expected a non-negative integer",
  ],
  [
    "commitStep() with metadata as a string",
    (rt) => rt.commitStep({ jobId: "job-1", step: 1, worldSize: 2, metadata: "{}" }),
    'Cannot commit step: options.metadata is the string "{}", expected a Uint8Array',
  ],
  [
    "getStep() without the job",
    (rt) => rt.getStep(3),
    "Cannot get step: jobId is the number 3, expected a string",
  ],
  [
    "registerWorker() with metadata over the runtime's 64 KiB",
    (rt) => rt.registerWorker("w1", { metadata: { blob: "x".repeat(65_536) } }),
    "Cannot register worker: metadata is 65547 bytes, limit is 65536",
  ],
];

function isInvalid(message: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PulseError, String(error));
    assert.equal(error.code, "INVALID_ARGUMENT", error.message);
    assert.equal(error.message, message);
    return true;
  };
}

Deno.test("every public method refuses arguments of the wrong shape with INVALID_ARGUMENT naming them", async (t) => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const address = `grpc://127.0.0.1:${listener.addr.port}`;
  listener.close();
  await using rt = new Runtime(address, { retry: false });
  const untyped = rt as unknown as Untyped;
  for (const [name, call, message] of METHOD_CASES) {
    await t.step(name, async () => {
      // Async methods reject; those that return an iterable throw at once.
      await assert.rejects(async () => await call(untyped), isInvalid(message));
    });
  }
});

Deno.test("new Runtime() refuses arguments of the wrong shape with INVALID_ARGUMENT naming them", async (t) => {
  const cases: [string, unknown[], string][] = [
    [
      "a port for the address",
      [50051],
      'Cannot create Runtime: address is the number 50051, expected an address such as "grpc://host:port", or an array of them',
    ],
    [
      "no address",
      [[]],
      "Cannot create Runtime: no address was given (address is an empty array)",
    ],
    [
      "a port among the addresses",
      [["grpc://localhost:50051", 50052]],
      "Cannot create Runtime: address[1] is the number 50052, expected a string",
    ],
    [
      "a malformed address among the addresses",
      [["grpc://localhost:50051", "http://localhost:50052"]],
      'Cannot create Runtime: "http://localhost:50052" has scheme http:; allowed are grpc:// and grpcs://',
    ],
    [
      "a token in place of the options",
      ["grpc://localhost:50051", "secret"],
      'Cannot create Runtime: options is the string "secret", expected an options object',
    ],
    [
      "a numeric token",
      ["grpc://localhost:50051", { token: 12345 }],
      "Cannot create Runtime: options.token is the number 12345, expected a string",
    ],
    [
      "a CA that is neither text nor bytes",
      ["grpcs://localhost:50051", { tls: { ca: 1 } }],
      "Cannot create Runtime: options.tls.ca is the number 1, expected PEM text or bytes",
    ],
    [
      "retry: true",
      ["grpc://localhost:50051", { retry: true }],
      "Cannot create Runtime: options.retry is the boolean true, expected retry options, or false for no retries",
    ],
  ];
  const Untyped = Runtime as unknown as new (...args: unknown[]) => Runtime;
  for (const [name, args, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => new Untyped(...args), isInvalid(message));
    });
  }
});

Deno.test("a Runtime tells its address and whether it is closed", () => {
  const rt = new Runtime("grpc://localhost:50051");
  assert.equal(rt.address, "grpc://localhost:50051");
  assert.deepEqual(rt.addresses, ["grpc://localhost:50051"]);
  assert.ok(Object.isFrozen(rt.addresses));
  assert.equal(rt.closed, false);
  rt.close();
  assert.equal(rt.closed, true);
});
